"""Durable file writes, shared by the JSON store and the JSONL audit log."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: fsync the directory entry (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file, fsync, rename over ``path``, fsync the directory.

    A crash at any point leaves either the old file or the new one, whole.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def preserve_copy(base: Path, data: bytes) -> Path:
    """Durably write ``data`` to a new file named ``base`` (or ``base.1``, ...).

    Never overwrites: each call keeps its own copy, so a second crash cannot
    erase what the first one left behind.
    """
    for n in range(10_000):
        target = base if n == 0 else base.with_name(f"{base.name}.{n}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                if written <= 0:
                    raise OSError(f"{target}: write returned {written}")
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(target.parent)
        return target
    raise FileExistsError(f"{base}: too many copies already")
