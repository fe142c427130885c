"""WAL checkpoints off the commit path, on a thread of their own."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("xlp_adapters.journal")

FALLBACK_PAGES = 8192
"""``wal_autocheckpoint`` for the journal's own connection (SQLite's default is 1000)."""


class Checkpointer:
    """Copies the journal's WAL into its database file between commits.

    Durability does not depend on it: with ``synchronous=FULL`` a commit is
    durable once its WAL frames are fsynced. SQLite's automatic checkpoint
    would do the copy (and an fsync of the database file, tens of
    milliseconds on a busy disk) inside every ~70th commit, that is inside
    a hedge cycle; here it runs on a thread, right after a commit, while the
    next cycle waits on the network. SQLite's own automatic checkpoint stays
    on with a higher threshold (``FALLBACK_PAGES``), so the WAL stays bounded
    should that thread fall behind or fail.
    """

    def __init__(self, path: Path, *, every: int = 16) -> None:
        self.path, self.every = path, every
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending = 0  # commits since the last completed checkpoint
        self._closed = False
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """Called (under the journal's lock) after each commit."""
        with self._lock:
            self._pending += 1
            pending, closed = self._pending, self._closed
        if pending < self.every or closed:
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"xlp-checkpoint-{self.path.name}", daemon=True
            )
            self._thread.start()
        self._wake.set()

    def _checkpoint(self, conn: sqlite3.Connection, pending: int) -> bool:
        try:
            busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            log.warning("%s: WAL checkpoint failed: %s", self.path, exc)
            return False
        if busy or done < frames:
            return False
        with self._lock:
            self._pending -= min(pending, self._pending)
        return True

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            log.warning("%s: cannot open a checkpoint connection: %s", self.path, exc)
            return
        try:
            conn.execute("PRAGMA synchronous=FULL")
            while True:
                self._wake.wait()
                self._wake.clear()
                with self._lock:
                    if self._closed:
                        return
                    pending = self._pending
                self._checkpoint(conn, pending)
        except sqlite3.Error as exc:
            log.warning("%s: checkpoint thread stopped: %s", self.path, exc)
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the thread (its connection closes before the journal's)."""
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
