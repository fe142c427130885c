"""Deterministic fault injection for the paper exchange.

Safety claims ("a timeout never doubles an order") are only worth what the
faults they were tested under; these reproduce the ones real venues produce,
seeded so that a failing soak test replays exactly.
"""

from __future__ import annotations

import enum
import random
from collections import Counter, deque
from collections.abc import Mapping

from xlp_core.errors import (
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitedError,
    TransientExchangeError,
)


class Fault(enum.StrEnum):
    RATE_LIMITED = "rate_limited"
    """429: refused before doing anything."""
    SERVER_ERROR = "server_error"
    """5xx: refused before doing anything."""
    TIMEOUT_BEFORE_SEND = "timeout_before_send"
    """The request never arrived, but the caller only sees a timeout."""
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"
    """The venue did it; the response timed out."""
    DROPPED_RESPONSE = "dropped_response"
    """The venue did it; the connection dropped before the response."""
    REJECT = "reject"
    """The venue refused the order (place_order only)."""


APPLIED = frozenset({Fault.TIMEOUT_AFTER_ACCEPT, Fault.DROPPED_RESPONSE})
"""Faults whose effect happens at the venue although the call fails."""

READ_FAULTS = frozenset({Fault.RATE_LIMITED, Fault.SERVER_ERROR, Fault.TIMEOUT_BEFORE_SEND})

BATCH_OF: Mapping[str, str] = {
    "place_orders": "place_order",
    "cancel_orders": "cancel_all_orders",
    "get_orders": "get_order",
}
"""A batched call draws with its single twin's rates and script unless it has its own."""

_PLACES = frozenset({"place_order", "place_orders"})


class FaultInjector:
    """Per-method fault rates plus a script of forced faults; seeded."""

    def __init__(
        self, seed: int = 0, rates: Mapping[str, Mapping[Fault, float]] | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.rates = {m: dict(r) for m, r in (rates or {}).items()}
        for method, table in self.rates.items():
            total = sum(table.values())
            if any(p < 0 for p in table.values()) or total > 1:
                raise ValueError(f"fault rates for {method} must be >= 0 and sum to <= 1")
        self._script: dict[str, deque[Fault | None]] = {}
        self.counts: Counter[Fault] = Counter()
        self.enabled = True

    def script(self, method: str, *faults: Fault | None) -> None:
        """Force ``faults`` (None = no fault) on the next calls of ``method``."""
        self._script.setdefault(method, deque()).extend(faults)

    def draw(self, method: str) -> Fault | None:
        """One roll per venue request (a batched call rolls once for the batch)."""
        twin = BATCH_OF.get(method)
        queue = self._script.get(method)
        if not queue and twin is not None:
            queue = self._script.get(twin)
        if twin is not None and method not in self.rates and twin in self.rates:
            method_rates = self.rates[twin]
        else:
            method_rates = self.rates.get(method, {})
        if queue:
            fault = queue.popleft()
        elif not self.enabled or not method_rates:
            return None
        else:
            fault = None
            x = self.rng.random()
            for kind, p in method_rates.items():
                if x < p:
                    fault = kind
                    break
                x -= p
        if fault is not None:
            if method not in _PLACES and fault is Fault.REJECT:
                fault = Fault.SERVER_ERROR
            self.counts[fault] += 1
        return fault


def raise_before(fault: Fault | None, method: str, client_order_id: int | None = None) -> None:
    """Raise for faults that stop the call before it has any effect."""
    if fault is Fault.RATE_LIMITED:
        raise RateLimitedError(f"paper: 429 on {method}", retry_after=1.0)
    if fault is Fault.SERVER_ERROR:
        raise TransientExchangeError(f"paper: 503 on {method}")
    if fault is Fault.TIMEOUT_BEFORE_SEND:
        if method in _PLACES:
            raise OrderOutcomeUnknownError(f"paper: timeout on {method}", client_order_id)
        raise TransientExchangeError(f"paper: timeout on {method}")
    if fault is Fault.REJECT and method != "place_orders":  # a batch rejects per order
        raise OrderRejectedError(f"paper: injected rejection on {method}")


def raise_after(fault: Fault | None, method: str, client_order_id: int | None = None) -> None:
    """Raise for faults that hide an effect that did happen."""
    if fault in APPLIED:
        if method in _PLACES:
            raise OrderOutcomeUnknownError(f"paper: {fault} on {method}", client_order_id)
        raise TransientExchangeError(f"paper: {fault} on {method}")
