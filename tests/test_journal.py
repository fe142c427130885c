"""Journals: a cycle's events and state in one durable write; append_many likewise."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from xlp_adapters.audit import JsonlAuditSink, MemoryAuditSink, SqliteAuditSink
from xlp_adapters.journal import FileJournal, MemoryJournal, SqliteJournal
from xlp_adapters.journal.file import CHECKPOINT
from xlp_adapters.stores import SqliteStateStore
from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError, StateCorruptError, StateError
from xlp_core.ports import AuditSink, Journal
from xlp_core.state import HedgeState, SymbolState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ev(cycle: int, kind: str = A.DECISION, **data: Any) -> AuditEvent:
    return AuditEvent(at=T0, kind=kind, cycle=cycle, symbol="SOL", data=data)


def state(cycle: int) -> HedgeState:
    return HedgeState(cycle=cycle, symbols={"SOL": SymbolState(offset=float(cycle))}, updated_at=T0)


MAKERS: dict[str, Callable[[Path], Any]] = {
    "sqlite": lambda d: SqliteJournal(d / "j.sqlite"),
    "file": lambda d: FileJournal(d / "state.json", d / "audit.jsonl"),
    "memory": lambda d: MemoryJournal(),
}


@pytest.fixture(params=list(MAKERS))
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Any]:
    return lambda: MAKERS[request.param](tmp_path)


def test_commit_records_events_and_state_together(make: Callable[[], Any]) -> None:
    journal = make()
    assert isinstance(journal, Journal)
    assert journal.load() is None
    journal.append(ev(1, A.ORDER_INTENT, client_order_id=7))
    journal.commit([ev(1), ev(1, A.CYCLE_END)], state(1))
    journal.commit([], state(2))
    journal.append_many([ev(3), ev(3, A.CYCLE_END)])
    assert journal.load() == state(2)
    kinds = [(e.kind, e.cycle) for e in journal.events()]
    assert kinds == [
        (A.ORDER_INTENT, 1), (A.DECISION, 1), (A.CYCLE_END, 1), (A.DECISION, 3), (A.CYCLE_END, 3),
    ]  # fmt: skip
    journal.close()


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_journal_survives_reopen(tmp_path: Path, kind: str) -> None:
    with MAKERS[kind](tmp_path) as journal:
        journal.commit([ev(1)], state(1))
        journal.commit([ev(2)], state(2))
    with MAKERS[kind](tmp_path) as journal:
        assert journal.load() == state(2)
        assert [e.cycle for e in journal.events()] == [1, 2]


def test_a_commit_that_cannot_be_encoded_writes_nothing(make: Callable[[], Any]) -> None:
    journal = make()
    journal.commit([ev(1)], state(1))
    with pytest.raises(AuditError):
        journal.commit([ev(2), ev(2, bad=float("nan"))], state(2))
    bad = HedgeState(cycle=2, symbols={"SOL": SymbolState(offset=float("nan"))})
    with pytest.raises(StateError):
        journal.commit([ev(2)], bad)
    assert journal.load() == state(1)
    assert [e.cycle for e in journal.events()] == [1]
    journal.close()


def test_memory_journal_commit_is_one_write_all_or_nothing() -> None:
    journal = MemoryJournal()
    journal.commit([ev(1), ev(1)], state(1))
    assert journal.writes == 1
    journal.fail_next_write()
    with pytest.raises(AuditError):
        journal.commit([ev(2)], state(2))
    assert journal.load() == state(1)
    assert len(list(journal.events())) == 2


def test_sqlite_journal_commit_failure_rolls_back_both(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite")
    journal.commit([ev(1)], state(1))
    other = sqlite3.connect(tmp_path / "j.sqlite", timeout=0)
    other.execute("BEGIN EXCLUSIVE")  # the disk "fails": the write lock is taken
    assert journal._conn is not None
    journal._conn.execute("PRAGMA busy_timeout=0")
    with pytest.raises(AuditError, match="journal commit failed"):
        journal.commit([ev(2)], state(2))
    other.rollback()
    other.close()
    assert journal.load() == state(1)
    assert journal.count() == 1
    journal.close()


def test_sqlite_journal_is_not_a_state_store_or_audit_log(tmp_path: Path) -> None:
    SqliteJournal(tmp_path / "j.sqlite").close()
    with pytest.raises(StateCorruptError, match="journal"):
        SqliteStateStore(tmp_path / "j.sqlite")
    with pytest.raises(AuditError, match="journal"):
        SqliteAuditSink(tmp_path / "j.sqlite")


def test_sqlite_journal_keeps_history_and_queries(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "j.sqlite", keep=2) as journal:
        for c in range(1, 5):
            journal.commit([ev(c)], state(c))
        assert [s.cycle for s in journal.history()] == [4, 3]
        assert journal.load_cycle(3) == state(3)
        assert journal.last_cycle() == 4
        assert [e.cycle for e in journal.query(since_cycle=3)] == [3, 4]


def test_file_journal_crash_between_log_and_state_file_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = FileJournal(tmp_path / "state.json", tmp_path / "audit.jsonl")
    journal.commit([ev(1)], state(1))
    real = os.replace

    def killed(src: Any, dst: Any) -> None:
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", killed)
    journal.commit([ev(2)], state(2))  # durable in the log; the file refresh failed
    monkeypatch.setattr(os, "replace", real)
    journal.close()
    assert b'"cycle":1' in (tmp_path / "state.json").read_bytes()
    with FileJournal(tmp_path / "state.json", tmp_path / "audit.jsonl") as again:
        assert again.load() == state(2)
        assert [e.cycle for e in again.events()] == [1, 2]


def test_file_journal_torn_state_file_falls_back_to_checkpoint(tmp_path: Path) -> None:
    with FileJournal(tmp_path / "state.json", tmp_path / "audit.jsonl") as journal:
        journal.commit([ev(1)], state(1))
    (tmp_path / "state.json").write_bytes(b"")  # a power cut before the data reached disk
    with FileJournal(tmp_path / "state.json", tmp_path / "audit.jsonl") as journal:
        assert journal.load() == state(1)


def test_file_journal_checkpoints_are_audit_lines_hidden_from_events(tmp_path: Path) -> None:
    sym = HedgeState(cycle=1, symbols={"TOKEN": SymbolState(offset=2.0)}, updated_at=T0)
    with FileJournal(tmp_path / "state.json", tmp_path / "audit.jsonl") as journal:
        journal.commit([ev(1)], sym)
        assert journal.load() == sym  # a symbol named like a secret is not redacted
    with JsonlAuditSink(tmp_path / "audit.jsonl") as sink:  # still a valid audit log
        assert [e.kind for e in sink.events()] == [A.DECISION, CHECKPOINT]


def test_file_journal_reads_the_last_checkpoint_from_a_long_log(tmp_path: Path) -> None:
    with FileJournal(tmp_path / "state.json", tmp_path / "audit.jsonl") as journal:
        for c in range(1, 40):
            journal.commit([ev(c, blob="x" * 3000)], state(c))
    (tmp_path / "state.json").unlink()
    with FileJournal(tmp_path / "state.json", tmp_path / "audit.jsonl") as journal:
        assert journal.load() == state(39)


SINKS: dict[str, Callable[[Path], AuditSink]] = {
    "jsonl": lambda d: JsonlAuditSink(d / "a.jsonl"),
    "sqlite": lambda d: SqliteAuditSink(d / "a.sqlite"),
    "memory": lambda d: MemoryAuditSink(),
}


@pytest.mark.parametrize("kind", list(SINKS))
def test_append_many_is_all_or_nothing(tmp_path: Path, kind: str) -> None:
    sink = SINKS[kind](tmp_path)
    sink.append_many([ev(1), ev(1)])
    with pytest.raises(AuditError):
        sink.append_many([ev(2), ev(2, bad=float("inf"))])
    sink.append_many([])
    assert [e.cycle for e in sink.events()] == [1, 1]
    sink.close()


def test_jsonl_append_many_is_one_write_and_one_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = JsonlAuditSink(tmp_path / "a.jsonl")
    calls = {"write": 0, "fsync": 0}
    real_write, real_fsync = os.write, os.fsync

    def write(fd: int, data: Any) -> int:
        calls["write"] += 1
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        calls["fsync"] += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    sink.append_many([ev(1, n=i) for i in range(20)])
    monkeypatch.undo()
    assert calls == {"write": 1, "fsync": 1}
    assert len(list(sink.events())) == 20
    sink.close()


def test_memory_sink_batch_counts_one_write_and_fails_whole() -> None:
    sink = MemoryAuditSink()
    sink.append_many([ev(1), ev(1), ev(1)])
    assert sink.writes == 1
    sink.fail_next_append()
    with pytest.raises(AuditError):
        sink.append_many([ev(2), ev(2)])
    assert len(sink.items) == 3


def test_sqlite_commit_statements_once_older_rows_are_pruned(tmp_path: Path) -> None:
    """An idle commit: BEGIN, the events, the state row, the prune, COMMIT, data_version.

    Older rows (another run's) are parsed before they are pruned; once the
    cutoff has passed them (committed), the commit stops looking for them.
    """
    path = tmp_path / "j.sqlite"
    journal = SqliteJournal(path, keep=2)
    journal.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO state (cycle, body) VALUES (1, '{\"version\": 7}')")
    conn.close()
    journal = SqliteJournal(path, keep=2)
    try:
        seen: list[str] = []
        assert journal._conn is not None
        journal._conn.set_trace_callback(seen.append)
        for cycle in range(2, 7):
            seen.clear()
            journal.commit([ev(cycle), ev(cycle, A.CYCLE_END)], state(cycle))
        assert [s.split()[0] for s in seen] == [
            "BEGIN", "INSERT", "INSERT", "INSERT", "DELETE", "COMMIT", "PRAGMA",
        ]  # fmt: skip
        check = sqlite3.connect(path)
        moved = check.execute("SELECT cycle FROM state_corrupt").fetchall()
        check.close()
        assert moved == [(1,)]  # the corrupt older row was looked at and kept
    finally:
        journal.close()
