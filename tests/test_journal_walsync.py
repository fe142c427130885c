"""An idle cycle's journal commit is fsynced in the background; everything else inline."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from xlp_adapters.journal import SqliteJournal, _walsync
from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError, ConfigError
from xlp_core.state import HedgeState, SymbolState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ev(cycle: int, kind: str, **data: Any) -> AuditEvent:
    return AuditEvent(at=T0, kind=kind, cycle=cycle, symbol=None, data=data)


def idle(cycle: int) -> list[AuditEvent]:
    return [ev(cycle, A.CYCLE_START), ev(cycle, A.DECISIONS, symbols={}), ev(cycle, A.CYCLE_END)]


def state(cycle: int) -> HedgeState:
    return HedgeState(cycle=cycle, symbols={"SOL": SymbolState(offset=float(cycle))}, updated_at=T0)


class Disk:
    """Counts the background fsyncs; can hold one or fail them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.fail: OSError | None = None
        self.gate: threading.Event | None = None
        monkeypatch.setattr(_walsync, "_fsync", self)

    def __call__(self, fd: int) -> None:
        if self.gate is not None:
            assert self.gate.wait(10)
        self.calls += 1
        if self.fail is not None:
            raise self.fail


def started(journal: SqliteJournal) -> bool:
    return journal._syncer._thread is not None


def sync_mode(journal: SqliteJournal) -> int:
    conn = journal._conn
    assert conn is not None
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


def test_an_idle_commit_returns_before_its_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = Disk(monkeypatch)
    disk.gate = threading.Event()  # the disk is slow: the fsync waits
    journal = SqliteJournal(tmp_path / "j.sqlite")
    journal.commit(idle(1), state(1))  # returns although the fsync has not run
    assert disk.calls == 0
    assert sync_mode(journal) == 2  # the main connection, for every other write
    assert journal._idle_conn is not None
    assert journal._idle_conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert journal.load() == state(1)
    disk.gate.set()
    journal.flush()
    assert disk.calls == 1
    journal.close()
    reopened = SqliteJournal(tmp_path / "j.sqlite")
    assert reopened.load() == state(1)
    assert [e.kind for e in reopened.events()] == [A.CYCLE_START, A.DECISIONS, A.CYCLE_END]
    reopened.close()


@pytest.mark.parametrize(
    "kind", [A.ORDER_RESULT, A.ORDER_RESOLVED, A.CANCEL_INTENT, A.ALERT, A.ERROR]
)
def test_a_commit_with_anything_but_observations_is_fsynced_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    disk = Disk(monkeypatch)
    journal = SqliteJournal(tmp_path / "j.sqlite")
    journal.commit([*idle(1), ev(1, kind)], state(1))
    journal.append(ev(2, A.ORDER_INTENT, client_order_id=5))
    journal.save(state(2))
    journal.close()
    assert disk.calls == 0  # all by SQLite itself (synchronous=FULL), none deferred


def test_inline_mode_never_defers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = Disk(monkeypatch)
    journal = SqliteJournal(tmp_path / "j.sqlite", idle_fsync="inline")
    journal.commit(idle(1), state(1))
    journal.close()
    assert disk.calls == 0
    with pytest.raises(ConfigError, match="idle_fsync"):
        SqliteJournal(tmp_path / "k.sqlite", idle_fsync="later")  # type: ignore[arg-type]


def test_close_waits_for_the_pending_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = Disk(monkeypatch)
    journal = SqliteJournal(tmp_path / "j.sqlite")
    for cycle in range(1, 6):
        journal.commit(idle(cycle), state(cycle))
    journal.close()
    assert 1 <= disk.calls <= 5  # requests close together share an fsync
    journal.close()  # idempotent


def test_a_failed_background_fsync_stops_every_later_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    disk = Disk(monkeypatch)
    disk.fail = OSError(5, "Input/output error")
    journal = SqliteJournal(tmp_path / "j.sqlite")
    journal.commit(idle(1), state(1))
    with pytest.raises(AuditError, match="background fsync failed"):
        journal.flush()
    before = journal.count()
    with pytest.raises(AuditError, match="background fsync failed"):
        journal.append_many([ev(2, A.ORDER_INTENT, client_order_id=9)])  # no order may follow
    with pytest.raises(AuditError, match="background fsync failed"):
        journal.commit(idle(2), state(2))
    with pytest.raises(AuditError, match="background fsync failed"):
        journal.save(state(2))
    assert journal.count() == before
    assert "background fsync failed" in caplog.text
    journal.close()


@pytest.mark.parametrize("events", [idle(2), [ev(2, A.ORDER_RESULT)]])
def test_a_failed_commit_is_rolled_back_and_leaves_full_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, events: list[AuditEvent]
) -> None:
    Disk(monkeypatch)
    journal = SqliteJournal(tmp_path / "j.sqlite")
    journal.commit(idle(1), state(1))
    other = sqlite3.connect(tmp_path / "j.sqlite", timeout=0)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock: the next commit fails
    conns = [c for c in (journal._conn, journal._idle_conn) if c is not None]
    for conn in conns:
        conn.execute("PRAGMA busy_timeout=0")
    with pytest.raises(AuditError, match="journal commit failed"):
        journal.commit(events, state(2))
    other.execute("ROLLBACK")
    other.close()
    assert sync_mode(journal) == 2
    assert not any(conn.in_transaction for conn in conns)
    assert journal.load() == state(1)
    journal.commit(events, state(2))  # the journal is usable again
    assert journal.load() == state(2)
    journal.close()


def test_the_config_setting_reaches_the_journal(tmp_path: Path) -> None:
    from xlp_adapters.journal import open_records
    from xlp_core.config import HedgeConfig

    config = HedgeConfig.from_mapping({"journal_idle_fsync": "inline"})
    path = str(tmp_path / "x.sqlite")
    store, _audit = open_records(path, path, idle_fsync=config.journal_idle_fsync)
    assert isinstance(store, SqliteJournal)
    assert store.idle_fsync == "inline"
    store.close()
    assert HedgeConfig().journal_idle_fsync == "background"


async def test_on_an_event_loop_the_fsync_starts_when_the_loop_next_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    disk = Disk(monkeypatch)
    journal = SqliteJournal(tmp_path / "j.sqlite")
    journal.commit(idle(1), state(1))
    assert not started(journal)  # the cycle is still running: no GIL contention
    await asyncio.sleep(0)  # the loop waits: the thread is woken
    assert started(journal)
    journal.flush()
    assert disk.calls == 1
    journal.close()


def test_an_idle_connection_that_cannot_open_fails_the_commit_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second connection is opened on the first idle commit: if that fails,
    the commit is an ``AuditError`` with nothing written, and the next one retries."""
    Disk(monkeypatch)
    journal = SqliteJournal(tmp_path / "j.sqlite")
    journal.commit([ev(1, A.ORDER_RESULT)], state(1))  # not idle: the main connection
    real = sqlite3.connect

    def refuse(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    before = journal.count()
    with pytest.raises(AuditError, match="unable to open"):
        journal.commit(idle(2), state(2))
    assert journal.count() == before
    assert journal.load() == state(1)
    monkeypatch.setattr(sqlite3, "connect", real)
    journal.commit(idle(2), state(2))
    assert journal.load() == state(2)
    journal.close()
