"""Audit events: the append-only record of what the library decided and did.

Order intents are written (and fsynced by the sink) before the order is sent,
and their outcomes after; a restart reads the log to find orders whose outcome
was never recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

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
    def from_dict(cls, d: Mapping[str, JSONValue]) -> AuditEvent:
        return cls(
            at=datetime.fromisoformat(d["at"]),
            kind=str(d["kind"]),
            cycle=int(d["cycle"]),
            symbol=d.get("symbol"),
            data=dict(d.get("data") or {}),
        )
