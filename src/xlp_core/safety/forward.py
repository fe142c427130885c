"""A wrapper that forwards every port call: the safety layers override what they change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from typing_extensions import override

from xlp_core.models import MarketRules, Order, OrderRequest
from xlp_core.ports import Exchange, ExchangeDefaults, PlaceOutcome, ReplaceOutcome

T = TypeVar("T")


class ForwardingExchange(ExchangeDefaults, Exchange):
    """Every method, batched ones included, goes straight to ``inner``.

    Batched calls are forwarded as batches (never ExchangeDefaults' loop), so
    a venue's one-request batch stays one request through the whole stack.
    """

    def __init__(self, inner: Exchange) -> None:
        self.inner = inner

    @property
    @override
    def name(self) -> str:
        return self.inner.name

    @property
    @override
    def request_weights(self) -> Mapping[str, int]:
        return self.inner.request_weights

    @override
    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return await self.inner.markets(symbols)

    @override
    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.prices(symbols)

    @override
    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.positions(symbols)

    @override
    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self.inner.open_orders(symbols)

    @override
    async def place_order(self, request: OrderRequest) -> Order:
        return await self.inner.place_order(request)

    @override
    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return await self.inner.get_order(symbol, client_order_id)

    @override
    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return await self.inner.cancel_order(symbol, client_order_id)

    @override
    async def cancel_all_orders(self, symbol: str) -> int:
        return await self.inner.cancel_all_orders(symbol)

    @override
    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        return await self.inner.place_orders(requests)

    @override
    async def cancel_orders(self, symbols: Sequence[str]) -> Mapping[str, int]:
        return await self.inner.cancel_orders(symbols)

    @override
    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        return await self.inner.get_orders(keys)

    @override
    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        return await self.inner.replace_orders(cancel_symbols, requests)

    @override
    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        return await self.inner.arm_dead_man_switch(at)

    @override
    async def close(self) -> None:
        await self.inner.close()


class GuardedExchange(ForwardingExchange):
    """Every venue call goes through :meth:`_call` (a breaker's check, a rate limit's wait).

    The safety layers that treat all calls alike implement ``_call`` once;
    a layer that weighs batches differently overrides just those methods.
    """

    async def _call(self, method: str, aw: Callable[[], Awaitable[T]]) -> T:
        raise NotImplementedError

    @override
    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return await self._call("markets", lambda: self.inner.markets(symbols))

    @override
    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self._call("prices", lambda: self.inner.prices(symbols))

    @override
    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self._call("positions", lambda: self.inner.positions(symbols))

    @override
    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self._call("open_orders", lambda: self.inner.open_orders(symbols))

    @override
    async def place_order(self, request: OrderRequest) -> Order:
        return await self._call("place_order", lambda: self.inner.place_order(request))

    @override
    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return await self._call("get_order", lambda: self.inner.get_order(symbol, client_order_id))

    @override
    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return await self._call(
            "cancel_order", lambda: self.inner.cancel_order(symbol, client_order_id)
        )

    @override
    async def cancel_all_orders(self, symbol: str) -> int:
        return await self._call("cancel_all_orders", lambda: self.inner.cancel_all_orders(symbol))

    @override
    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        return await self._call("place_orders", lambda: self.inner.place_orders(requests))

    @override
    async def cancel_orders(self, symbols: Sequence[str]) -> Mapping[str, int]:
        return await self._call("cancel_orders", lambda: self.inner.cancel_orders(symbols))

    @override
    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        return await self._call("get_orders", lambda: self.inner.get_orders(keys))

    @override
    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        return await self._call(
            "replace_orders", lambda: self.inner.replace_orders(cancel_symbols, requests)
        )

    @override
    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        return await self._call("arm_dead_man_switch", lambda: self.inner.arm_dead_man_switch(at))
