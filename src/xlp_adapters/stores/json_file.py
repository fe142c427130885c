"""State as one JSON file, replaced atomically on every save."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from xlp_adapters.stores._fs import atomic_write, fsync_dir
from xlp_core.errors import StateCorruptError, StateError
from xlp_core.state import HedgeState, state_from_dict, state_to_dict


class JsonFileStateStore:
    """``load`` never guesses: a corrupt file is an error and stays on disk.

    ``save`` keeps the previous good file as ``<name>.bak`` and, if the
    current file is corrupt, first moves it aside as
    ``<name>.corrupt-<UTC time>`` so no stored byte is ever lost.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"JsonFileStateStore({str(self.path)!r})"

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    def _read(self, path: Path) -> HedgeState | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"{path}: cannot read state: {exc}") from exc
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError) as exc:
            raise StateCorruptError(f"{path}: not valid JSON state: {exc}") from exc
        try:
            return state_from_dict(data)
        except StateCorruptError as exc:
            raise StateCorruptError(f"{path}: {exc}") from exc

    def load(self) -> HedgeState | None:
        return self._read(self.path)

    def load_backup(self) -> HedgeState | None:
        return self._read(self.backup_path)

    def save(self, state: HedgeState) -> None:
        data = json.dumps(state_to_dict(state), indent=1, sort_keys=True, allow_nan=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                try:
                    self._read(self.path)
                except StateCorruptError:
                    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
                    aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
                    os.replace(self.path, aside)
                    fsync_dir(self.path.parent)
                else:
                    shutil.copy2(self.path, self.backup_path)
            atomic_write(self.path, data.encode("utf-8"))
        except OSError as exc:
            raise StateError(f"{self.path}: cannot save state: {exc}") from exc

    def close(self) -> None:
        return None


def _no_constants(name: str) -> float:
    raise ValueError(f"non-finite number {name} in state")
