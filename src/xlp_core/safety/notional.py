"""Max-notional guard: the last line before an order leaves the process."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from typing_extensions import override

from xlp_core.errors import (
    DuplicateOrderError,
    ExchangeError,
    NotionalLimitError,
    OrderRejectedError,
    RateLimitedError,
)
from xlp_core.models import Order, OrderRequest
from xlp_core.ports import Exchange, PlaceOutcome, ReplaceOutcome
from xlp_core.safety.forward import ForwardingExchange

T = TypeVar("T")
log = logging.getLogger("xlp_core.safety.notional")


def _definitely_not_placed(error: BaseException) -> bool:
    """The venue certainly did not take the order (a duplicate means it did)."""
    if isinstance(error, DuplicateOrderError):
        return False
    return isinstance(error, OrderRejectedError | RateLimitedError | NotionalLimitError)


class NotionalGuardExchange(ForwardingExchange):
    """Refuses orders above ``max_order`` USD, or pushing a window above ``max_window``.

    The window is reset by :meth:`begin_cycle` (called inside every cycle).
    It charges *orders*, not attempts: a charge is keyed by client order id,
    so a retry of the same order (after a 429 or a timeout) is not counted
    twice, and a charge is released when the venue definitely refused the
    order. A market order without a price is valued at the last price seen,
    or a fresh one; with no price at all it is refused. In a batch each
    order is checked in turn; a refused one comes back as
    ``PlaceOutcome(error=NotionalLimitError)`` and is not sent.
    """

    def __init__(self, inner: Exchange, *, max_order: float, max_window: float) -> None:
        for name, v in (("max_order", max_order), ("max_window", max_window)):
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be finite and > 0, got {v}")
        super().__init__(inner)
        self.max_order = max_order
        self.max_window = max_window
        self._charges: dict[int, float] = {}
        self._last_price: dict[str, float] = {}

    @property
    def used(self) -> float:
        """USD notional charged in the current window."""
        return sum(self._charges.values())

    def begin_cycle(self) -> None:
        """Start a new window: every charge is forgotten."""
        self._charges.clear()

    def _charge(self, request: OrderRequest, price: float | None) -> None:
        """Charge ``request`` or raise ``NotionalLimitError``; a retry is free."""
        if price is None or not math.isfinite(price) or price <= 0:
            raise NotionalLimitError(f"{request.symbol}: no price to value the order; refused")
        notional = request.size * price
        if notional > self.max_order:
            raise NotionalLimitError(
                f"{request.symbol}: order notional {notional:.2f} > cap {self.max_order:.2f}"
            )
        cid = request.client_order_id
        before = self._charges.get(cid, 0.0)  # a retry is charged only if it grew
        extra = max(notional - before, 0.0)
        if extra and self.used + extra > self.max_window:
            raise NotionalLimitError(
                f"{request.symbol}: cycle notional {self.used + extra:.2f} "
                f"> cap {self.max_window:.2f}"
            )
        self._charges[cid] = before + extra

    def _release(self, request: OrderRequest, error: BaseException) -> None:
        if _definitely_not_placed(error):
            self._charges.pop(request.client_order_id, None)

    async def _prices_for(self, requests: Sequence[OrderRequest]) -> dict[str, float]:
        need = sorted(
            {r.symbol for r in requests if not r.price and r.symbol not in self._last_price}
        )
        fresh = await self.inner.prices(need) if need else {}
        return {s: p for s, p in fresh.items() if isinstance(p, int | float)}

    def _price(self, request: OrderRequest, fresh: Mapping[str, float]) -> float | None:
        return request.price or self._last_price.get(request.symbol) or fresh.get(request.symbol)

    def _refuse(self, request: OrderRequest, exc: NotionalLimitError) -> None:
        log.warning("order %d refused by the notional guard: %s", request.client_order_id, exc)

    @override
    async def place_order(self, request: OrderRequest) -> Order:
        fresh = await self._prices_for([request])
        try:
            self._charge(request, self._price(request, fresh))
        except NotionalLimitError as exc:
            self._refuse(request, exc)
            raise
        try:
            return await self.inner.place_order(request)
        except ExchangeError as exc:
            self._release(request, exc)
            raise

    async def _charge_all(
        self, requests: Sequence[OrderRequest]
    ) -> tuple[dict[int, PlaceOutcome], list[OrderRequest]]:
        """Charge each order; the refused ones by index, and those to send."""
        fresh = await self._prices_for(requests)
        refused: dict[int, PlaceOutcome] = {}
        send: list[OrderRequest] = []
        for i, request in enumerate(requests):
            try:
                self._charge(request, self._price(request, fresh))
            except NotionalLimitError as exc:
                self._refuse(request, exc)
                refused[i] = PlaceOutcome(request, error=exc)
            else:
                send.append(request)
        return refused, send

    async def _send(self, send: Sequence[OrderRequest], call: Callable[[], Awaitable[T]]) -> T:
        """Run the venue call; a rate-limited one sent nothing, so its charges go back."""
        try:
            return await call()
        except RateLimitedError as exc:
            for request in send:
                self._release(request, exc)
            raise

    def _merged(
        self,
        requests: Sequence[OrderRequest],
        refused: Mapping[int, PlaceOutcome],
        send: Sequence[OrderRequest],
        sent: Sequence[PlaceOutcome],
    ) -> list[PlaceOutcome]:
        """Give back failed orders' charges; the outcomes in request order, refusals included."""
        if len(sent) != len(send):  # maybe placed: the charges stay
            raise ExchangeError(f"venue gave {len(sent)} outcomes for {len(send)} orders")
        for outcome in sent:
            if outcome.error is not None:
                self._release(outcome.request, outcome.error)
        replies = iter(sent)
        return [refused[i] if i in refused else next(replies) for i in range(len(requests))]

    @override
    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        refused, send = await self._charge_all(requests)
        sent = await self._send(send, lambda: self.inner.place_orders(send)) if send else []
        return self._merged(requests, refused, send, sent)

    @override
    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        """Charged like ``place_orders``; a refused order never blocks the cancels."""
        refused, send = await self._charge_all(requests)
        out = await self._send(send, lambda: self.inner.replace_orders(cancel_symbols, send))
        places = self._merged(requests, refused, send, out.places)
        return ReplaceOutcome(cancels=out.cancels, places=tuple(places))

    @override
    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        out = await self.inner.prices(symbols)
        for s, p in out.items():
            if isinstance(p, int | float) and math.isfinite(p) and p > 0:
                self._last_price[s] = float(p)
        return out
