"""In-memory state store for tests and backtests."""

from __future__ import annotations

import copy
from typing import Any

from xlp_core.state import HedgeState, state_from_dict, state_to_dict


class MemoryStateStore:
    """Keeps the *serialised* state, so a test sees exactly what a file would hold."""

    def __init__(self) -> None:
        self._data: dict[str, Any] | None = None
        self.saves = 0

    def load(self) -> HedgeState | None:
        return None if self._data is None else state_from_dict(copy.deepcopy(self._data))

    def save(self, state: HedgeState) -> None:
        self._data = state_to_dict(state)
        self.saves += 1

    def close(self) -> None:
        return None
