"""State and audit in one SQLite file: ``commit`` is one transaction."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from typing_extensions import override

from xlp_adapters._closing import Closing
from xlp_adapters.audit.sqlite import AUDIT_SCHEMA, AUDIT_TABLES, Row, SqliteAuditSink
from xlp_adapters.journal._checkpoint import FALLBACK_PAGES, Checkpointer
from xlp_adapters.journal._walsync import WalSyncer
from xlp_adapters.stores._lock import StateLock
from xlp_adapters.stores.json_file import encode_checked
from xlp_adapters.stores.sqlite import (
    JOURNAL_APPLICATION_ID,
    STATE_SCHEMA,
    STATE_TABLES,
    SqliteStateStore,
    open_database,
)
from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.config import IdleFsync, check_idle_fsync
from xlp_core.errors import AuditError, StateCorruptError, StateError
from xlp_core.ports import Journal
from xlp_core.state import HedgeState


class SqliteJournal(Closing, Journal):
    """One file (``application_id`` "XLPJ") with the ``state`` and ``events`` tables.

    WAL mode with ``synchronous=FULL``: ``commit``, ``append``,
    ``append_many`` and ``save`` are each one transaction and one fsync, and
    return once their WAL frames are on disk. The one exception is the commit
    of an idle cycle (only ``cycle_start``, ``decisions`` and ``cycle_end``
    events) with ``idle_fsync="background"`` (the default): it goes through a
    second connection set to ``synchronous=NORMAL``, returns once written,
    safe from a crash of the process, and its fsync runs on a thread right
    after, while the next cycle waits on the network. The WAL is one
    append-only file, so the fsync of any later write (an order's write-ahead
    record first of all) covers it too; a failed background fsync makes every
    later write raise ``AuditError``. :meth:`flush` waits for it;
    ``idle_fsync="inline"`` fsyncs idle commits before returning as well.

    The journal holds ``<name>.lock`` while open, like every state store:
    a second opener gets ``StateLockedError``. ``query``, ``history``,
    ``load_cycle``, ``last_cycle`` and ``count`` work as on the separate
    SQLite store and sink. A failed ``commit`` raises ``AuditError`` and
    leaves neither its events nor its state behind.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keep: int = 100,
        secrets: Iterable[str] = (),
        idle_fsync: IdleFsync = "background",
    ) -> None:
        check_idle_fsync(idle_fsync, "idle_fsync")
        self.path = Path(path)
        self.idle_fsync = idle_fsync
        self._lock = threading.Lock()
        self._state_lock: StateLock | None = StateLock(self.path)
        try:
            conn = open_database(
                self.path,
                application_id=JOURNAL_APPLICATION_ID,
                tables=STATE_TABLES | AUDIT_TABLES,
                schema=(*STATE_SCHEMA, *AUDIT_SCHEMA),
                corrupt=StateCorruptError,
                failure=StateError,
                quick_check=True,
            )
        except BaseException:
            self._state_lock.release()
            raise
        with contextlib.suppress(sqlite3.Error):  # a tuning knob: the default is safe too
            conn.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
        self._conn: sqlite3.Connection | None = conn
        self._idle_conn: sqlite3.Connection | None = None
        self._checkpointer = Checkpointer(self.path)
        self._syncer = WalSyncer(self.path)
        self.store = SqliteStateStore.attached(self.path, conn, self._lock, keep=keep)
        self.audit = SqliteAuditSink.attached(self.path, conn, self._lock, secrets=secrets)

    def __repr__(self) -> str:
        return f"SqliteJournal({str(self.path)!r})"

    # --- the one write per cycle ---------------------------------------------

    @override
    def commit(self, events: Sequence[AuditEvent], state: HedgeState) -> None:
        rows = [self.audit.row(e) for e in events]  # refuse before writing anything
        body, loaded = encode_checked(state)
        idle = self.idle_fsync == "background" and all(e.kind in _IDLE_KINDS for e in events)
        with self._lock:
            conn = self._conn
            if conn is None:
                raise AuditError(f"{self.path}: journal is closed")
            self._syncer.check()
            self.store.forget()
            try:
                self._transaction(self._idle_connection() if idle else conn, rows, state, body)
                self.store.remember(conn, loaded)
                self._checkpointer.committed()
            except (sqlite3.Error, OverflowError) as exc:
                raise AuditError(f"{self.path}: journal commit failed: {exc}") from exc
            if idle:
                self._syncer.request()

    def _idle_connection(self) -> sqlite3.Connection:
        """The connection idle commits go through: ``synchronous=NORMAL`` (fsynced
        by the syncer), opened on the first one. Every other write uses the
        ``FULL`` one, so no write can ever find the wrong setting left behind."""
        if self._idle_conn is None:
            conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            try:
                conn.execute("PRAGMA synchronous=NORMAL")
            except BaseException:
                conn.close()
                raise
            self._idle_conn = conn
        return self._idle_conn

    def _transaction(
        self, conn: sqlite3.Connection, rows: list[Row], state: HedgeState, body: str
    ) -> None:
        """One transaction; rolled back on any failure, ``COMMIT`` included (a busy one)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO events (at, kind, cycle, symbol, data) VALUES (?, ?, ?, ?, ?)", rows
            )
            self.store.insert(conn, state, body)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def flush(self) -> None:
        """Wait until every commit is on disk (idle commits are fsynced in the background)."""
        self._syncer.flush()

    # --- StateStore and AuditSink --------------------------------------------

    @override
    def load(self) -> HedgeState | None:
        return self.store.load()

    @override
    def save(self, state: HedgeState) -> None:
        self._syncer.check()
        self.store.save(state)

    @override
    def append(self, event: AuditEvent) -> None:
        self._syncer.check()
        self.audit.append(event)

    @override
    def append_many(self, events: Sequence[AuditEvent]) -> None:
        self._syncer.check()
        self.audit.append_many(events)

    @override
    def events(self) -> Iterator[AuditEvent]:
        return self.audit.events()

    def query(
        self,
        *,
        kind: str | None = None,
        symbol: str | None = None,
        since_cycle: int | None = None,
        until_cycle: int | None = None,
    ) -> Iterator[AuditEvent]:
        return self.audit.query(
            kind=kind, symbol=symbol, since_cycle=since_cycle, until_cycle=until_cycle
        )

    def history(self, limit: int = 10) -> list[HedgeState]:
        return self.store.history(limit)

    def load_cycle(self, cycle: int) -> HedgeState | None:
        return self.store.load_cycle(cycle)

    def order_events(self) -> Iterator[AuditEvent]:
        return self.audit.order_events()

    def last_cycle(self) -> int:
        return self.audit.last_cycle()

    def count(self) -> int:
        return self.audit.count()

    @override
    def close(self) -> None:
        self._syncer.close()
        self._checkpointer.close()
        with self._lock:
            conn, self._conn = self._conn, None
            idle_conn, self._idle_conn = self._idle_conn, None
            held, self._state_lock = self._state_lock, None
            self.store._conn = None
            self.audit._conn = None
        try:
            for c in (idle_conn, conn):
                if c is not None:
                    c.close()
        finally:
            if held is not None:
                held.release()


_IDLE_KINDS = frozenset({A.CYCLE_START, A.DECISIONS, A.CYCLE_END})
"""A commit of only these events records observations: no order, cancel or lookup."""
