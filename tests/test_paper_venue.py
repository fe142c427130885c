"""PaperExchange as a venue: batches, expiry, dead-man switch, its account file."""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xlp_adapters.paper import Fault, FaultInjector, PaperExchange, load_account, save_account
from xlp_core.errors import (
    DuplicateOrderError,
    InvalidInputError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitedError,
    StateCorruptError,
    StateError,
)
from xlp_core.models import OrderRequest, OrderStatus, OrderType, Side

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def venue(clock: Clock | None = None, **kw: Any) -> PaperExchange:
    return PaperExchange(prices={"SOL": 100.0, "ETH": 3000.0}, clock=clock or Clock(), **kw)


def limit(
    cid: int, price: float, *, symbol: str = "SOL", side: Side = Side.BUY, size: float = 1.0,
    expires_at: datetime | None = None,
) -> OrderRequest:  # fmt: skip
    return OrderRequest(cid, symbol, side, OrderType.LIMIT, size, price, expires_at=expires_at)


async def test_place_orders_is_one_request_with_per_order_outcomes() -> None:
    p = venue()
    outcomes = await p.place_orders(
        [
            limit(1, 99.0),
            limit(2, 99.0, size=0.0001),
            limit(1, 98.0),
            limit(3, 2900.0, symbol="ETH"),
        ]
    )
    assert p.calls["place_orders"] == 1
    assert p.calls["place_order"] == 0
    assert [o.request.client_order_id for o in outcomes] == [1, 2, 1, 3]
    assert outcomes[0].order is not None
    assert outcomes[0].order.status is OrderStatus.OPEN
    assert isinstance(outcomes[1].error, OrderRejectedError)  # below min notional
    assert isinstance(outcomes[2].error, DuplicateOrderError)
    assert outcomes[3].order is not None


async def test_batches_roll_faults_once_per_call() -> None:
    faults = FaultInjector(seed=1)
    p = venue(faults=faults)
    faults.script("place_orders", Fault.RATE_LIMITED)
    with pytest.raises(RateLimitedError):
        await p.place_orders([limit(1, 99.0), limit(2, 99.0)])
    assert await p.open_orders(()) == []  # nothing happened
    faults.script("place_orders", Fault.TIMEOUT_AFTER_ACCEPT)
    with pytest.raises(OrderOutcomeUnknownError):
        await p.place_orders([limit(1, 99.0), limit(2, 98.0)])
    found = await p.get_orders([("SOL", 1), ("SOL", 2), ("SOL", 77), ("ETH", 1)])
    assert sorted(found) == [1, 2]  # applied; ETH/1 is not ETH's
    assert p.calls["get_orders"] == 1
    faults.script("place_orders", Fault.REJECT)
    outcomes = await p.place_orders([limit(5, 99.0), limit(6, 99.0)])
    assert all(isinstance(o.error, OrderRejectedError) for o in outcomes)
    faults.script("cancel_orders", Fault.DROPPED_RESPONSE)
    with pytest.raises(Exception, match="dropped_response"):
        await p.cancel_orders(["SOL"])
    assert await p.open_orders(()) == []  # the cancel did happen


async def test_single_call_fault_rates_apply_to_their_batch_twin() -> None:
    faults = FaultInjector(seed=3, rates={"place_order": {Fault.SERVER_ERROR: 1.0}})
    p = venue(faults=faults)
    with pytest.raises(Exception, match="503"):
        await p.place_orders([limit(1, 99.0)])


async def test_cancel_orders_and_open_orders_of_every_market() -> None:
    p = venue()
    await p.place_orders([limit(1, 99.0), limit(2, 98.0), limit(3, 2900.0, symbol="ETH")])
    assert {o.client_order_id for o in await p.open_orders(())} == {1, 2, 3}
    assert [o.client_order_id for o in await p.open_orders(["ETH"])] == [3]
    assert await p.cancel_orders(["SOL", "ETH", "BTC"]) == {"SOL": 2, "ETH": 1, "BTC": 0}
    assert await p.open_orders(()) == []
    assert p.calls["cancel_orders"] == 1


async def test_resting_orders_expire_by_the_venue_clock() -> None:
    clock = Clock()
    p = venue(clock)
    await p.place_order(limit(1, 99.0, expires_at=T0 + timedelta(minutes=3)))
    await p.place_order(limit(2, 98.0))
    clock.now = T0 + timedelta(minutes=2)
    assert len(await p.open_orders(())) == 2
    clock.now = T0 + timedelta(minutes=3)
    assert [o.client_order_id for o in await p.open_orders(())] == [2]
    expired = await p.get_order("SOL", 1)
    assert expired is not None
    assert expired.status is OrderStatus.EXPIRED
    p.set_price("SOL", 90.0)  # an expired order never fills
    assert [f.client_order_id for f in p.fills] == [2]


async def test_expiry_is_applied_before_a_price_update() -> None:
    clock = Clock()
    p = venue(clock)
    await p.place_order(limit(1, 99.0, expires_at=T0 + timedelta(seconds=10)))
    clock.now = T0 + timedelta(seconds=11)
    p.set_price("SOL", 95.0)
    assert p.fills == []


async def test_dead_man_switch_cancels_everything_when_due() -> None:
    clock = Clock()
    p = venue(clock)
    await p.place_orders([limit(1, 99.0), limit(2, 2900.0, symbol="ETH")])
    assert await p.arm_dead_man_switch(T0 + timedelta(minutes=10)) is True
    assert await p.arm_dead_man_switch(T0 + timedelta(minutes=20)) is True  # re-armed: moved
    clock.now = T0 + timedelta(minutes=15)
    assert len(await p.open_orders(())) == 2
    clock.now = T0 + timedelta(minutes=20)
    assert await p.open_orders(()) == []
    cancelled = await p.get_orders([("SOL", 1), ("ETH", 2)])
    assert {o.status for o in cancelled.values()} == {OrderStatus.CANCELLED}
    assert p.dead_man_switch_at is None
    await p.place_order(limit(3, 99.0))
    await p.arm_dead_man_switch(T0 + timedelta(minutes=30))
    await p.arm_dead_man_switch(None)  # disarmed
    clock.now = T0 + timedelta(hours=2)
    assert [o.client_order_id for o in await p.open_orders(())] == [3]
    with pytest.raises(InvalidInputError):
        await p.arm_dead_man_switch(datetime(2026, 1, 1))


# --- the account file ----------------------------------------------------------


async def test_account_file_round_trip_keeps_orders_expiry_and_switch(tmp_path: Path) -> None:
    clock = Clock()
    p = venue(clock, positions={"SOL": -3.0})
    await p.place_order(limit(1, 99.0, expires_at=T0 + timedelta(minutes=5)))
    await p.arm_dead_man_switch(T0 + timedelta(minutes=10))
    path = tmp_path / "paper.json"
    save_account(p, path)
    q = venue(clock)
    assert load_account(q, path) is True
    assert q.snapshot() == p.snapshot()
    clock.now = T0 + timedelta(minutes=6)
    assert await q.open_orders(()) == []
    assert load_account(venue(), tmp_path / "missing.json") is False


MALFORMED: dict[str, Any] = {
    "array": [],
    "null": None,
    "nan-position": {"accounts": {"SOL": {"position": math.nan}}},
    "string-size": {"orders": [{"size": "1.0"}]},
    "string-price": {"prices": {"SOL": "100"}},
    "negative-price": {"prices": {"SOL": -1.0}},
    "bad-version": {"version": 2},
    "unknown-account-field": {"accounts": {"SOL": {"position": 1.0, "lots": 3}}},
    "resting-unknown": {"resting": {"SOL": [424242]}},
    "bool-seq": {"seq": True},
    "naive-expiry": {"expiry": {"1": "2026-01-01T00:00:00"}},
}


def _base() -> dict[str, Any]:
    clock = Clock()
    p = venue(clock, positions={"SOL": -3.0})
    p._place(limit(1, 99.0))
    return p.snapshot()


def _merge(base: dict[str, Any], patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out = dict(base)
    for key, value in patch.items():
        if key == "orders":
            out["orders"] = [{**base["orders"][0], **value[0]}]
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = {**base[key], **value}
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_account_file_is_one_typed_line_and_changes_nothing(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / "paper.json"
    data = json.dumps(_merge(_base(), MALFORMED[name]))
    path.write_text(data)
    p = venue()
    before = p.snapshot()
    with pytest.raises(StateCorruptError) as info:
        load_account(p, path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)
    assert p.snapshot() == before
    assert path.read_text() == data  # left for the operator


def test_non_json_account_file_is_typed(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    path.write_bytes(b"\xff{not json")
    with pytest.raises(StateCorruptError, match="not a usable paper account"):
        load_account(venue(), path)


def test_restore_refuses_what_parse_refuses() -> None:
    with pytest.raises(InvalidInputError, match="malformed"):
        venue().restore([])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_read_only_target_is_a_state_error_and_the_old_file_survives(tmp_path: Path) -> None:
    path = tmp_path / "ro" / "paper.json"
    path.parent.mkdir()
    p = venue()
    save_account(p, path)
    old = path.read_bytes()
    path.parent.chmod(0o500)
    try:
        p.set_price("SOL", 123.0)
        with pytest.raises(StateError, match="cannot save paper account"):
            save_account(p, path)
    finally:
        path.parent.chmod(0o700)
    assert path.read_bytes() == old


def test_full_disk_is_a_state_error_and_the_old_file_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "paper.json"
    p = venue()
    save_account(p, path)
    old = path.read_bytes()

    def enospc(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", enospc)
    p.set_price("SOL", 123.0)
    with pytest.raises(StateError, match="No space left"):
        save_account(p, path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert [f.name for f in tmp_path.iterdir()] == ["paper.json"]  # no temp left


def test_a_directory_as_target_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "paper.json").mkdir()
    with pytest.raises(StateError):
        save_account(venue(), tmp_path / "paper.json")


def test_leftover_temp_of_a_killed_save_is_removed_on_load(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    save_account(venue(), path)
    (tmp_path / ".paper.json.tmp-99999").write_bytes(b"{")
    assert load_account(venue(), path)
    assert [f.name for f in tmp_path.iterdir()] == ["paper.json"]


def test_a_live_writers_temp_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    save_account(venue(), path)
    live = tmp_path / f".paper.json.tmp-{os.getppid()}"  # our parent is alive
    live.write_bytes(b"{")
    assert load_account(venue(), path)
    assert live.exists()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["version", "seq", "prices", "accounts", "orders", "resting", "expiry", "dead_man_at"]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FIELDS), JSON, JSON)
@example("prices", {"\n": None}, None)  # a key with a newline (found by CI): one-line reason
@example("resting", {"\r": [1]}, None)
def test_any_damage_to_a_snapshot_is_invalid_input_or_loads(
    field: str, value: Any, whole: Any
) -> None:
    base = _base()
    for candidate in ({**base, field: value}, whole):
        p = venue()
        message = ""
        try:
            p.restore(candidate)
        except InvalidInputError as exc:  # the only exception allowed
            message = str(exc)
        assert "\n" not in message
        assert p.snapshot()["version"] == 1  # the venue stays usable either way


async def test_bad_ticks_are_refused_per_symbol_and_stale_prices_expire(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    p = venue(clock, max_price_age=timedelta(seconds=30))
    with caplog.at_level("WARNING", logger="xlp_adapters.paper"):
        refused = p.update_prices({"SOL": float("1e400"), "ETH": 3100.0, "BTC": "x"})
    assert sorted(refused) == ["BTC", "SOL"]
    assert any("SOL" in r.getMessage() for r in caplog.records)
    assert await p.prices(["SOL", "ETH"]) == {"SOL": 100.0, "ETH": 3100.0}
    clock.now = T0 + timedelta(seconds=31)
    p.update_prices({"ETH": 3200.0})
    assert await p.prices(["SOL", "ETH"]) == {"ETH": 3200.0}  # SOL stopped being priced
    with pytest.raises(OrderRejectedError, match="stale"):
        await p.place_order(limit(1, 99.0))
