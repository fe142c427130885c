"""In-memory audit sink for tests and backtests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from typing_extensions import override

from xlp_adapters.audit.jsonl import event_from_json, event_to_json
from xlp_adapters.audit.redact import normalise_secrets
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError
from xlp_core.ports import AuditSink


class MemoryAuditSink(AuditSink):
    """Keeps each event as a file sink would read it back: redacted, via JSON.

    So an event a real sink would refuse (a NaN, a ``datetime`` in ``data``)
    is refused here too, instead of passing every test and failing live.
    ``fail_next_append`` simulates a failing disk.
    """

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        self.items: list[AuditEvent] = []
        self._secrets = normalise_secrets(secrets)
        self._fail = 0
        self.writes = 0  # durable writes so far; a batch counts once

    def __repr__(self) -> str:
        return f"MemoryAuditSink(events={len(self.items)})"

    def fail_next_append(self, n: int = 1) -> None:
        """Make the next ``n`` writes (append, append_many) fail and record nothing."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._fail = n

    def _write(self) -> None:
        """One durable write: may fail as the disk would (``fail_next_append``)."""
        if self._fail:
            self._fail -= 1
            raise AuditError("memory audit: simulated disk failure")
        self.writes += 1

    @override
    def append_many(self, events: Sequence[AuditEvent]) -> None:
        lines = [event_to_json(e, self._secrets) for e in events]
        if not lines:
            return
        self._write()  # one write for the batch: all recorded or none
        self.items.extend(event_from_json(line) for line in lines)

    @override
    def append(self, event: AuditEvent) -> None:
        line = event_to_json(event, self._secrets)
        self._write()
        self.items.append(event_from_json(line))

    @override
    def events(self) -> Iterator[AuditEvent]:
        return iter(list(self.items))

    @override
    def close(self) -> None:
        """Nothing to release; the events stay readable."""
