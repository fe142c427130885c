"""The WAL fsync of an idle cycle's commit, on a thread of its own.

An idle cycle's commit (no order record in it) is written with
``synchronous=NORMAL`` and fsynced here right after, while the next cycle
waits on the network; see docs/safety.md, "One durable write per cycle".
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path

from xlp_core.errors import AuditError

log = logging.getLogger("xlp_adapters.journal")

_fsync = getattr(os, "fdatasync", os.fsync)  # the sync SQLite itself uses on Linux


class WalSyncer:
    """Fsyncs ``<db>-wal`` after each :meth:`request`; several requests may share one fsync.

    A failed fsync is kept: :meth:`check` (called before every later write)
    raises it from then on, so no order is sent after a write the disk may
    have lost (after a failed fsync Linux may report the next one clean).
    """

    def __init__(self, db_path: Path) -> None:
        self.wal_path = Path(f"{db_path}-wal")
        self._cond = threading.Condition()
        self._requested = 0  # generation of the last request
        self._synced = 0  # generation covered by the last finished fsync
        self._failure: str | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        """A commit was written without an fsync: sync it soon (does not wait).

        Called on an event loop (a hedge cycle), the thread is woken when the
        loop next waits: woken at once, it would take the GIL back and forth
        while the cycle finishes, each handover a context switch.
        """
        with self._cond:
            if self._closed:
                raise AuditError(f"{self.wal_path}: journal is closed")
            self._requested += 1
        try:
            asyncio.get_running_loop().call_soon(self._wake)
        except RuntimeError:  # no loop in this thread
            self._wake()

    def _wake(self) -> None:
        with self._cond:
            pending = self._requested > self._synced
            if self._thread is None and pending and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name=f"xlp-walsync-{self.wal_path.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def check(self) -> None:
        """Raise ``AuditError`` if a background fsync has failed."""
        if self._failure is not None:
            raise AuditError(f"{self.wal_path}: {self._failure}")

    def flush(self) -> None:
        """Wait until every requested commit is on disk; raise if it cannot be."""
        self._wake()
        with self._cond:
            target = self._requested
            while self._synced < target and self._failure is None:
                self._cond.wait()
        self.check()

    def close(self) -> None:
        """Finish the pending fsync and stop the thread (idempotent)."""
        self._wake()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._synced == self._requested and not self._closed:
                    self._cond.wait()
                if self._synced == self._requested:  # closed, nothing pending
                    return
                target = self._requested
            failure = self._sync_once()
            with self._cond:
                if failure is not None and self._failure is None:
                    self._failure = failure
                    log.error("%s: %s", self.wal_path, failure)
                self._synced = target
                self._cond.notify_all()

    def _sync_once(self) -> str | None:
        try:
            fd = os.open(self.wal_path, os.O_RDWR)
        except FileNotFoundError:
            return None  # checkpointed and removed: the database file holds it
        except OSError as exc:
            return f"background fsync failed: cannot open the WAL: {exc}"
        try:
            _fsync(fd)
        except OSError as exc:
            return f"background fsync failed: {exc}"
        finally:
            os.close(fd)
        return None
