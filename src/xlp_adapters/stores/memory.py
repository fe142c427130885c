"""In-memory state store for tests and backtests."""

from __future__ import annotations

from typing_extensions import override

from xlp_adapters.stores.json_file import decode_state, encode_state
from xlp_core.ports import StateStore
from xlp_core.state import HedgeState


class MemoryStateStore(StateStore):
    """Holds the *serialised* state, exactly what a JSON file would hold.

    Every ``load`` parses a fresh copy, so a test cannot pass by mutating an
    object it saved, and a state that a real store would refuse is refused
    here too.
    """

    def __init__(self, initial: HedgeState | None = None) -> None:
        self._raw: str | None = None
        self.saves = 0
        if initial is not None:
            self._raw = encode_state(initial)

    def __repr__(self) -> str:
        return f"MemoryStateStore(saves={self.saves})"

    @property
    def raw(self) -> str | None:
        """The stored JSON text, or ``None`` if nothing was saved."""
        return self._raw

    def put_raw(self, text: str) -> None:
        """Store arbitrary text, e.g. to test how a caller handles corrupt state."""
        self._raw = text

    @override
    def load(self) -> HedgeState | None:
        return None if self._raw is None else decode_state(self._raw, "memory state")

    @override
    def save(self, state: HedgeState) -> None:
        self._raw = encode_state(state)
        self.saves += 1

    @override
    def close(self) -> None:
        """Nothing to release; the state stays readable."""
