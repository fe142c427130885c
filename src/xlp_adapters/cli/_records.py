"""Read-only views of a hedger's state and audit log, for ``xlp status`` / ``xlp audit``.

Nothing here writes, creates, repairs or locks a file: these commands may run
beside a live hedger, and must never change what it relies on.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlp_core.errors import AuditError, StateError

if TYPE_CHECKING:
    from xlp_core.audit import AuditEvent
    from xlp_core.state import HedgeState


def _readonly(path: Path, error: type[StateError | AuditError]) -> sqlite3.Connection:
    if not path.is_file():
        raise error(f"{path}: no such file")
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise error(f"{path}: cannot open read-only: {exc}") from None


def read_state(path: str) -> HedgeState | None:
    """The newest saved state (None if nothing was saved yet)."""
    from xlp_adapters.stores.json_file import decode_state

    p = Path(path)
    if path.endswith(".json"):
        if not p.exists():
            return None
        try:
            return decode_state(p.read_bytes(), str(p))
        except OSError as exc:
            raise StateError(f"{p}: cannot read: {exc.strerror}") from None
    if not p.exists():
        return None
    conn = _readonly(p, StateError)
    try:
        rows = conn.execute("SELECT seq, body FROM state ORDER BY seq DESC LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        raise StateError(f"{p}: not a readable state database: {exc}") from None
    finally:
        conn.close()
    if not rows:
        return None
    seq, body = rows[0]
    if not isinstance(body, str | bytes):
        raise StateError(f"{p} row {seq}: body is {type(body).__name__}")
    return decode_state(body, f"{p} row {seq}")


def read_events(path: str) -> Iterator[AuditEvent]:
    """Every event, oldest first; a torn last JSONL line (a write in flight) is skipped."""
    p = Path(path)
    if not p.exists():
        raise AuditError(f"{p}: no such audit log")
    if path.endswith((".jsonl", ".log")):
        return _jsonl(p)
    return _sqlite(p)


def _jsonl(p: Path) -> Iterator[AuditEvent]:
    from xlp_adapters.audit.jsonl import event_from_json

    try:
        handle = p.open("rb")
    except OSError as exc:
        raise AuditError(f"{p}: cannot read: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                return  # being written right now
            if not line.strip():
                continue
            try:
                yield event_from_json(line)
            except (ValueError, TypeError) as exc:
                raise AuditError(f"{p}:{number}: corrupt event: {_short(exc)}") from None


def _sqlite(p: Path) -> Iterator[AuditEvent]:
    from xlp_adapters._json import loads_strict
    from xlp_core.audit import AuditEvent

    conn = _readonly(p, AuditError)
    with contextlib.closing(conn):
        try:
            cursor = conn.execute(
                "SELECT seq, at, kind, cycle, symbol, data FROM events ORDER BY seq"
            )
            rows: Any = iter(cursor)
            for seq, at, kind, cycle, symbol, data in rows:
                try:
                    yield AuditEvent.from_dict(
                        {"at": at, "kind": kind, "cycle": cycle, "symbol": symbol,
                         "data": loads_strict(data)}
                    )  # fmt: skip
                except (ValueError, TypeError) as exc:
                    raise AuditError(f"{p}: event {seq} is corrupt: {_short(exc)}") from None
        except sqlite3.Error as exc:
            raise AuditError(f"{p}: not a readable audit database: {exc}") from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 120 else text[:117] + "..."
