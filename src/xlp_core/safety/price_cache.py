"""A short-TTL price cache: fewer requests, never a stale price past the TTL."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence

from typing_extensions import override

from xlp_core.errors import InvalidPriceError
from xlp_core.models import Order, OrderRequest
from xlp_core.ports import Exchange, PlaceOutcome, ReplaceOutcome
from xlp_core.safety.forward import ForwardingExchange


class PriceCachedExchange(ForwardingExchange):
    """Caches ``prices()`` per symbol for ``ttl`` seconds; errors are never cached.

    A symbol's entry is dropped when we trade it, so sizing after an order
    always sees a fresh price. Everything else passes through.
    """

    def __init__(
        self, inner: Exchange, *, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not math.isfinite(ttl) or ttl < 0:
            raise ValueError(f"ttl must be finite and >= 0, got {ttl}")
        super().__init__(inner)
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, float]] = {}
        self.hits = 0
        self.misses = 0

    @override
    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        now = self._clock()
        out: dict[str, float] = {}
        missing: list[str] = []
        for s in symbols:
            hit = self._cache.get(s)
            if hit is not None and now - hit[1] < self.ttl:
                out[s] = hit[0]
                self.hits += 1
            else:
                missing.append(s)
        if missing:
            self.misses += len(missing)
            fresh = await self.inner.prices(missing)
            for s, p in fresh.items():
                if isinstance(p, bool) or not isinstance(p, int | float):
                    raise InvalidPriceError(f"{s}: venue price is not a number: {p!r}")
                if math.isfinite(p) and p > 0:
                    self._cache[s] = (float(p), now)
                out[s] = p  # bad values pass through uncached: the core rejects them
        return out

    def invalidate(self, symbol: str | None = None) -> None:
        if symbol is None:
            self._cache.clear()
        else:
            self._cache.pop(symbol, None)

    @override
    async def place_order(self, request: OrderRequest) -> Order:
        self.invalidate(request.symbol)
        return await self.inner.place_order(request)

    @override
    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        for request in requests:
            self.invalidate(request.symbol)
        return await self.inner.place_orders(requests)

    @override
    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        for request in requests:
            self.invalidate(request.symbol)
        return await self.inner.replace_orders(cancel_symbols, requests)
