"""JSON state + JSONL audit, committed with one fsync'd append.

``commit`` appends the cycle's events *and* a ``state_checkpoint`` line
holding the new state to the audit log in one write and one fsync; only then
is the state file refreshed (temp + rename, not fsynced: it is a convenience
copy). ``load`` returns the newer of the state file and the last checkpoint,
so a crash between the two writes, or a state file torn by a power cut,
loses nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from typing_extensions import override

from xlp_adapters._closing import Closing
from xlp_adapters._json import loads_strict
from xlp_adapters.audit.jsonl import JsonlAuditSink, data_to_json, event_to_json
from xlp_adapters.stores._fs import atomic_write, remove_leftover_temps
from xlp_adapters.stores._lock import StateLock
from xlp_adapters.stores.json_file import decode_state, encode_state
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError, StateCorruptError, StateError
from xlp_core.ports import Journal
from xlp_core.state import HedgeState, state_from_dict

log = logging.getLogger("xlp_adapters.journal")

CHECKPOINT = "state_checkpoint"
"""Audit kind of the state lines; ``FileJournal.events`` leaves them out."""

_MARK = b'"kind":"state_checkpoint"'
_CHUNK = 64 * 1024


class FileJournal(Closing, Journal):
    """State in ``state_path`` (plain JSON), events in ``audit_path`` (JSONL).

    Holds ``<state_path>.lock`` (``StateLockedError`` for a second opener)
    and the audit log's own ``flock``; removes leftover temp files on open.
    ``save`` also goes through a checkpoint, so the log is never older than
    the state file. Reading the JSONL with :class:`JsonlAuditSink` shows the
    checkpoint lines (kind ``state_checkpoint``); :meth:`events` skips them.
    """

    def __init__(
        self,
        state_path: str | os.PathLike[str],
        audit_path: str | os.PathLike[str],
        *,
        secrets: Iterable[str] = (),
        fsync: bool = True,
    ) -> None:
        self.state_path = Path(state_path)
        self.audit_path = Path(audit_path)
        self._state_lock: StateLock | None = StateLock(self.state_path)
        try:
            remove_leftover_temps(self.state_path)
            self.audit = JsonlAuditSink(self.audit_path, secrets=secrets, fsync=fsync)
            self._checkpoint = _last_checkpoint(self.audit_path)
        except BaseException:
            self._state_lock.release()
            raise

    def __repr__(self) -> str:
        return f"FileJournal({str(self.state_path)!r}, {str(self.audit_path)!r})"

    @override
    def commit(self, events: Sequence[AuditEvent], state: HedgeState) -> None:
        body = encode_state(state)  # validated before anything is written
        lines = [event_to_json(e, self.audit._secrets) for e in events]
        lines.append(_checkpoint_line(state, body))
        self._check_open()
        self.audit.write_lines(("\n".join(lines) + "\n").encode("utf-8"))
        self._checkpoint = state
        self._refresh(body)

    @override
    def save(self, state: HedgeState) -> None:
        try:
            self.commit((), state)
        except AuditError as exc:
            raise StateError(f"{self.state_path}: cannot save state: {exc}") from exc

    def _refresh(self, body: str) -> None:
        # The checkpoint is durable already: a failure here loses nothing.
        try:
            atomic_write(self.state_path, (body + "\n").encode("utf-8"), durable=False)
        except OSError as exc:
            log.error("%s: state file not refreshed (the journal has it): %s", self.state_path, exc)

    @override
    def load(self) -> HedgeState | None:
        self._check_open()
        try:
            raw = self.state_path.read_bytes()
        except FileNotFoundError:
            raw = None
        except OSError as exc:
            if self._checkpoint is None:
                raise StateError(f"{self.state_path}: cannot read state: {exc}") from exc
            raw = None
        on_file: HedgeState | None = None
        if raw is not None:
            try:
                on_file = decode_state(raw, str(self.state_path))
            except StateCorruptError:
                if self._checkpoint is None:
                    raise
                log.warning("%s is unreadable; using the journal's checkpoint", self.state_path)
        cp = self._checkpoint
        if cp is None or (on_file is not None and on_file.cycle > cp.cycle):
            return on_file
        return cp

    @override
    def append(self, event: AuditEvent) -> None:
        self.audit.append(event)

    @override
    def append_many(self, events: Sequence[AuditEvent]) -> None:
        self.audit.append_many(events)

    @override
    def events(self) -> Iterator[AuditEvent]:
        return (e for e in self.audit.events() if e.kind != CHECKPOINT)

    def _check_open(self) -> None:
        if self._state_lock is None:
            raise StateError(f"{self.state_path}: journal is closed")

    @override
    def close(self) -> None:
        held, self._state_lock = self._state_lock, None
        try:
            self.audit.close()
        finally:
            if held is not None:
                held.release()


def _checkpoint_line(state: HedgeState, body: str) -> str:
    # Written as is, not redacted: a symbol called e.g. TOKEN is no secret,
    # and the state holds none. ``body`` is already strict JSON.
    at = state.updated_at or datetime.now(UTC)
    head = data_to_json({"at": at.isoformat(), "cycle": state.cycle, "kind": CHECKPOINT})
    return head[:-1] + ',"symbol":null,"data":{"state":' + body + "}}"


def _last_checkpoint(path: Path) -> HedgeState | None:
    """The state in the log's last checkpoint line, reading from the end."""
    for line in _lines_backwards(path):
        if _MARK not in line:
            continue
        try:
            record = loads_strict(line, unique_keys=True)
            return state_from_dict(record["data"]["state"])
        except (ValueError, KeyError, TypeError, StateCorruptError) as exc:
            if not line.endswith(b"\n"):
                continue  # a torn tail: the sink sets it aside; look further back
            raise StateCorruptError(f"{path}: last state checkpoint is corrupt: {exc}") from exc
    return None


def _lines_backwards(path: Path) -> Iterator[bytes]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with fh:
        end = fh.seek(0, os.SEEK_END)
        tail = b""
        while end > 0:
            start = max(0, end - _CHUNK)
            fh.seek(start)
            block = fh.read(end - start) + tail
            end = start
            parts = block.split(b"\n")
            tail = parts[0]
            # parts[1:] are whole lines (the last one may lack its newline)
            for i in range(len(parts) - 1, 0, -1):
                line = parts[i]
                if line:
                    yield line + (b"\n" if i < len(parts) - 1 else b"")
        if tail:
            yield tail + b"\n"
