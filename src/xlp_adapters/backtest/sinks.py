"""A bounded audit sink and an object state store for long backtests.

A year of minute cycles produces millions of audit events (~1.5 KB each in
memory); the results need none of them. :class:`TailAuditSink` counts every
event by kind and keeps only the most recent ones, so a cycle-engine backtest
runs in constant audit memory. Pass ``audit_path`` to ``run_backtest`` to keep
the whole log, streamed to SQLite on disk, instead.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator, Sequence

from typing_extensions import override

from xlp_core.audit import AuditEvent
from xlp_core.ports import AuditSink, StateStore
from xlp_core.state import HedgeState


class TailAuditSink(AuditSink):
    """Counts every event; remembers the last ``keep`` (oldest first)."""

    def __init__(self, keep: int = 1000) -> None:
        self._tail: deque[AuditEvent] = deque(maxlen=max(0, keep))
        self.counts: Counter[str] = Counter()
        self.total = 0

    @override
    def append(self, event: AuditEvent) -> None:
        self._tail.append(event)
        self.counts[str(event.kind)] += 1
        self.total += 1

    @override
    def append_many(self, events: Sequence[AuditEvent]) -> None:
        # Every cycle's events arrive here: counted and kept in bulk, not one call each.
        self._tail.extend(events)
        self.counts.update(str(event.kind) for event in events)
        self.total += len(events)

    @override
    def events(self) -> Iterator[AuditEvent]:
        return iter(tuple(self._tail))

    @override
    def close(self) -> None:
        """Nothing to release (the tail stays readable)."""


class LatestStateStore(StateStore):
    """Keeps the last saved (immutable) :class:`HedgeState` object as is.

    A backtest has no crash to survive, so the JSON encode and re-parse of a
    real store (a third of a simulated cycle's time) buys nothing here; the
    state objects are frozen, so handing the same one back is safe.
    """

    def __init__(self) -> None:
        self._state: HedgeState | None = None
        self.saves = 0

    @override
    def load(self) -> HedgeState | None:
        return self._state

    @override
    def save(self, state: HedgeState) -> None:
        self._state = state
        self.saves += 1

    @override
    def close(self) -> None:
        """Nothing to release."""
