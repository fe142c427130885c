"""In-memory audit sink for tests and backtests."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from xlp_adapters.audit.redact import redact
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError


class MemoryAuditSink:
    def __init__(self) -> None:
        self.items: list[AuditEvent] = []
        self._fail = 0

    def fail_next_append(self, n: int = 1) -> None:
        """Simulate a failing disk for the next ``n`` appends."""
        self._fail = n

    def append(self, event: AuditEvent) -> None:
        if self._fail:
            self._fail -= 1
            raise AuditError("memory audit: simulated disk failure")
        self.items.append(attrs.evolve(event, data=redact(dict(event.data))))

    def events(self) -> Iterator[AuditEvent]:
        return iter(list(self.items))

    def close(self) -> None:
        return None
