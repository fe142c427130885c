"""In-memory state store for tests and backtests."""

from __future__ import annotations

import attrs
from typing_extensions import override

from xlp_adapters.stores.json_file import decode_state, encode_checked, encode_state
from xlp_core.ports import StateStore
from xlp_core.state import HedgeState


class MemoryStateStore(StateStore):
    """Holds the *serialised* state, exactly what a JSON file would hold.

    Every ``load`` returns a fresh copy of what the text parses to, so a
    test cannot pass by mutating an object it saved, and a state that a real
    store would refuse is refused here too. The parse is done once per text
    (and not at all after ``save``, whose check yields it): a full parse per
    cycle made this store slower than SQLite in the idle-cycle benchmark.
    """

    def __init__(self, initial: HedgeState | None = None) -> None:
        self._raw: str | None = None
        self._parsed: tuple[str, HedgeState] | None = None  # (text, what load makes of it)
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
        """A fresh copy of the stored state (parsed once per text: every part is frozen
        but the symbols dict, which is the caller's own)."""
        raw = self._raw
        if raw is None:
            return None
        parsed = self._parsed
        if parsed is None or parsed[0] is not raw:
            parsed = self._parsed = (raw, decode_state(raw, "memory state"))
        state = parsed[1]
        return attrs.evolve(state, symbols=dict(state.symbols))

    @override
    def save(self, state: HedgeState) -> None:
        raw, loaded = encode_checked(state)  # what ``decode_state`` would make of ``raw``
        self._raw, self._parsed = raw, (raw, loaded)
        self.saves += 1

    @override
    def close(self) -> None:
        """Nothing to release; the state stays readable."""
