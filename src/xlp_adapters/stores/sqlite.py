"""State snapshots in SQLite: one transaction per save, recent history kept."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

from xlp_core.errors import StateCorruptError, StateError
from xlp_core.state import HedgeState, state_from_dict, state_to_dict

SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"


def check_sqlite_file(path: Path, error: type[Exception]) -> None:
    """Refuse to open something that is not SQLite (and never touch it)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc}") from exc
    if head and head != SQLITE_MAGIC:
        raise error(f"{path}: not an SQLite database; refusing to open it")


def connect(path: Path, error: type[Exception]) -> sqlite3.Connection:
    check_sqlite_file(path, error)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    except sqlite3.DatabaseError as exc:
        raise error(f"{path}: cannot open SQLite database: {exc}") from exc
    return conn


class SqliteStateStore:
    """Each save is one row (keyed by cycle) in one transaction; the newest wins."""

    def __init__(self, path: str | os.PathLike[str], *, keep: int = 100) -> None:
        self.path = Path(path)
        self.keep = keep
        self._lock = threading.Lock()
        self._conn = connect(self.path, StateCorruptError)
        try:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StateCorruptError(f"{self.path}: unknown schema version {version}")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS state ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " cycle INTEGER NOT NULL, saved_at TEXT, body TEXT NOT NULL)"
            )
            self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StateCorruptError(f"{self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteStateStore({str(self.path)!r})"

    def _rows(self, limit: int) -> list[tuple[int, str]]:
        try:
            with self._lock:
                cur = self._conn.execute(
                    "SELECT seq, body FROM state ORDER BY seq DESC LIMIT ?", (limit,)
                )
                return list(cur.fetchall())
        except sqlite3.DatabaseError as exc:
            raise StateCorruptError(f"{self.path}: {exc}") from exc

    @staticmethod
    def _parse(seq: int, body: str, path: Path) -> HedgeState:
        try:
            return state_from_dict(json.loads(body))
        except (ValueError, StateCorruptError) as exc:
            raise StateCorruptError(f"{path} row {seq}: {exc}") from exc

    def load(self) -> HedgeState | None:
        rows = self._rows(1)
        return self._parse(*rows[0], self.path) if rows else None

    def history(self, limit: int = 10) -> list[HedgeState]:
        return [self._parse(seq, body, self.path) for seq, body in self._rows(limit)]

    def save(self, state: HedgeState) -> None:
        body = json.dumps(state_to_dict(state), sort_keys=True, allow_nan=False)
        saved = state.updated_at.isoformat() if state.updated_at else None
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.execute(
                        "INSERT INTO state (cycle, saved_at, body) VALUES (?, ?, ?)",
                        (state.cycle, saved, body),
                    )
                    self._conn.execute(
                        "DELETE FROM state WHERE seq <= (SELECT MAX(seq) FROM state) - ?",
                        (self.keep,),
                    )
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{self.path}: cannot save state: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
