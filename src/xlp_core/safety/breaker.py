"""Circuit breaker: stop hammering a venue that keeps failing.

The state machine (:class:`BreakerState`) is a pure value; the wrapper asks it
whether a call may go and reports the result back.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import attrs

from xlp_core.errors import (
    CircuitOpenError,
    OrderOutcomeUnknownError,
    TransientExchangeError,
)
from xlp_core.models import MarketRules, Order, OrderRequest
from xlp_core.ports import Exchange, ExchangeDefaults

T = TypeVar("T")


class Circuit(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@attrs.frozen
class BreakerState:
    failure_threshold: int = 5
    reset_after: float = 60.0
    circuit: Circuit = Circuit.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False

    def allow(self, now: float) -> tuple[BreakerState, bool]:
        """May a call go now? Half-open lets exactly one probe through."""
        if self.circuit is Circuit.CLOSED:
            return self, True
        if self.circuit is Circuit.OPEN and now - self.opened_at >= self.reset_after:
            return attrs.evolve(self, circuit=Circuit.HALF_OPEN, probing=True), True
        if self.circuit is Circuit.HALF_OPEN and not self.probing:
            return attrs.evolve(self, probing=True), True
        return self, False

    def on_success(self) -> BreakerState:
        return attrs.evolve(self, circuit=Circuit.CLOSED, failures=0, probing=False)

    def on_failure(self, now: float) -> BreakerState:
        failures = self.failures + 1
        if self.circuit is Circuit.HALF_OPEN or failures >= self.failure_threshold:
            return attrs.evolve(
                self, circuit=Circuit.OPEN, failures=failures, opened_at=now, probing=False
            )
        return attrs.evolve(self, failures=failures)


TRIPS = (TransientExchangeError, OrderOutcomeUnknownError, TimeoutError, OSError)
"""Failures that say the venue is unwell; a rejected order says it is fine."""


class CircuitBreakerExchange(ExchangeDefaults):
    def __init__(
        self,
        inner: Exchange,
        *,
        failure_threshold: int = 5,
        reset_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.state = BreakerState(failure_threshold, reset_after)
        self._clock = clock

    @property
    def name(self) -> str:
        return self.inner.name

    async def _call(self, method: str, aw: Callable[[], Awaitable[T]]) -> T:
        self.state, ok = self.state.allow(self._clock())
        if not ok:
            raise CircuitOpenError(
                f"{self.inner.name}: circuit open after {self.state.failures} failures; "
                f"{method} not sent"
            )
        try:
            result = await aw()
        except TRIPS:
            self.state = self.state.on_failure(self._clock())
            raise
        except BaseException:
            # Not the venue's health (e.g. a rejected order): release a probe.
            self.state = attrs.evolve(self.state, probing=False)
            raise
        self.state = self.state.on_success()
        return result

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return await self._call("markets", lambda: self.inner.markets(symbols))

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self._call("prices", lambda: self.inner.prices(symbols))

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self._call("positions", lambda: self.inner.positions(symbols))

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self._call("open_orders", lambda: self.inner.open_orders(symbols))

    async def place_order(self, request: OrderRequest) -> Order:
        return await self._call("place_order", lambda: self.inner.place_order(request))

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return await self._call("get_order", lambda: self.inner.get_order(symbol, client_order_id))

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return await self._call(
            "cancel_order", lambda: self.inner.cancel_order(symbol, client_order_id)
        )

    async def cancel_all_orders(self, symbol: str) -> int:
        return await self._call("cancel_all_orders", lambda: self.inner.cancel_all_orders(symbol))

    async def close(self) -> None:
        await self.inner.close()
