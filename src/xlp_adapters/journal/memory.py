"""In-memory journal for tests and backtests, as strict as the durable ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from typing_extensions import override

from xlp_adapters.audit.jsonl import event_from_json, event_to_json
from xlp_adapters.audit.memory import MemoryAuditSink
from xlp_adapters.stores.memory import MemoryStateStore
from xlp_core.audit import AuditEvent
from xlp_core.errors import StateError
from xlp_core.ports import Journal
from xlp_core.state import HedgeState


class MemoryJournal(Journal):
    """A :class:`MemoryStateStore` and a :class:`MemoryAuditSink` committed together.

    Events and state are kept serialised (refused where a file would refuse
    them); ``commit`` is all-or-nothing and counts as one write in
    ``writes``. ``fail_next_write(n)`` makes the next ``n`` writes (commit,
    append, append_many) fail like a full disk.
    """

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        self.store = MemoryStateStore()
        self.audit = MemoryAuditSink(secrets=secrets)
        self.commits = 0

    def __repr__(self) -> str:
        return f"MemoryJournal(events={len(self.audit.items)}, commits={self.commits})"

    @property
    def writes(self) -> int:
        """Durable writes so far: appends, batches, commits and saves, one each."""
        return self.audit.writes + self.store.saves

    def fail_next_write(self, n: int = 1) -> None:
        self.audit.fail_next_append(n)

    @override
    def commit(self, events: Sequence[AuditEvent], state: HedgeState) -> None:
        lines = [event_to_json(e, self.audit._secrets) for e in events]
        probe = MemoryStateStore(state)  # encodes and validates, or raises StateError
        self.audit._write()  # the one write; may fail and then records nothing
        self.audit.items.extend(event_from_json(line) for line in lines)
        self.store.put_raw(probe.raw or "")
        self.commits += 1

    @override
    def load(self) -> HedgeState | None:
        return self.store.load()

    @override
    def save(self, state: HedgeState) -> None:
        probe = MemoryStateStore(state)
        if self.audit._fail:
            self.audit._fail -= 1
            raise StateError("memory journal: simulated disk failure")
        self.store.put_raw(probe.raw or "")
        self.store.saves += 1

    @override
    def append(self, event: AuditEvent) -> None:
        self.audit.append(event)

    @override
    def append_many(self, events: Sequence[AuditEvent]) -> None:
        self.audit.append_many(events)

    @override
    def events(self) -> Iterator[AuditEvent]:
        return self.audit.events()

    @override
    def close(self) -> None:
        """Nothing to release; state and events stay readable."""
