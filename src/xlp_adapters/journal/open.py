"""Open the durable records a hedger needs from two configured paths.

One path for both (the default, ``xlp.sqlite``) opens a :class:`SqliteJournal`:
a cycle then costs one durable write besides each order's write-ahead
record. Two paths keep the separate state store and audit log (``.json``
state, ``.jsonl`` audit, or SQLite files), at one write more per cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xlp_core.config import IdleFsync
from xlp_core.ports import AuditSink, StateStore


def open_records(
    state_path: str,
    audit_path: str,
    *,
    secrets: Sequence[str] = (),
    idle_fsync: IdleFsync = "background",
) -> tuple[StateStore, AuditSink]:
    """``(store, audit)``, the same object when both paths name one SQLite file.

    The store takes the state lock as it opens; if the audit log then fails
    to open, the store is closed again so the lock is not left held.
    ``idle_fsync`` is the journal's (see :class:`SqliteJournal`).
    """
    if _same(state_path, audit_path) and not state_path.endswith((".json", ".jsonl", ".log")):
        from xlp_adapters.journal.sqlite import SqliteJournal

        journal = SqliteJournal(state_path, secrets=secrets, idle_fsync=idle_fsync)
        return journal, journal
    store = open_store(state_path)
    try:
        return store, open_audit(audit_path, secrets)
    except BaseException:
        store.close()
        raise


def _same(a: str, b: str) -> bool:
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def open_store(path: str) -> StateStore:
    """A ``.json`` path is the JSON-file store; anything else SQLite."""
    from xlp_adapters.stores import JsonFileStateStore, SqliteStateStore

    if path.endswith(".json"):
        return JsonFileStateStore(path)
    return SqliteStateStore(path)


def open_audit(path: str, secrets: Sequence[str] = ()) -> AuditSink:
    """A ``.jsonl``/``.log`` path is the JSONL log; anything else SQLite.

    ``secrets`` are scrubbed from every string the log stores, whatever its key.
    """
    from xlp_adapters.audit import JsonlAuditSink, SqliteAuditSink

    if path.endswith((".jsonl", ".log")):
        return JsonlAuditSink(path, secrets=secrets)
    return SqliteAuditSink(path, secrets=secrets)
