"""Audit events: the append-only record of what the library decided and did.

Order intents are written (and fsynced by the sink) before the order is sent,
and their outcomes after; a restart reads the log to find orders whose outcome
was never recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final, Protocol, runtime_checkable

import attrs

# Event kinds. Strings, not an enum, so that custom strategies can add kinds.
CYCLE_START: Final = "cycle_start"
CYCLE_END: Final = "cycle_end"
DECISION: Final = "decision"
ORDER_INTENT: Final = "order_intent"
ORDER_RESULT: Final = "order_result"
CANCEL_INTENT: Final = "cancel_intent"
CANCEL_RESULT: Final = "cancel_result"
ALERT: Final = "alert"
ERROR: Final = "error"
RECONCILE: Final = "reconcile"
COST_REBASED: Final = "cost_rebased"
DECISIONS: Final = "decisions"
"""One per cycle: ``data["symbols"][symbol]`` holds what ``decision`` held per symbol."""
ORDER_RESOLVED: Final = "order_resolved"
"""A once-unknown order looked up: ``resolution`` is filled/open/cancelled/never_arrived."""
ACTION_REFUSED: Final = "action_refused"
"""The shell refused a strategy's action (``reason`` says why); nothing was sent."""
CLOCK_JUMP: Final = "clock_jump"
"""The wall clock moved away from the monotonic decision time by ``jump_s`` seconds."""

ORDER_KINDS: Final = (ORDER_INTENT, ORDER_RESULT, ORDER_RESOLVED)
"""The records that say which ids were used and which outcomes are still open."""

JSONValue = Any  # what json.dumps accepts; kept loose on purpose


@attrs.frozen
class AuditEvent:
    """One line of the audit log."""

    at: datetime
    kind: str
    cycle: int
    symbol: str | None = None
    data: Mapping[str, JSONValue] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "cycle": self.cycle,
            "symbol": self.symbol,
            "data": dict(self.data),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, d: Any) -> AuditEvent:
        """Parse a stored event; ``ValueError`` names what is wrong.

        Strict on purpose: a log line is evidence, so nothing is coerced.
        """
        if not isinstance(d, dict):
            raise ValueError(f"expected a JSON object, got {type(d).__name__}")
        at = d.get("at")
        if not isinstance(at, str):
            raise ValueError(f"'at' must be an ISO datetime string, got {at!r}")
        when = datetime.fromisoformat(at)
        kind = d.get("kind")
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"'kind' must be a non-empty string, got {kind!r}")
        cycle = d.get("cycle")
        if isinstance(cycle, bool) or not isinstance(cycle, int):
            raise ValueError(f"'cycle' must be an integer, got {cycle!r}")
        symbol = d.get("symbol")
        if symbol is not None and not isinstance(symbol, str):
            raise ValueError(f"'symbol' must be a string or null, got {symbol!r}")
        data = d.get("data", {})
        if not isinstance(data, dict):
            raise ValueError(f"'data' must be an object, got {type(data).__name__}")
        return cls(at=when, kind=kind, cycle=cycle, symbol=symbol, data=data)


def decision_records(
    events: Iterable[AuditEvent],
) -> Iterator[tuple[AuditEvent, str, Mapping[str, Any]]]:
    """Each per-symbol decision record, oldest first: ``(event, symbol, data)``.

    Reads both the per-cycle ``decisions`` event and the older per-symbol
    ``decision`` events, so a reader (e.g. rebuilding state from the log)
    does not care which the writer used.
    """
    for ev in events:
        if ev.kind == DECISION and ev.symbol is not None:
            yield ev, ev.symbol, ev.data
        elif ev.kind == DECISIONS:
            per_symbol = ev.data.get("symbols")
            if isinstance(per_symbol, dict):
                for symbol, data in per_symbol.items():
                    if isinstance(symbol, str) and isinstance(data, dict):
                        yield ev, symbol, data


class _Readable(Protocol):
    def events(self) -> Iterable[AuditEvent]: ...


@runtime_checkable
class OrderIndexedLog(Protocol):
    """An audit log that can list just its order records (SQLite sinks, by kind)."""

    def order_events(self) -> Iterable[AuditEvent]: ...


def order_events(log: _Readable) -> Iterable[AuditEvent]:
    """The log's order records, oldest first (an indexed log skips the rest unread).

    Start-up reconciliation and a cycle's first id allocation read these, never
    the much larger decision records.
    """
    if isinstance(log, OrderIndexedLog):
        return log.order_events()
    return (ev for ev in log.events() if ev.kind in ORDER_KINDS)
