"""Max-notional guard: the last line before an order leaves the process."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from xlp_core.errors import NotionalLimitError
from xlp_core.models import MarketRules, Order, OrderRequest
from xlp_core.ports import Exchange, ExchangeDefaults


class NotionalGuardExchange(ExchangeDefaults):
    """Refuses orders above ``max_order`` USD, or pushing a window above ``max_window``.

    The window is reset by :meth:`begin_cycle` (the runner calls it before each
    cycle). A market order without a price is valued at the last price seen,
    or a fresh one; with no price at all it is refused.
    """

    def __init__(self, inner: Exchange, *, max_order: float, max_window: float) -> None:
        for name, v in (("max_order", max_order), ("max_window", max_window)):
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be finite and > 0, got {v}")
        self.inner = inner
        self.max_order = max_order
        self.max_window = max_window
        self.used = 0.0
        self._last_price: dict[str, float] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    def begin_cycle(self) -> None:
        self.used = 0.0

    async def _value(self, request: OrderRequest) -> float:
        price = request.price or self._last_price.get(request.symbol)
        if price is None:
            fresh = await self.inner.prices([request.symbol])
            price = fresh.get(request.symbol)
        if price is None or not math.isfinite(price) or price <= 0:
            raise NotionalLimitError(f"{request.symbol}: no price to value the order; refused")
        return request.size * price

    async def place_order(self, request: OrderRequest) -> Order:
        notional = await self._value(request)
        if notional > self.max_order:
            raise NotionalLimitError(
                f"{request.symbol}: order notional {notional:.2f} > cap {self.max_order:.2f}"
            )
        if self.used + notional > self.max_window:
            raise NotionalLimitError(
                f"{request.symbol}: cycle notional {self.used + notional:.2f} "
                f"> cap {self.max_window:.2f}"
            )
        self.used += notional
        return await self.inner.place_order(request)

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        out = await self.inner.prices(symbols)
        for s, p in out.items():
            if isinstance(p, int | float) and math.isfinite(p) and p > 0:
                self._last_price[s] = float(p)
        return out

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return await self.inner.markets(symbols)

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.positions(symbols)

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self.inner.open_orders(symbols)

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return await self.inner.get_order(symbol, client_order_id)

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return await self.inner.cancel_order(symbol, client_order_id)

    async def cancel_all_orders(self, symbol: str) -> int:
        return await self.inner.cancel_all_orders(symbol)

    async def close(self) -> None:
        await self.inner.close()
