"""Proactive rate limiting: wait for budget instead of collecting 429s.

Lighter's standard accounts allow 60 weighted requests per minute. The bucket
maths is a pure value (:class:`TokenBucket`) so it can be property-tested; the
wrapper only sleeps for as long as the bucket says.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import attrs
from typing_extensions import override

from xlp_core.errors import ConfigError, RateLimitedError
from xlp_core.models import Order, OrderRequest
from xlp_core.ports import Exchange, PlaceOutcome, ReplaceOutcome
from xlp_core.safety.forward import GuardedExchange

log = logging.getLogger("xlp_core.safety.rate_limit")

T = TypeVar("T")

DEFAULT_WEIGHTS: Mapping[str, int] = {
    "markets": 1,
    "prices": 1,
    "positions": 1,
    "open_orders": 1,
    "place_order": 1,
    "get_order": 1,
    "cancel_order": 1,
    "cancel_all_orders": 1,
    "arm_dead_man_switch": 1,
}


@attrs.frozen
class SlidingWindow:
    """At most ``limit`` weight in any ``period`` seconds, callers served in order.

    A token bucket would allow twice the limit in a window straddling a full
    bucket and its refill; venues count requests per sliding minute, so we do
    too. Entries are reservations ``(time, weight)``: a reservation in the
    future is a caller that is already waiting.
    """

    limit: float
    period: float = 60.0
    entries: tuple[tuple[float, float], ...] = ()

    @classmethod
    def per_minute(cls, requests: float) -> SlidingWindow:
        if not requests > 0:
            raise ConfigError("rate_limit_per_minute", f"must be > 0, got {requests}")
        return cls(limit=float(requests))

    def take(self, now: float, n: float) -> tuple[SlidingWindow, float]:
        """Reserve ``n``; return the new window and how long to wait before sending."""
        if n > self.limit:
            raise ConfigError("weight", f"a single call of weight {n} exceeds the limit")
        entries = [e for e in self.entries if e[0] > now - self.period]
        t = max([now, *(ts for ts, _ in entries)])
        # Expire the oldest reservations until the rest plus ``n`` fit. One
        # pass over a suffix sum: no loop that float rounding could stall.
        kept = sum(w for _, w in entries)
        for ts, w in entries:  # sorted oldest first
            if kept + n - self.limit <= 1e-12:
                break
            kept -= w
            t = max(t, _expiry(ts, self.period))
        entries.append((t, n))
        return attrs.evolve(self, entries=tuple(entries)), t - now

    def block(self, now: float, pause: float) -> SlidingWindow:
        """After a 429: nothing goes out before ``now + pause``."""
        phantom = (now + pause - self.period, self.limit)
        entries = sorted([*self.entries, phantom])
        return attrs.evolve(self, entries=tuple(entries))


def _expiry(ts: float, period: float) -> float:
    """The first float time at which a reservation at ``ts`` is outside the window.

    ``ts + period`` can round so that ``ts`` still looks inside the window
    from there; step up until both ways of comparing agree it has left.
    """
    t = ts + period
    while t - period < ts or ts + period > t:
        t = math.nextafter(t, math.inf)
    return t


BATCH_TWIN: Mapping[str, str] = {
    "place_orders": "place_order",
    "cancel_orders": "cancel_all_orders",
    "get_orders": "get_order",
}
"""A venue that declares no weight for a batch runs it as a loop of its twin."""


class RateLimitedExchange(GuardedExchange):
    """An :class:`Exchange` that spends a weighted budget before every call.

    Weights come from ``weights`` or else the venue's ``request_weights``
    (HTTP requests per port call; 1 for a method it does not name). A batch
    the venue declares (``place_orders``: one ``sendTxBatch``) costs its
    declared weight; an undeclared one costs its twin's weight per item,
    which is what ``ExchangeDefaults``' loop really sends. A wait over one
    second is logged at WARNING; ``on_wait(seconds)`` hears every wait (for
    metrics).
    """

    def __init__(
        self,
        inner: Exchange,
        *,
        requests_per_minute: float = 60,
        weights: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(inner)
        declared = inner.request_weights if weights is None else weights
        self.declared = dict(declared)
        self.weights = {**DEFAULT_WEIGHTS, **declared}
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self.window = SlidingWindow.per_minute(requests_per_minute)
        self.waited = 0.0

    def weight_of(self, method: str, items: int = 1) -> float:
        """What one call of ``method`` over ``items`` items costs (capped at the limit)."""
        twin = BATCH_TWIN.get(method)
        if twin is not None and method not in self.declared:
            weight = self.weights.get(twin, 1) * items
        else:
            weight = self.weights.get(method, 1)
        return min(float(weight), self.window.limit)

    @override
    async def _call(
        self,
        method: str,
        aw: Callable[[], Awaitable[T]],
        items: int = 1,
        *,
        weight: float | None = None,
    ) -> T:
        weight = self.weight_of(method, items) if weight is None else weight
        wait = 0.0
        if weight > 0:
            self.window, wait = self.window.take(self._clock(), weight)
        if wait > 0:
            self.waited += wait
            if wait > 1.0:
                log.warning("%s: rate limit: waiting %.1f s before %s", self.name, wait, method)
            if self._on_wait is not None:
                self._on_wait(wait)
            await self._sleep(wait)
        try:
            return await aw()
        except RateLimitedError as exc:
            self.window = self.window.block(self._clock(), exc.retry_after or 1.0)
            raise

    @override
    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        if not requests:
            return []
        return await self._call(
            "place_orders", lambda: self.inner.place_orders(requests), len(requests)
        )

    @override
    async def cancel_orders(self, symbols: Sequence[str]) -> Mapping[str, int]:
        if not symbols:
            return {}
        return await self._call(
            "cancel_orders", lambda: self.inner.cancel_orders(symbols), len(symbols)
        )

    @override
    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        if not keys:
            return {}
        return await self._call("get_orders", lambda: self.inner.get_orders(keys), len(keys))

    @override
    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        if not cancel_symbols and not requests:
            return ReplaceOutcome(cancels={}, places=())
        weight = self.replace_weight(len(cancel_symbols), len(requests))
        return await self._call(
            "replace_orders",
            lambda: self.inner.replace_orders(cancel_symbols, requests),
            weight=weight,
        )

    def replace_weight(self, cancels: int, orders: int) -> float:
        """A declared ``replace_orders`` costs its weight; else what ExchangeDefaults'
        three steps send (cancels, one confirming read, places)."""
        if "replace_orders" in self.declared:
            return self.weight_of("replace_orders")
        weight = self.weight_of("cancel_orders", cancels) if cancels else 0.0
        weight += self.weight_of("open_orders") if cancels else 0.0
        weight += self.weight_of("place_orders", orders) if orders else 0.0
        return min(weight, self.window.limit)
