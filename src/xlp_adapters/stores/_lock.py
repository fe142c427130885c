"""One hedger per state: an exclusive, non-blocking lock beside the state.

Two hedgers on one state replay the same cycle numbers and serials, so they
send the same client order ids on one account. Every durable store therefore
takes ``flock(LOCK_EX | LOCK_NB)`` on a sidecar ``<path>.lock`` when it opens
and holds it until ``close()`` or process death (the kernel drops an
``flock`` with its last descriptor, so a SIGKILLed holder never leaves a
stale lock). The sidecar, not the state file, is locked because the JSON
store replaces its file by rename and SQLite's own POSIX locks would be
released by any other descriptor on the database being closed.

The file records the holder's pid so the refusal can name it. ``flock``
locks belong to an open file description, so a second store object in the
same process is refused too.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from xlp_core.errors import StateError, StateLockedError


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


class StateLock:
    """Held from construction until :meth:`release`; ``StateLockedError`` if taken."""

    def __init__(self, path: Path) -> None:
        self.path = lock_path(path)
        self._fd: int | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise StateError(f"{path}: cannot create lock file {self.path}: {exc}") from exc
        try:
            if not _try_lock(fd):
                holder = _read_pid(fd)
                who = f"pid {holder}" if holder is not None else "another process"
                raise StateLockedError(
                    f"state {path} is in use by {who} (one hedger per state)", holder_pid=holder
                )
            mark = f"{os.getpid()}\n".encode()
            os.pwrite(fd, mark, 0)  # then cut: a reader never sees an empty file
            os.ftruncate(fd, len(mark))
        except OSError as exc:
            os.close(fd)
            raise StateError(f"{path}: cannot lock {self.path}: {exc}") from exc
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Idempotent. The file stays (unlinking it would race a new opener)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        self.release()


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - no flock; documented as POSIX only
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0)
    except OSError:
        return None
    text = raw.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
