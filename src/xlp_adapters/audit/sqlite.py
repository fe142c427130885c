"""Append-only audit log in SQLite (UPDATE and DELETE are refused by triggers)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from xlp_adapters.audit.redact import redact
from xlp_adapters.stores.sqlite import connect
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,"
    " cycle INTEGER NOT NULL, symbol TEXT, data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_kind ON events(kind, cycle)",
    "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
)


class SqliteAuditSink:
    """One committed row per event, WAL + ``synchronous=FULL``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = connect(self.path, AuditError)
        try:
            for stmt in _SCHEMA:
                self._conn.execute(stmt)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise AuditError(f"{self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteAuditSink({str(self.path)!r})"

    def append(self, event: AuditEvent) -> None:
        data = json.dumps(redact(dict(event.data)), sort_keys=True, allow_nan=False)
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO events (at, kind, cycle, symbol, data) VALUES (?, ?, ?, ?, ?)",
                    (event.at.isoformat(), event.kind, event.cycle, event.symbol, data),
                )
        except (sqlite3.Error, ValueError) as exc:
            raise AuditError(f"{self.path}: audit append failed: {exc}") from exc

    def query(
        self,
        *,
        kind: str | None = None,
        symbol: str | None = None,
        since_cycle: int | None = None,
    ) -> Iterator[AuditEvent]:
        where, args = [], []
        for clause, value in (("kind = ?", kind), ("symbol = ?", symbol)):
            if value is not None:
                where.append(clause)
                args.append(value)
        if since_cycle is not None:
            where.append("cycle >= ?")
            args.append(str(since_cycle))
        sql = "SELECT at, kind, cycle, symbol, data FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        try:
            with self._lock:
                rows: list[tuple[Any, ...]] = self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise AuditError(f"{self.path}: cannot read audit log: {exc}") from exc
        for at, k, cycle, sym, data in rows:
            yield AuditEvent(datetime.fromisoformat(at), k, int(cycle), sym, json.loads(data))

    def events(self) -> Iterator[AuditEvent]:
        return self.query()

    def last_cycle(self) -> int:
        """Highest cycle logged (reconciliation needs it at start-up, cheaply)."""
        try:
            with self._lock:
                row = self._conn.execute("SELECT MAX(cycle) FROM events").fetchone()
        except sqlite3.Error as exc:
            raise AuditError(f"{self.path}: cannot read audit log: {exc}") from exc
        return int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
