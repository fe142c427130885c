"""State snapshots in SQLite: one transaction per save, recent history kept.

Also :func:`open_database`, shared with the SQLite audit sink: it refuses a
file that is not SQLite, or that belongs to something else, before writing a
single byte to it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import attrs
from typing_extensions import override

from xlp_adapters._closing import Closing
from xlp_adapters.stores._lock import StateLock
from xlp_adapters.stores.json_file import decode_state, encode_checked
from xlp_core.errors import ConfigError, StateCorruptError, StateError, XlpError
from xlp_core.ports import StateStore
from xlp_core.state import HedgeState

log = logging.getLogger("xlp_adapters.stores")

SQLITE_MAGIC = b"SQLite format 3\x00"

# ``PRAGMA application_id`` marks what a database holds, so pointing the state
# store at the audit log (or the reverse) is refused instead of mixing them.
STATE_APPLICATION_ID = 0x584C5053  # "XLPS"
AUDIT_APPLICATION_ID = 0x584C5041  # "XLPA"
JOURNAL_APPLICATION_ID = 0x584C504A  # "XLPJ"
_KINDS = {
    STATE_APPLICATION_ID: "state store",
    AUDIT_APPLICATION_ID: "audit log",
    JOURNAL_APPLICATION_ID: "journal",
}

SCHEMA_VERSION = 1

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def is_corruption(exc: BaseException) -> bool:
    """True for SQLite's "malformed" and "not a database" errors (not for locks, I/O...)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def check_sqlite_file(path: Path, corrupt: type[XlpError], failure: type[XlpError]) -> None:
    """Refuse a non-empty file without the SQLite header (and never touch it)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise failure(f"{path}: cannot read: {exc}") from exc
    if head and head != SQLITE_MAGIC:
        raise corrupt(f"{path}: not an SQLite database; refusing to open it")


def open_database(
    path: Path,
    *,
    application_id: int,
    tables: frozenset[str],
    schema: Sequence[str],
    corrupt: type[XlpError],
    failure: type[XlpError],
    quick_check: bool = False,
) -> sqlite3.Connection:
    """Open (or create) one of our databases in WAL mode with ``synchronous=FULL``.

    Everything is checked read-only first: the header, the application id,
    the schema version, the table names and (if asked) ``PRAGMA quick_check``.
    Only then is the journal mode set and the schema created, in one
    transaction. ``corrupt`` is raised for unusable content, ``failure`` for
    anything else (permissions, locks, I/O).
    """
    what = _KINDS.get(application_id, "database")
    check_sqlite_file(path, corrupt, failure)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise failure(f"{path}: cannot create directory: {exc}") from exc
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
    except sqlite3.Error as exc:
        raise failure(f"{path}: cannot open SQLite database: {exc}") from exc
    try:
        _check_identity(conn, path, application_id, tables, what, corrupt)
        if quick_check:
            rows = conn.execute("PRAGMA quick_check").fetchall()
            if [tuple(r) for r in rows] != [("ok",)]:
                found = "; ".join(str(r[0]) for r in rows[:5])
                raise corrupt(f"{path}: SQLite integrity check failed: {found}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in schema:
                conn.execute(stmt)
            conn.execute(f"PRAGMA application_id={int(application_id)}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except XlpError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        kind = corrupt if is_corruption(exc) else failure
        raise kind(f"{path}: cannot open {what}: {exc}") from exc
    return conn


def _check_identity(
    conn: sqlite3.Connection,
    path: Path,
    application_id: int,
    tables: frozenset[str],
    what: str,
    corrupt: type[XlpError],
) -> None:
    found_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    names = {
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    if found_id not in (0, application_id):
        other = _KINDS.get(found_id)
        if other is not None:
            raise corrupt(f"{path}: is an xlp {other}, not a {what}; refusing to use it")
        raise corrupt(f"{path}: not an xlp {what} (application_id={found_id}); refusing it")
    if found_id == 0 and names - tables:
        strange = ", ".join(sorted(names - tables))
        raise corrupt(f"{path}: holds tables that are not a {what}'s ({strange}); refusing it")
    if version not in (0, SCHEMA_VERSION):
        raise corrupt(
            f"{path}: {what} schema version {version} is not {SCHEMA_VERSION}"
            " (written by another xlp-core version?)"
        )


STATE_TABLES = frozenset({"state", "state_corrupt"})
STATE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS state ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " cycle INTEGER NOT NULL, saved_at TEXT, body TEXT NOT NULL)",
    # Rows that no longer parse are moved here rather than pruned.
    "CREATE TABLE IF NOT EXISTS state_corrupt ("
    " seq INTEGER PRIMARY KEY, cycle, saved_at, body, moved_at TEXT NOT NULL, reason TEXT)",
)


def check_keep(keep: int) -> int:
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ConfigError("keep", f"must be an integer >= 1, got {keep!r}")
    return keep


class SqliteStateStore(Closing, StateStore):
    """One row per save (with its cycle), in one transaction; the newest row wins.

    The last ``keep`` snapshots are kept (``history``, ``load_cycle``). A
    row that does not parse is an error when loaded and, when pruning would
    reach it, is moved to the ``state_corrupt`` table instead of deleted.

    Opening takes the exclusive ``<name>.lock`` (see the JSON store): SQLite's
    own locking serialises writes but would let two hedgers take turns.
    """

    def __init__(self, path: str | os.PathLike[str], *, keep: int = 100) -> None:
        self.path = Path(path)
        self.keep = check_keep(keep)
        self._lock = threading.Lock()
        self._state_lock: StateLock | None = StateLock(self.path)
        try:
            conn = open_database(
                self.path,
                application_id=STATE_APPLICATION_ID,
                tables=STATE_TABLES,
                schema=STATE_SCHEMA,
                corrupt=StateCorruptError,
                failure=StateError,
                quick_check=True,
            )
        except BaseException:
            self._state_lock.release()
            raise
        self._conn: sqlite3.Connection | None = conn
        self._remembered: tuple[int, HedgeState] | None = None
        self._own_from: int | None = None
        self._older_pruning = self._older_gone = False

    @classmethod
    def attached(
        cls, path: Path, conn: sqlite3.Connection, lock: threading.Lock, *, keep: int
    ) -> SqliteStateStore:
        """A view on a connection someone else opened, locked and will close (the journal)."""
        self = cls.__new__(cls)
        self.path, self.keep, self._lock = path, check_keep(keep), lock
        self._state_lock, self._conn = None, conn
        self._remembered, self._own_from = None, None
        self._older_pruning = self._older_gone = False
        return self

    def __repr__(self) -> str:
        return f"SqliteStateStore({str(self.path)!r}, keep={self.keep})"

    def _error(self, exc: sqlite3.Error, doing: str) -> StateError:
        kind = StateCorruptError if is_corruption(exc) else StateError
        return kind(f"{self.path}: cannot {doing}: {exc}")

    def _fetch(self, sql: str, args: tuple[object, ...]) -> list[tuple[int, object]]:
        with self._lock:
            if self._conn is None:
                raise StateError(f"{self.path}: state store is closed")
            try:
                return [(int(r[0]), r[1]) for r in self._conn.execute(sql, args).fetchall()]
            except sqlite3.Error as exc:
                raise self._error(exc, "read state") from exc

    def _parse(self, seq: int, body: object) -> HedgeState:
        if not isinstance(body, str | bytes):
            raise StateCorruptError(f"{self.path} row {seq}: body is {type(body).__name__}")
        return decode_state(body, f"{self.path} row {seq}")

    @override
    def load(self) -> HedgeState | None:
        remembered = self._recall()
        if remembered is not None:
            return remembered
        rows = self._fetch("SELECT seq, body FROM state ORDER BY seq DESC LIMIT 1", ())
        return self._parse(*rows[0]) if rows else None

    def remember(self, conn: sqlite3.Connection, state: HedgeState) -> None:
        """Note the state just committed (as ``load`` would parse it), under the lock.

        ``load`` then returns it without a read and a parse for as long as
        ``PRAGMA data_version`` says no other connection has written the file.
        Called after each successful commit: a prune of the last rows older
        than this store's own is now durable too.
        """
        self._older_gone = self._older_gone or self._older_pruning
        try:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            self._remembered = None
            return
        self._remembered = (version, state)

    def forget(self) -> None:
        """Drop the remembered state (before any write, so a failed one leaves none)."""
        self._remembered = None

    def _recall(self) -> HedgeState | None:
        with self._lock:
            remembered, conn = self._remembered, self._conn
            if remembered is None or conn is None:
                return None
            try:
                version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                version = None
            if version != remembered[0]:
                self._remembered = None
                return None
        state = remembered[1]
        return attrs.evolve(state, symbols=dict(state.symbols))  # the caller's own dict

    def history(self, limit: int = 10) -> list[HedgeState]:
        """Up to ``limit`` snapshots, newest first."""
        rows = self._fetch("SELECT seq, body FROM state ORDER BY seq DESC LIMIT ?", (limit,))
        return [self._parse(seq, body) for seq, body in rows]

    def load_cycle(self, cycle: int) -> HedgeState | None:
        """The last snapshot saved for ``cycle``, if still kept."""
        rows = self._fetch(
            "SELECT seq, body FROM state WHERE cycle = ? ORDER BY seq DESC LIMIT 1", (cycle,)
        )
        return self._parse(*rows[0]) if rows else None

    @override
    def save(self, state: HedgeState) -> None:
        body, loaded = encode_checked(state)
        with self._lock:
            conn = self._conn
            if conn is None:
                raise StateError(f"{self.path}: state store is closed")
            self.forget()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self.insert(conn, state, body)
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                self.remember(conn, loaded)
            except OverflowError as exc:
                raise StateError(f"{self.path}: cycle {state.cycle} out of range") from exc
            except sqlite3.Error as exc:
                raise self._error(exc, "save state") from exc

    def insert(self, conn: sqlite3.Connection, state: HedgeState, body: str) -> None:
        """Add a snapshot and prune, inside the caller's transaction and lock."""
        saved_at = state.updated_at.isoformat() if state.updated_at else None
        cur = conn.execute(
            "INSERT INTO state (cycle, saved_at, body) VALUES (?, ?, ?)",
            (state.cycle, saved_at, body),
        )
        seq = int(cur.lastrowid or 0)
        if self._own_from is None:
            self._own_from = seq
        self._prune(conn, seq - self.keep)

    def _prune(self, conn: sqlite3.Connection, cutoff: int) -> None:
        # Rows this store wrote were checked before writing (``encode_checked``):
        # only older ones (another run's) are parsed before they go.
        # Once the cutoff has passed them, no older rows are left to look at:
        # the SELECT is skipped from then on (one statement less per commit).
        own = self._own_from if self._own_from is not None else cutoff + 1
        doomed = (
            conn.execute(
                "SELECT seq, cycle, saved_at, body FROM state WHERE seq <= ? AND seq < ?",
                (cutoff, own),
            ).fetchall()
            if not self._older_gone
            else []
        )
        for seq, cycle, saved_at, body in doomed:
            try:
                self._parse(seq, body)
            except StateCorruptError as exc:
                conn.execute(
                    "INSERT INTO state_corrupt"
                    " (seq, cycle, saved_at, body, moved_at, reason)"
                    " VALUES (?, ?, ?, ?, datetime('now'), ?)",
                    (seq, cycle, saved_at, body, str(exc)),
                )
                log.warning("%s: corrupt state row %d kept in state_corrupt", self.path, seq)
        conn.execute("DELETE FROM state WHERE seq <= ?", (cutoff,))
        self._older_pruning = cutoff >= own - 1  # true once committed (``remember``)

    @override
    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            held, self._state_lock = self._state_lock, None
        try:
            if conn is not None and held is not None:
                conn.close()
        finally:
            if held is not None:
                held.release()
