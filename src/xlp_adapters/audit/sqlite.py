"""Append-only audit log in SQLite (UPDATE and DELETE are refused by triggers)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from typing_extensions import override

from xlp_adapters._closing import Closing
from xlp_adapters._json import loads_strict
from xlp_adapters.audit.jsonl import event_data_json
from xlp_adapters.audit.redact import normalise_secrets
from xlp_adapters.stores.sqlite import AUDIT_APPLICATION_ID, open_database
from xlp_core.audit import ORDER_KINDS, AuditEvent
from xlp_core.errors import AuditError
from xlp_core.ports import AuditSink

AUDIT_TABLES = frozenset({"events"})
AUDIT_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,"
    " cycle INTEGER NOT NULL, symbol TEXT, data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_kind ON events(kind, cycle)",
    "CREATE INDEX IF NOT EXISTS events_cycle ON events(cycle)",
    "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
)

# Rows read per query round trip; the lock is released between pages, so a
# caller may append while iterating.
_PAGE = 500


_INSERT = "INSERT INTO events (at, kind, cycle, symbol, data) VALUES (?, ?, ?, ?, ?)"

Row = tuple[str, str, int, str | None, str]


class SqliteAuditSink(Closing, AuditSink):
    """One committed row per event, WAL + ``synchronous=FULL``.

    Each ``append`` is its own transaction: when it returns the row is in the
    fsynced WAL; ``append_many`` writes all its rows in one transaction. The
    table is append-only (triggers abort UPDATE and DELETE) and this class
    has no method that changes a row.
    """

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._secrets = normalise_secrets(secrets)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = open_database(
            self.path,
            application_id=AUDIT_APPLICATION_ID,
            tables=AUDIT_TABLES,
            schema=AUDIT_SCHEMA,
            corrupt=AuditError,
            failure=AuditError,
        )

    def __repr__(self) -> str:
        return f"SqliteAuditSink({str(self.path)!r})"

    @classmethod
    def attached(
        cls,
        path: Path,
        conn: sqlite3.Connection,
        lock: threading.Lock,
        *,
        secrets: Iterable[str] = (),
    ) -> SqliteAuditSink:
        """A view on a connection someone else opened and will close (the journal)."""
        self = cls.__new__(cls)
        self.path, self._conn, self._lock = path, conn, lock
        self._secrets = normalise_secrets(secrets)
        return self

    def row(self, event: AuditEvent) -> Row:
        """The event as stored (redacted, strict JSON); ``AuditError`` if it cannot be."""
        data = event_data_json(event, self._secrets)
        return (event.at.isoformat(), event.kind, event.cycle, event.symbol, data)

    @override
    def append_many(self, events: Sequence[AuditEvent]) -> None:
        rows = [self.row(e) for e in events]  # all encodable, or nothing is written
        if not rows:
            return
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(_INSERT, rows)
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except (sqlite3.Error, OverflowError) as exc:
                raise AuditError(f"{self.path}: audit append failed: {exc}") from exc

    @override
    def append(self, event: AuditEvent) -> None:
        row = self.row(event)
        with self._lock:
            conn = self._connection()
            try:
                conn.execute(_INSERT, row)
            except (sqlite3.Error, OverflowError) as exc:
                raise AuditError(f"{self.path}: audit append failed: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise AuditError(f"{self.path}: audit log is closed")
        return self._conn

    def query(
        self,
        *,
        kind: str | None = None,
        symbol: str | None = None,
        since_cycle: int | None = None,
        until_cycle: int | None = None,
    ) -> Iterator[AuditEvent]:
        """Events matching every given filter, oldest first (cycles inclusive)."""
        where = ["seq > ?"]
        args: list[object] = []
        for clause, value in (
            ("kind = ?", kind),
            ("symbol = ?", symbol),
            ("cycle >= ?", since_cycle),
            ("cycle <= ?", until_cycle),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        # Only the constant clauses above are joined in; every value is a parameter.
        sql = (
            "SELECT seq, at, kind, cycle, symbol, data FROM events"  # noqa: S608
            f" WHERE {' AND '.join(where)} ORDER BY seq LIMIT {_PAGE}"
        )
        return self._pages(sql, args)

    def _pages(self, sql: str, args: list[object]) -> Iterator[AuditEvent]:
        last = 0
        while True:
            rows = self._read(sql, (last, *args))
            for seq, at, kind, cycle, symbol, data in rows:
                try:
                    yield AuditEvent.from_dict(
                        {
                            "at": at,
                            "kind": kind,
                            "cycle": cycle,
                            "symbol": symbol,
                            "data": loads_strict(data),
                        }
                    )
                except (ValueError, TypeError) as exc:
                    raise AuditError(f"{self.path}: event {seq} is corrupt: {exc}") from exc
                last = seq
            if len(rows) < _PAGE:
                return

    def _read(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._conn is None:
                raise AuditError(f"{self.path}: audit log is closed")
            try:
                return list(self._conn.execute(sql, args).fetchall())
            except (sqlite3.Error, OverflowError) as exc:
                raise AuditError(f"{self.path}: cannot read audit log: {exc}") from exc

    @override
    def events(self) -> Iterator[AuditEvent]:
        return self.query()

    def order_events(self) -> Iterator[AuditEvent]:
        """Only the order records, oldest first: start-up needs these, not the decisions."""
        marks = ", ".join("?" * len(ORDER_KINDS))
        sql = (
            "SELECT seq, at, kind, cycle, symbol, data FROM events"  # noqa: S608
            f" WHERE seq > ? AND kind IN ({marks}) ORDER BY seq LIMIT {_PAGE}"
        )
        return self._pages(sql, list(ORDER_KINDS))

    def last_cycle(self) -> int:
        """Highest cycle logged, 0 if none (reconciliation needs it at start-up, cheaply)."""
        rows = self._read("SELECT MAX(cycle) FROM events", ())
        value = rows[0][0] if rows else None
        return int(value or 0)

    def count(self) -> int:
        """Number of events logged."""
        rows = self._read("SELECT COUNT(*) FROM events", ())
        return int(rows[0][0])

    @override
    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
