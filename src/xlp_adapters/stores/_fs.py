"""Durable file writes, shared by the JSON store and the JSONL audit log."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger("xlp_adapters.stores")


def temp_path(path: Path) -> Path:
    """Where :func:`atomic_write` stages ``path`` (one name per writing process)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own temp is only ever in flight inside atomic_write
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True


def remove_leftover_temps(path: Path, *, locked: bool = True) -> list[Path]:
    """Delete ``.NAME.tmp-PID`` files a kill mid-write left beside ``path``.

    With ``locked`` (the caller holds the state lock) no other process
    writes this state, so every such file is a dead writer's whatever its
    pid says (pids are reused). Without the lock only files whose pid is not
    a live process are removed. Either way such a file holds nothing the
    real file lacks: the rename that would have published it never happened.
    """
    removed: list[Path] = []
    for name in (path.name, path.name + ".bak"):
        for leftover in path.parent.glob(f".{name}.tmp-*"):
            pid = leftover.name.removeprefix(f".{name}.tmp-")
            if not pid.isdigit() or (not locked and _alive(int(pid))):
                continue
            try:
                leftover.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("%s: cannot remove leftover temp file: %s", leftover, exc)
                continue
            removed.append(leftover)
    if removed:
        log.warning("%s: removed %d leftover temp file(s) of a killed write", path, len(removed))
    return removed


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: fsync the directory entry (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write to a temp file, fsync, rename over ``path``, fsync the directory.

    A crash at any point leaves either the old file or the new one, whole.
    ``durable=False`` skips both fsyncs, for a copy whose data is durable
    elsewhere (after a power cut the file may then be old or empty).
    """
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
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
