"""In-memory audit sink for tests and backtests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from xlp_adapters.audit.jsonl import event_from_json, event_to_json
from xlp_adapters.audit.redact import normalise_secrets
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError


class MemoryAuditSink:
    """Keeps each event as a file sink would read it back: redacted, via JSON.

    So an event a real sink would refuse (a NaN, a ``datetime`` in ``data``)
    is refused here too, instead of passing every test and failing live.
    ``fail_next_append`` simulates a failing disk.
    """

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        self.items: list[AuditEvent] = []
        self._secrets = normalise_secrets(secrets)
        self._fail = 0

    def __repr__(self) -> str:
        return f"MemoryAuditSink(events={len(self.items)})"

    def fail_next_append(self, n: int = 1) -> None:
        """Make the next ``n`` appends raise ``AuditError`` and record nothing."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._fail = n

    def append_many(self, events: Sequence[AuditEvent]) -> None:
        # Placeholder: one append each (to become one durable write).
        for event in events:
            self.append(event)

    def append(self, event: AuditEvent) -> None:
        line = event_to_json(event, self._secrets)
        if self._fail:
            self._fail -= 1
            raise AuditError("memory audit: simulated disk failure")
        self.items.append(event_from_json(line))

    def events(self) -> Iterator[AuditEvent]:
        return iter(list(self.items))

    def close(self) -> None:
        """Nothing to release; the events stay readable."""
