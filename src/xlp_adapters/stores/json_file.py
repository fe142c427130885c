"""State as one JSON file, replaced atomically on every save.

Also the JSON encoding of state that every store shares.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from xlp_adapters._closing import Closing
from xlp_adapters._json import loads_strict
from xlp_adapters.stores._fs import atomic_write, preserve_copy
from xlp_core.errors import StateCorruptError, StateError
from xlp_core.state import HedgeState, state_from_dict, state_to_dict

log = logging.getLogger("xlp.stores")


# --- encoding ----------------------------------------------------------------


def encode_state(state: HedgeState) -> str:
    """The JSON text of ``state``; ``StateError`` if it could not be loaded back.

    Checking before writing means a store never holds something it would
    later refuse (a NaN offset, a negative cost basis), which would turn a bug
    into a hedger that cannot restart.
    """
    try:
        text = json.dumps(state_to_dict(state), indent=1, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"refusing to save state that is not JSON: {exc}") from exc
    try:
        state_from_dict(json.loads(text))
    except StateCorruptError as exc:
        raise StateError(f"refusing to save state that would not load back: {exc}") from exc
    return text + "\n"


def decode_state(raw: str | bytes, where: str) -> HedgeState:
    """Parse stored state; ``StateCorruptError`` (prefixed with ``where``) if unusable."""
    try:
        data = loads_strict(raw, unique_keys=True)
    except ValueError as exc:  # includes JSON and UTF-8 errors
        raise StateCorruptError(f"{where}: not valid JSON state: {exc}") from exc
    try:
        return state_from_dict(data)
    except StateCorruptError as exc:
        raise StateCorruptError(f"{where}: {exc}") from exc


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


# --- the store ---------------------------------------------------------------


class JsonFileStateStore(Closing):
    """``load`` never guesses: a corrupt file is an error and stays on disk.

    ``save`` writes a temp file in the same directory, fsyncs it, renames it
    over the state file and fsyncs the directory, so a crash leaves the old
    state or the new one, whole. Before that it keeps the current good file as
    ``<name>.bak`` (read it with ``load_backup``; ``load`` never falls back on
    its own) or, if the current file is corrupt, copies it to
    ``<name>.corrupt-<UTC time>`` first: the state file itself always exists,
    and no stored byte is lost.

    One process per file; saves from several threads are serialised.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JsonFileStateStore({str(self.path)!r})"

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    def corrupt_copies(self) -> list[Path]:
        """Corrupt versions set aside by ``save``, oldest first."""
        return sorted(self.path.parent.glob(f"{self.path.name}.corrupt-*"))

    def _read_bytes(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"{path}: cannot read state: {exc}") from exc

    def load(self) -> HedgeState | None:
        raw = self._read_bytes(self.path)
        return None if raw is None else decode_state(raw, str(self.path))

    def load_backup(self) -> HedgeState | None:
        """The state before the last save, if there was one."""
        raw = self._read_bytes(self.backup_path)
        return None if raw is None else decode_state(raw, str(self.backup_path))

    def save(self, state: HedgeState) -> None:
        data = encode_state(state).encode("utf-8")
        with self._lock:
            current = self._read_bytes(self.path)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if current is not None:
                    self._keep_current(current)
                atomic_write(self.path, data)
            except OSError as exc:
                raise StateError(f"{self.path}: cannot save state: {exc}") from exc

    def _keep_current(self, current: bytes) -> None:
        try:
            decode_state(current, str(self.path))
        except StateCorruptError as exc:
            base = self.path.with_name(f"{self.path.name}.corrupt-{_stamp()}")
            aside = preserve_copy(base, current)
            log.warning("%s was corrupt (%s); kept it as %s", self.path, exc, aside)
        else:
            atomic_write(self.backup_path, current)

    def close(self) -> None:
        """Nothing is held open between calls."""
