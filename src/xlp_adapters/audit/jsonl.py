"""Append-only JSON-lines audit log, fsynced per event."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import attrs

from xlp_adapters.audit.redact import redact
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError


class JsonlAuditSink:
    """One event per line; ``append`` returns only once the line is on disk.

    A crash mid-write can leave a torn last line. Reading skips it (and sets
    ``torn_tail``); opening the log for writing moves the fragment to
    ``<name>.torn-<offset>`` (bytes kept, fsynced) and cuts the log back to
    its last whole line, so new events never follow garbage. Corruption
    anywhere else is an error, never skipped silently.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.torn_tail = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._set_aside_torn_tail()
            self._fh = open(self.path, "ab")  # noqa: SIM115 - held open for the sink's life
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot open audit log: {exc}") from exc

    def __repr__(self) -> str:
        return f"JsonlAuditSink({str(self.path)!r})"

    def _set_aside_torn_tail(self) -> None:
        try:
            with open(self.path, "r+b") as fh:
                data = fh.read()
                if not data or data.endswith(b"\n"):
                    return
                cut = data.rfind(b"\n") + 1
                aside = self.path.with_name(f"{self.path.name}.torn-{cut}")
                with open(aside, "wb") as side:
                    side.write(data[cut:])
                    side.flush()
                    os.fsync(side.fileno())
                fh.truncate(cut)
                fh.flush()
                os.fsync(fh.fileno())
        except FileNotFoundError:
            return

    def append(self, event: AuditEvent) -> None:
        data = attrs.evolve(event, data=redact(dict(event.data))).to_json() + "\n"
        try:
            self._fh.write(data.encode("utf-8"))
            self._fh.flush()
            if self.fsync:
                os.fsync(self._fh.fileno())
        except (OSError, ValueError) as exc:
            raise AuditError(f"{self.path}: audit append failed: {exc}") from exc

    def events(self) -> Iterator[AuditEvent]:
        try:
            lines = self.path.read_bytes().split(b"\n")
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot read audit log: {exc}") from exc
        last = len(lines) - 1  # the piece after the final newline ("" if none torn)
        self.torn_tail = False
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                yield AuditEvent.from_dict(json.loads(raw))
            except (ValueError, KeyError, TypeError) as exc:
                if number - 1 == last:
                    self.torn_tail = True
                    continue
                raise AuditError(f"{self.path}:{number}: corrupt audit line: {exc}") from exc

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
