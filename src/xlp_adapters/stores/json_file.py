"""State as one JSON file, replaced atomically on every save.

Also the JSON encoding of state that every store shares.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import attrs
from typing_extensions import override

from xlp_adapters._closing import Closing
from xlp_adapters._json import dumps_compact, floats_repr, loads_strict
from xlp_adapters.stores._fs import atomic_write, preserve_copy, remove_leftover_temps
from xlp_adapters.stores._lock import StateLock
from xlp_core.errors import StateCorruptError, StateError
from xlp_core.ports import StateStore
from xlp_core.state import (
    HedgeState,
    SymbolState,
    state_from_dict,
    state_to_dict,
    symbol_state_from_dict,
    symbol_state_to_dict,
)

log = logging.getLogger("xlp_adapters.stores")


# --- encoding ----------------------------------------------------------------


def encode_state(state: HedgeState) -> str:
    """Compact JSON text of ``state``; ``StateError`` if it could not be loaded back.

    Checking before writing means a store never holds something it would
    later refuse (a NaN offset, a negative cost basis), which would turn a bug
    into a hedger that cannot restart. See :func:`encode_checked`.
    """
    return encode_checked(state)[0]


def encode_checked(state: HedgeState) -> tuple[str, HedgeState]:
    """The JSON text of ``state`` and the state ``load`` would return for it.

    The check applies ``state_from_dict``'s rules (those ``load`` applies)
    to the dict about to be encoded instead of parsing the text back. Each
    symbol's JSON is checked once: a symbol whose text was checked before
    (in an idle cycle, every one of them) reuses that result, and a
    ``SymbolState`` object this function returned before reuses its text.
    Both caches are keyed by what fully determines the answer (the exact
    JSON text, or the very same frozen object), so they never change it.
    """
    symbols = state.symbols
    if not isinstance(symbols, Mapping) or not all(isinstance(k, str) for k in symbols):
        return _encode_slow(state)
    try:
        head = state_to_dict(attrs.evolve(state, symbols={}))
    except (TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"refusing to save state that is not serialisable: {exc}") from exc
    try:
        loaded = state_from_dict(head)
        names = sorted(symbols)
        parts = _symbol_parts(names, symbols)
    except StateCorruptError as exc:
        raise StateError(f"refusing to save state that would not load back: {exc}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"refusing to save state that is not serialisable: {exc}") from exc
    del head["symbols"]
    unknowns = head.pop("unknowns")
    try:
        text = "".join(
            (
                dumps_compact(head)[:-1],
                ',"symbols":{',
                ",".join(f"{_quote(k)}:{frag}" for k, (frag, _) in zip(names, parts, strict=True)),
                '},"unknowns":',
                dumps_compact(unknowns),
                "}",
            )
        )
    except (TypeError, ValueError, RecursionError) as exc:
        raise StateError(f"refusing to save state that is not JSON: {exc}") from exc
    checked = {k: value for k, (_, value) in zip(names, parts, strict=True)}
    return text, attrs.evolve(loaded, symbols=checked)


def _encode_slow(state: HedgeState) -> tuple[str, HedgeState]:
    """The plain path (odd inputs: it produces the same errors as always)."""
    try:
        data = state_to_dict(state)
    except (TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"refusing to save state that is not serialisable: {exc}") from exc
    try:
        loaded = state_from_dict(data)
    except StateCorruptError as exc:
        raise StateError(f"refusing to save state that would not load back: {exc}") from exc
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False), loaded
    except (TypeError, ValueError, RecursionError) as exc:
        raise StateError(f"refusing to save state that is not JSON: {exc}") from exc


# ``json.dumps`` of a str without its per-call argument handling (same text).
_quote = json.encoder.encode_basestring_ascii

# Checked symbol JSON -> the SymbolState ``load`` makes of it; and id() of
# objects seen -> (the object, its JSON, that loaded value). The entry holds
# the object, so its id cannot be reused while cached. Cleared when full.
_CHECKED: dict[str, SymbolState] = {}
_KNOWN: dict[int, tuple[SymbolState, str, SymbolState]] = {}
_CACHE_MAX = 4096


def _symbol_parts(
    names: list[str], symbols: Mapping[str, SymbolState]
) -> list[tuple[str, SymbolState]]:
    """Each symbol's JSON and the state ``load`` makes of it, in ``names`` order.

    A ``SymbolState`` seen before reuses its text; the plain ones (see
    :func:`_plain_head`) have their numbers written in one call
    (:func:`floats_repr`); anything else takes the checked path.
    """
    parts: list[tuple[str, SymbolState] | None] = []
    todo: list[tuple[int, SymbolState, str]] = []
    for i, name in enumerate(names):
        value = symbols[name]
        known = _KNOWN.get(id(value))
        if known is not None and known[0] is value:
            parts.append((known[1], known[2]))
            continue
        tail = _plain_head(value)
        if tail is None:
            parts.append(_checked_json(name, value))
            continue
        parts.append(None)
        todo.append((i, value, tail))
    numbers = [x for _, v, _ in todo for x in (v.offset, v.cost_basis, v.exchange_position or 0.0)]
    texts = floats_repr(numbers)
    for j, (i, value, tail) in enumerate(todo):
        frag = _fragment(value, texts[3 * j : 3 * j + 3], tail)
        _remember(value, frag, value)  # loads back as an equal object of the same types
        parts[i] = (frag, value)
    return [p for p in parts if p is not None]


def _fragment(s: SymbolState, numbers: list[str], tail: str) -> str:
    offset, cost, position = numbers
    pos = "" if s.exchange_position is None else f',"exchange_position":{position}'
    return f'{{"offset":{offset},"cost_basis":{cost}{pos}{tail}'


def _remember(value: SymbolState, frag: str, checked: SymbolState) -> None:
    if len(_KNOWN) >= _CACHE_MAX:
        _CHECKED.clear()
        _KNOWN.clear()
    _KNOWN[id(value)] = (value, frag, checked)


def _checked_json(symbol: str, value: SymbolState) -> tuple[str, SymbolState]:
    """The JSON of an unusual state, checked by ``symbol_state_from_dict``."""
    raw = symbol_state_to_dict(value)
    try:
        frag = dumps_compact(raw)
    except ValueError:  # NaN or infinity: let the load rules name the field
        symbol_state_from_dict(raw, f"symbols.{symbol}")
        raise
    checked = _CHECKED.get(frag)
    if checked is None:
        checked = symbol_state_from_dict(raw, f"symbols.{symbol}")
        if len(_CHECKED) >= _CACHE_MAX:
            _CHECKED.clear()
            _KNOWN.clear()
        _CHECKED[frag] = checked
        _remember(checked, frag, checked)
    _remember(value, frag, checked)
    return frag, checked


def _plain_head(s: SymbolState) -> str | None:
    """The JSON after the numbers for a state of the usual types, else ``None``.

    In a market that moves, every symbol's state is new every cycle; its
    JSON is then written in one step instead of building a dict, encoding it
    and checking it with ``symbol_state_from_dict``. That applies only where
    that check is known to pass and to give back an equal object of the
    very same types: finite ``float`` numbers (no ``-0.0``, which loads as
    ``0.0``), ``cost_basis >= 0``, exact ``int`` ids and zones, and
    ``datetime`` values in ``UTC`` (``fromisoformat`` returns that same
    ``tzinfo``). Anything else returns ``None`` and takes the checked path.
    """
    offset, cost, position = s.offset, s.cost_basis, s.exchange_position
    if not (
        type(offset) is float
        and type(cost) is float
        and (position is None or type(position) is float)
        and math.isfinite(offset + cost + (position or 0.0))
        and cost >= 0.0
        and (offset or math.copysign(1.0, offset) > 0)
        and (cost or math.copysign(1.0, cost) > 0)
        and (position or position is None or math.copysign(1.0, position) > 0)
    ):
        return None
    return _plain_tail(s)


def _plain_tail(s: SymbolState) -> str | None:
    """The JSON of the fields after the numbers, ``None`` ones left out as
    :func:`symbol_state_to_dict` does; ``None`` if one is of an unusual type."""
    oz, oid, zone, fz = s.order_zone, s.order_id, s.zone, s.fill_zone
    fill, placed, alert = s.last_fill_at, s.order_placed_at, s.last_alert_at
    if (
        oz is None
        and oid is None
        and zone is None
        and fz is None
        and fill is None
        and placed is None
        and alert is None
    ):
        return "}"  # nothing on record: no order, zone, fill or alert
    if not (_is_int(oz) and _is_int(oid) and _is_int(zone) and _is_int(fz)):
        return None
    times = [_time_json(t) for t in (fill, placed, alert)]
    if _UNUSUAL in times:
        return None
    fill_j, placed_j, alert_j = times
    texts = (
        fill_j, _int_json(oz), _int_json(oid), placed_j, alert_j, _int_json(zone), _int_json(fz)
    )  # fmt: skip
    fields = zip(_TAIL_KEYS, texts, strict=True)
    return "".join(f',"{key}":{text}' for key, text in fields if text) + "}"


# The fields after the numbers, in the class's order, which ``symbol_state_to_dict`` keeps.
_TAIL_KEYS = tuple(a.name for a in attrs.fields(SymbolState))[3:]


def _is_int(v: object) -> bool:
    return v is None or type(v) is int


def _int_json(v: int | None) -> str:
    return "" if v is None else int.__repr__(v)


# The JSON of UTC times seen (a symbol's last fill stays the same for many
# cycles). Keyed by value: equal UTC datetimes (fold 0) have one ISO text.
_TIMES: dict[datetime, str] = {}
_UNUSUAL = "?"  # a time :func:`_time_json` cannot write in one step


def _time_json(t: datetime | None) -> str:
    """The JSON of ``t``, ``""`` for ``None`` (left out), :data:`_UNUSUAL` if not plain UTC."""
    if t is None:
        return ""
    if type(t) is not datetime or t.tzinfo is not UTC or t.fold:
        return _UNUSUAL
    text = _TIMES.get(t)
    if text is None:
        if len(_TIMES) >= _CACHE_MAX:
            _TIMES.clear()
        text = _TIMES[t] = f'"{t.isoformat()}"'
    return text


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


class JsonFileStateStore(Closing, StateStore):
    """``load`` never guesses: a corrupt file is an error and stays on disk.

    ``save`` writes a temp file in the same directory, fsyncs it, renames it
    over the state file and fsyncs the directory, so a crash leaves the old
    state or the new one, whole. Before that it keeps the current good file as
    ``<name>.bak`` (read it with ``load_backup``; ``load`` never falls back on
    its own) or, if the current file is corrupt, copies it to
    ``<name>.corrupt-<UTC time>`` first: the state file itself always exists,
    and no stored byte is lost.

    One store per file: opening takes an exclusive lock on ``<name>.lock``
    (held until :meth:`close`; a second opener, in this process or another,
    gets ``StateLockedError`` naming the holder's pid) and then removes the
    ``.<name>.tmp-PID`` files a kill mid-save left behind. Saves from
    several threads are serialised.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._state_lock = StateLock(self.path)
        remove_leftover_temps(self.path)

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

    @override
    def load(self) -> HedgeState | None:
        raw = self._read_bytes(self.path)
        return None if raw is None else decode_state(raw, str(self.path))

    def load_backup(self) -> HedgeState | None:
        """The state before the last save, if there was one."""
        raw = self._read_bytes(self.backup_path)
        return None if raw is None else decode_state(raw, str(self.backup_path))

    @override
    def save(self, state: HedgeState) -> None:
        data = (encode_state(state) + "\n").encode("utf-8")
        with self._lock:
            if not self._state_lock.held:
                raise StateError(f"{self.path}: state store is closed")
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

    @override
    def close(self) -> None:
        """Release the lock (the state stays readable by the next opener)."""
        with self._lock:
            self._state_lock.release()
