"""Append-only JSON-lines audit log, fsynced per event.

This module also holds the event codec the other sinks share, so that every
sink stores (and refuses) exactly the same things: a memory sink in a test
fails where the file would have failed in production.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import attrs
from typing_extensions import override

from xlp_adapters._closing import Closing
from xlp_adapters._json import dumps_fast, loads_strict
from xlp_adapters.audit.redact import normalise_secrets, redact
from xlp_adapters.stores._fs import fsync_dir, preserve_copy
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError
from xlp_core.ports import AuditSink

log = logging.getLogger("xlp_adapters.audit")

_CHUNK = 64 * 1024


# --- codec -------------------------------------------------------------------


def redacted(event: AuditEvent, secrets: tuple[str, ...] = ()) -> AuditEvent:
    """The event as a sink stores it: checked, and with its data redacted."""
    check_event(event)
    return attrs.evolve(event, data=redact(event.data, secrets))


def check_event(event: AuditEvent) -> None:
    """``AuditError`` unless ``event`` is an ``AuditEvent`` a sink can store."""
    if not isinstance(event, AuditEvent):
        raise AuditError(f"not an AuditEvent: {type(event).__name__}")
    if not isinstance(event.at, datetime):
        raise AuditError(f"audit event 'at' must be a datetime, got {event.at!r}")
    if not isinstance(event.kind, str) or not event.kind:
        raise AuditError(f"audit event kind must be a non-empty string, got {event.kind!r}")
    if isinstance(event.cycle, bool) or not isinstance(event.cycle, int):
        raise AuditError(f"audit event cycle must be an integer, got {event.cycle!r}")
    if event.symbol is not None and not isinstance(event.symbol, str):
        raise AuditError(f"audit event symbol must be a string, got {event.symbol!r}")
    if not isinstance(event.data, Mapping):
        raise AuditError(f"audit event data must be a mapping, got {type(event.data).__name__}")


def data_to_json(obj: Any) -> str:
    """Strict JSON: NaN, infinities and non-JSON objects are an ``AuditError``."""
    try:
        return dumps_fast(obj, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise AuditError(f"audit event data is not JSON-serialisable: {exc}") from exc


def event_to_json(event: AuditEvent, secrets: tuple[str, ...] = ()) -> str:
    """One line of the log (no newline), redacted; ``AuditError`` if it cannot be written."""
    check_event(event)
    head = {
        "at": event.at.isoformat(),
        "kind": event.kind,
        "cycle": event.cycle,
        "symbol": event.symbol,
    }
    return _scrubbed_json(lambda s: {**head, "data": redact(event.data, s)}, secrets)


def event_data_json(event: AuditEvent, secrets: tuple[str, ...] = ()) -> str:
    """The JSON of ``redacted(event, secrets).data``, checked like :func:`event_to_json`."""
    check_event(event)
    return _scrubbed_json(lambda s: redact(event.data, s), secrets)


def _scrubbed_json(build: Callable[[tuple[str, ...]], Any], secrets: tuple[str, ...]) -> str:
    """``data_to_json(build(secrets))``, looking for the secrets once, in the text.

    ``build`` redacts with the secrets it is given: secret keys are masked
    either way, and the secrets only change strings holding one. A secret
    with nothing JSON escapes shows as it is in the text of any string
    holding it, so a text without any is already the answer: one substring
    search per secret instead of one per string. Otherwise (or for a secret
    with escaped characters) it is built and written again with them.
    """
    text = data_to_json(build(()))
    if secrets and (not _verbatim(secrets) or any(secret in text for secret in secrets)):
        text = data_to_json(build(secrets))
    return text


@functools.lru_cache(maxsize=64)
def _verbatim(secrets: tuple[str, ...]) -> bool:
    """True if no secret has a character JSON text escapes (either writer): all of
    them printable ASCII without ``"`` or ``\\``."""
    return all(" " <= c <= "~" and c not in '"\\' for secret in secrets for c in secret)


def event_from_json(text: str | bytes) -> AuditEvent:
    """Parse one line; ``ValueError`` (including JSON and UTF-8 errors) if unusable."""
    return AuditEvent.from_dict(loads_strict(text))


# --- the sink ----------------------------------------------------------------


class JsonlAuditSink(Closing, AuditSink):
    """One event per line; ``append`` returns only once the line is on disk.

    A crash mid-write can leave a torn last line. Reading skips it and sets
    ``torn_tail``. Opening the log repairs it before anything is appended, so
    a new event never follows garbage: a tail that is a whole event missing
    only its newline gets the newline; anything else is copied (fsynced) to
    ``<name>.torn-<offset>`` (see ``tail_set_aside``) and cut off the log.
    Corruption anywhere else is an ``AuditError`` naming the line, never
    skipped.

    A failed write is cut back off the log, so the next event starts on a
    fresh line; a failed fsync leaves the sink refusing every append until it
    is reopened (after a failed fsync the kernel may have dropped the data, and
    a second fsync can report success without writing it).

    One writer per file, enforced on POSIX with an advisory ``flock``: a
    second writer would take the first one's line in flight for a torn tail
    (and two writers on one log usually means two hedgers on one account).
    Reading with ``events`` needs no lock. ``fsync=False`` (backtests only)
    gives up durability: ``append`` may then return before the event is on
    disk.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = True,
        secrets: Iterable[str] = (),
    ) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.torn_tail = False
        self.tail_set_aside: Path | None = None
        self._secrets = normalise_secrets(secrets)
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._fd: int | None = None
        try:
            self._fd = self._open()
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot open audit log: {exc}") from exc

    def __repr__(self) -> str:
        return f"JsonlAuditSink({str(self.path)!r})"

    # --- opening -------------------------------------------------------------

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o644)
            created = True
        except FileExistsError:
            fd = os.open(self.path, flags)
            created = False
        try:
            if not _lock_exclusive(fd):
                raise AuditError(
                    f"{self.path}: audit log is open for writing elsewhere"
                    " (another hedger on the same log?)"
                )
            if created:
                if self.fsync:  # a new file is only durable once its directory entry is
                    fsync_dir(self.path.parent)
            else:
                self._repair_tail(fd)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _repair_tail(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size == 0 or _read_at(fd, size - 1, 1) == b"\n":
            return
        start = _last_line_start(fd, size)
        fragment = _read_at(fd, start, size - start)
        try:
            event_from_json(fragment)
        except ValueError:
            pass
        else:
            os.write(fd, b"\n")
            os.fsync(fd)
            log.warning("%s: last event had no newline; completed it", self.path)
            return
        aside = preserve_copy(self.path.with_name(f"{self.path.name}.torn-{start}"), fragment)
        os.ftruncate(fd, start)
        os.fsync(fd)
        self.tail_set_aside = aside
        log.warning(
            "%s: torn last line (%d bytes, crash mid-write) moved to %s",
            self.path,
            len(fragment),
            aside,
        )

    # --- writing -------------------------------------------------------------

    @override
    def append_many(self, events: Sequence[AuditEvent]) -> None:
        lines = [event_to_json(e, self._secrets) + "\n" for e in events]
        if lines:
            self.write_lines("".join(lines).encode("utf-8"))

    @override
    def append(self, event: AuditEvent) -> None:
        self.write_lines((event_to_json(event, self._secrets) + "\n").encode("utf-8"))

    def write_lines(self, data: bytes) -> None:
        """Append whole lines with one write and one fsync; on failure none stay."""
        with self._lock:
            if self._fd is None:
                raise AuditError(f"{self.path}: audit log is closed")
            if self._broken is not None:
                raise AuditError(f"{self.path}: audit log unusable until reopened: {self._broken}")
            fd = self._fd
            try:
                start = os.fstat(fd).st_size
            except OSError as exc:
                raise AuditError(f"{self.path}: audit append failed: {exc}") from exc
            written = 0
            try:
                while written < len(data):
                    n = os.write(fd, data[written:])
                    if n <= 0:
                        raise OSError(f"write returned {n}")
                    written += n
            except OSError as exc:
                self._cut_back(fd, start, written)
                raise AuditError(f"{self.path}: audit append failed: {exc}") from exc
            if self.fsync:
                try:
                    os.fsync(fd)
                except OSError as exc:
                    self._broken = f"fsync failed: {exc}"
                    raise AuditError(f"{self.path}: audit fsync failed: {exc}") from exc

    def _cut_back(self, fd: int, start: int, written: int) -> None:
        """Remove a partial line we just wrote, or stop appending if we cannot."""
        if written == 0:
            return
        try:
            if os.fstat(fd).st_size != start + written:
                raise OSError("the log grew meanwhile (another writer?)")
            os.ftruncate(fd, start)
            os.fsync(fd)
        except OSError as exc:
            self._broken = f"partial line at offset {start} could not be removed: {exc}"
            log.error("%s: %s", self.path, self._broken)

    # --- reading -------------------------------------------------------------

    @override
    def events(self) -> Iterator[AuditEvent]:
        """Stream the log from disk; sets ``torn_tail`` once the end is reached."""
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - closed by the generator below
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot read audit log: {exc}") from exc
        return self._read(fh)

    def _read(self, fh: BinaryIO) -> Iterator[AuditEvent]:
        self.torn_tail = False
        with fh:
            number = 0
            while True:
                try:
                    raw: bytes = fh.readline()
                except OSError as exc:
                    raise AuditError(f"{self.path}: cannot read audit log: {exc}") from exc
                if not raw:
                    return
                number += 1
                if not raw.strip():
                    continue
                try:
                    event = event_from_json(raw)
                except ValueError as exc:
                    if not raw.endswith(b"\n"):
                        self.torn_tail = True
                        log.warning("%s:%d: torn last line skipped", self.path, number)
                        return
                    raise AuditError(f"{self.path}:{number}: corrupt audit line: {exc}") from exc
                yield event

    def __del__(self) -> None:
        # A forgotten close() must not leak the descriptor; everything was
        # fsynced already, so there is nothing to lose here.
        fd = getattr(self, "_fd", None)
        if fd is not None:
            self._fd = None
            with contextlib.suppress(OSError):
                os.close(fd)

    @override
    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                raise AuditError(f"{self.path}: closing the audit log failed: {exc}") from exc


def _lock_exclusive(fd: int) -> bool:
    """Take the writer's advisory lock; ``False`` if another descriptor holds it."""
    if sys.platform == "win32":
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_at(fd: int, offset: int, size: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    parts: list[bytes] = []
    while size > 0:
        chunk = os.read(fd, size)
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _last_line_start(fd: int, size: int) -> int:
    """Offset just after the last newline (0 if none), reading backwards."""
    end = size
    while end > 0:
        begin = max(0, end - _CHUNK)
        cut = _read_at(fd, begin, end - begin).rfind(b"\n")
        if cut >= 0:
            return begin + cut + 1
        end = begin
    return 0
