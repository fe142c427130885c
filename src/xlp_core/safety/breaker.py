"""Circuit breaker: stop hammering a venue that keeps failing.

The state machine (:class:`BreakerState`) is a pure value; the wrapper asks it
whether a call may go and reports the result back.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs
from typing_extensions import override

from xlp_core.errors import (
    CircuitOpenError,
    OrderOutcomeUnknownError,
    TransientExchangeError,
)
from xlp_core.ports import Exchange
from xlp_core.safety.forward import GuardedExchange

T = TypeVar("T")
log = logging.getLogger("xlp_core.safety.breaker")


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


class CircuitBreakerExchange(GuardedExchange):
    """Refuses calls (``CircuitOpenError``) while the venue keeps failing.

    A batch is one call. ``state`` is the current :class:`BreakerState`
    (``circuit`` its :class:`Circuit`); a trip (closed to open) is logged at
    ERROR and a recovery at INFO, and ``on_state_change(circuit)`` hears
    every change of circuit (``"closed"``, ``"open"``, ``"half_open"``).
    """

    def __init__(
        self,
        inner: Exchange,
        *,
        failure_threshold: int = 5,
        reset_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_state_change: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(inner)
        self.state = BreakerState(failure_threshold, reset_after)
        self._clock = clock
        self._on_state_change = on_state_change

    @property
    def circuit(self) -> Circuit:
        return self.state.circuit

    def _move(self, new: BreakerState) -> None:
        old, self.state = self.state.circuit, new
        if new.circuit is old:
            return
        if new.circuit is Circuit.OPEN and old is Circuit.CLOSED:
            log.error(
                "%s: circuit breaker tripped after %d failures; calls suspended for %.0f s",
                self.name, new.failures, new.reset_after,
            )  # fmt: skip
        elif new.circuit is Circuit.OPEN:
            log.warning("%s: circuit breaker probe failed; open again", self.name)
        elif new.circuit is Circuit.CLOSED:
            log.info("%s: circuit breaker closed; venue recovered", self.name)
        if self._on_state_change is not None:
            self._on_state_change(str(new.circuit))

    @override
    async def _call(self, method: str, aw: Callable[[], Awaitable[T]]) -> T:
        new, ok = self.state.allow(self._clock())
        self._move(new)
        if not ok:
            raise CircuitOpenError(
                f"{self.inner.name}: circuit open after {self.state.failures} failures; "
                f"{method} not sent"
            )
        try:
            result = await aw()
        except TRIPS:
            self._move(self.state.on_failure(self._clock()))
            raise
        except BaseException:
            # Not the venue's health (e.g. a rejected order): release a probe.
            self._move(attrs.evolve(self.state, probing=False))
            raise
        self._move(self.state.on_success())
        return result
