"""The cached state codec and the journal's remembered state change no answer."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlp_adapters.audit.redact import MASK, redact
from xlp_adapters.journal import SqliteJournal
from xlp_adapters.stores import SqliteStateStore
from xlp_adapters.stores.json_file import (
    _plain_head,
    _symbol_parts,
    decode_state,
    encode_checked,
    encode_state,
)
from xlp_core.errors import StateCorruptError, StateError
from xlp_core.state import (
    HedgeState,
    PendingOrder,
    SymbolState,
    state_to_dict,
    symbol_state_to_dict,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _state(**symbols: SymbolState) -> HedgeState:
    return HedgeState(cycle=3, symbols=symbols, updated_at=T0, next_serial=7)


def _plain(state: HedgeState) -> str:
    return json.dumps(state_to_dict(state), separators=(",", ":"), allow_nan=False)


@pytest.mark.parametrize(
    "value",
    [
        SymbolState(),
        SymbolState(offset=-0.0, cost_basis=1.5, exchange_position=-3.0, zone=2),
        SymbolState(order_zone=1, order_id=5, order_placed_at=T0),
        SymbolState(last_fill_at=T0.astimezone(timezone(timedelta(hours=2)))),
    ],
)
def test_cached_encoding_is_the_plain_encoding_and_loads_back_the_same(
    value: SymbolState,
) -> None:
    unknown = PendingOrder("B", 9, "sell", 1.0, since=T0)
    state = HedgeState(
        cycle=3, symbols={"B": value, "A": value}, updated_at=T0, unknowns=(unknown,)
    )
    for _ in range(2):  # the second pass is served from the caches
        text, loaded = encode_checked(state)
        assert text == _plain(state)
        assert loaded == decode_state(text, "t")
        again, _ = encode_checked(loaded)  # the objects handed out are known
        assert again == text


def test_equal_but_differently_written_values_are_not_confused() -> None:
    # 1 == 1.0 and -0.0 == 0.0: a cache keyed by value would mix them up.
    good = _state(A=SymbolState(order_zone=1, offset=0.0))
    encode_checked(good)
    with pytest.raises(StateError, match="order_zone"):
        encode_state(_state(A=SymbolState(order_zone=1.0, offset=0.0)))  # type: ignore[arg-type]
    text, _ = encode_checked(_state(A=SymbolState(order_zone=1, offset=-0.0)))
    assert '"offset":-0.0' in text


def test_bad_symbols_are_still_refused_with_the_field_named() -> None:
    with pytest.raises(StateError, match=r"symbols\.A\.offset"):
        encode_state(_state(A=SymbolState(offset=math.nan)))
    with pytest.raises(StateError, match="cost_basis"):
        encode_state(_state(A=SymbolState(cost_basis=-1.0)))
    with pytest.raises(StateError, match="serialisable"):
        encode_state(_state(A="nope"))  # type: ignore[arg-type]


def test_journal_load_after_commit_sees_other_writers(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite")
    try:
        state = _state(A=SymbolState(offset=1.0))
        journal.commit([], state)
        loaded = journal.load()
        assert loaded == state
        assert loaded is not None
        loaded.symbols["X"] = SymbolState()  # type: ignore[index]  # the caller's own copy
        assert journal.load() == state
        # Another connection writes the file: the remembered state is dropped.
        other = sqlite3.connect(tmp_path / "j.sqlite", isolation_level=None)
        newer = _state(A=SymbolState(offset=2.0))
        other.execute(
            "INSERT INTO state (cycle, saved_at, body) VALUES (?, ?, ?)",
            (4, None, encode_state(newer)),
        )
        other.close()
        assert journal.load() == newer
    finally:
        journal.close()


def test_state_store_save_then_load_and_pruning(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.sqlite", keep=2)
    try:
        for cycle in range(1, 6):
            store.save(HedgeState(cycle=cycle, symbols={"A": SymbolState(offset=float(cycle))}))
        loaded = store.load()
        assert loaded is not None
        assert loaded.cycle == 5
        assert [s.cycle for s in store.history(10)] == [5, 4]
    finally:
        store.close()


class _Name(StrEnum):
    KEY = "hunter2-and-more"


def test_redact_scrubs_string_subclasses_and_masks_keys() -> None:
    data = {"a": [_Name.KEY, 1, None], "b": {"api_key": "x"}, "c": (1.5, "hunter2")}
    out = redact(data, ["hunter2"])
    assert out == {"a": [f"{MASK}-and-more", 1, None], "b": {"api_key": MASK}, "c": [1.5, MASK]}


def test_journal_checkpoints_its_wal_in_the_background(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite")
    try:
        for cycle in range(1, 41):
            journal.commit([], HedgeState(cycle=cycle, symbols={"A": SymbolState()}))
        thread = journal._checkpointer._thread
        assert thread is not None
    finally:
        journal.close()
    assert not thread.is_alive()
    reopened = SqliteJournal(tmp_path / "j.sqlite")
    try:
        loaded = reopened.load()
        assert loaded is not None
        assert loaded.cycle == 40
    finally:
        reopened.close()


_floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, -0.0, 1e308])
_ints = st.none() | st.integers(-(2**63), 2**63) | st.sampled_from([True, 1.0])
_times = st.none() | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]))


@settings(max_examples=300, deadline=None)
@given(
    offset=_floats | st.sampled_from([math.nan, 3]),
    cost=_floats,
    position=st.none() | _floats,
    ints=st.tuples(_ints, _ints, _ints, _ints),
    times=st.tuples(_times, _times, _times),
)
def test_fast_symbol_encoding_is_the_checked_encoding(
    offset: float,
    cost: float,
    position: float | None,
    ints: tuple[int | None, ...],
    times: tuple[datetime | None, ...],
) -> None:
    """The one-step writer of a moving symbol's JSON gives the plain text and the load result."""
    value = SymbolState(
        offset=offset, cost_basis=cost, exchange_position=position,
        order_zone=ints[0], order_id=ints[1], zone=ints[2], fill_zone=ints[3],
        last_fill_at=times[0], order_placed_at=times[1], last_alert_at=times[2],
    )  # fmt: skip
    state = _state(A=value)
    try:
        expected = _plain(state)
        decoded = decode_state(expected, "t")
    except (ValueError, StateCorruptError):
        with pytest.raises(StateError):
            encode_checked(state)
        return
    fast = _symbol_parts(["A"], {"A": value})[0][0] if _plain_head(value) is not None else None
    if fast is not None:
        assert fast == json.dumps(symbol_state_to_dict(value), separators=(",", ":"))
        assert decoded.symbols["A"] == value
        assert [type(getattr(value, f)) for f in _FIELDS] == [
            type(getattr(decoded.symbols["A"], f)) for f in _FIELDS
        ]
        assert [getattr(getattr(value, f), "tzinfo", None) for f in _FIELDS] == [
            getattr(getattr(decoded.symbols["A"], f), "tzinfo", None) for f in _FIELDS
        ]
    text, loaded = encode_checked(state)
    assert text == expected
    assert loaded == decoded


_FIELDS = [f.name for f in attrs.fields(SymbolState)]


def test_redact_fast_path_for_flat_records_still_masks() -> None:
    """Known plain keys and flat values skip the per-entry loop; nothing else does."""
    record = {"offset": 1.5, "zone": None, "reason": "within threshold", "ok": True}
    for _ in range(2):  # the second pass takes the fast path (keys now known plain)
        assert redact({"symbols": {"A": record}}) == {"symbols": {"A": record}}
    assert redact({"A": {**record, "api_key": "k"}})["A"]["api_key"] == MASK
    assert redact({"A": {**record, "reason": "key hunter2"}}, ["hunter2"])["A"]["reason"] == (
        f"key {MASK}"
    )
    nested = {**record, "zone": {"token": "t"}}
    assert redact({"A": nested})["A"]["zone"] == {"token": MASK}
    listed = {**record, "zone": [{"password": "p"}]}
    assert redact(listed)["zone"] == [{"password": MASK}]
    named = {**record, "reason": _Name.KEY}  # a str subclass is scrubbed, not passed through
    assert redact(named, ["hunter2"])["reason"] == f"{MASK}-and-more"
