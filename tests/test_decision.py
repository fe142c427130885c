"""The decision state machine, including the reference bot's known bugs (spec 10.5/10.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlp_core.cooldown import CooldownStatus
from xlp_core.decision import (
    ActionKind,
    Decision,
    DecisionParams,
    ExecOutcome,
    Observation,
    after_alert,
    after_cancel,
    after_limit,
    after_market,
    decide,
    finish_cycle,
    observe,
)
from xlp_core.errors import InvalidInputError, InvalidPriceError
from xlp_core.models import MarketRules, Side
from xlp_core.state import SymbolState
from xlp_core.strategy import Strategy, ZoneStrategy
from xlp_core.zones import MAX_ZONE, Thresholds

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = MarketRules("SOL", size_increment=0.001, price_increment=0.01)
# Wide thresholds so that 40% closes clear the $10 venue minimum.
PARAMS = DecisionParams(thresholds=Thresholds(100, 1000, 20))
STRAT = ZoneStrategy(PARAMS)


def obs(
    position: float, *, ideal: float = -10.0, price: float = 100.0, orders: tuple[int, ...] = ()
) -> Observation:
    return Observation("SOL", ideal, position, price, open_order_ids=orders, rules=RULES)


def kinds(d: Decision) -> list[ActionKind]:
    return [a.kind for a in d.actions]


def run(prev: SymbolState, o: Observation, now: datetime) -> tuple[Decision, SymbolState]:
    """Decide, then pretend every action succeeded (limit orders rest)."""
    d = STRAT.decide(prev, o, now)
    state = finish_cycle(d)
    for a in d.actions:
        if a.kind is ActionKind.CANCEL:
            state = after_cancel(state, confirmed=True)
        elif a.kind is ActionKind.PLACE_LIMIT:
            state = after_limit(state, a, client_order_id=77, outcome=ExecOutcome.ACCEPTED, now=now)
        elif a.kind is ActionKind.PLACE_MARKET:
            state = after_market(state, a, outcome=ExecOutcome.FILLED, now=now)
        else:
            state = after_alert(state, now)
    return d, state


def test_first_exposure_places_limit_at_cost() -> None:
    # ideal -10, position -8.5 -> offset +1.5 SOL = $150 long -> zone 2, sell.
    d, state = run(SymbolState(), obs(-8.5), T0)
    assert kinds(d) == [ActionKind.PLACE_LIMIT]
    a = d.actions[0]
    assert a.side is Side.SELL
    assert a.size == pytest.approx(0.6)
    assert a.price == pytest.approx(100.2)
    assert a.zone == 2
    assert state.order_id == 77
    assert state.order_zone == 2


def test_maintains_live_order_in_same_zone() -> None:
    _, state = run(SymbolState(), obs(-8.5), T0)
    d, _ = run(state, obs(-8.5, orders=(77,)), T0 + timedelta(minutes=1))
    assert kinds(d) == []
    assert "maintaining" in d.reason


def test_zone_change_cancels_and_replaces() -> None:
    _, state = run(SymbolState(), obs(-8.5), T0)
    d, state = run(state, obs(-6.0, ideal=-10.0, orders=(77,)), T0 + timedelta(minutes=1))
    # Position moved by itself (not our order: it is still open) -> a fill is detected,
    # but the zone worsened (2 -> 15), which re-orders even in cooldown.
    assert kinds(d) == [ActionKind.CANCEL, ActionKind.PLACE_LIMIT]
    assert d.cooldown is CooldownStatus.RE_ORDER
    assert state.order_zone == 15


def test_stale_zone_bug_fixed_reentry_places_new_order() -> None:
    """Zone 2 -> within threshold (cancel) -> zone 2 again must place, not 'maintain'."""
    _, state = run(SymbolState(exchange_position=-8.5), obs(-8.5), T0)
    d, state = run(state, obs(-9.5, ideal=-10.0, orders=(77,)), T0 + timedelta(minutes=10))
    assert kinds(d) == [ActionKind.CANCEL]
    assert state.order_zone is None
    # Back to the old zone after the cooldown from that fill expired.
    d, state = run(state, obs(-8.5, ideal=-10.0), T0 + timedelta(minutes=30))
    assert kinds(d) == [ActionKind.PLACE_LIMIT]
    assert state.order_zone == 2


def test_stale_zone_after_max_places_again() -> None:
    _, state = run(SymbolState(exchange_position=-8.5), obs(-8.5), T0)
    d, state = run(state, obs(-8.5, ideal=-30.0, orders=(77,)), T0 + timedelta(minutes=1))
    assert kinds(d) == [ActionKind.CANCEL, ActionKind.ALERT]
    d, state = run(state, obs(-8.5, ideal=-10.0), T0 + timedelta(minutes=2))
    assert kinds(d) == [ActionKind.PLACE_LIMIT]


def test_cooldown_applies_on_the_fill_cycle() -> None:
    """Spec 10.5: the cycle that first sees a fill must already be in cooldown."""
    prev = SymbolState(
        offset=3.0, cost_basis=100, exchange_position=-7.0, order_id=5, order_zone=10, zone=10,
        order_placed_at=T0,
    )  # fmt: skip
    # Our order filled: position -7 -> -8.5 and the order is gone; zone 10 -> 2 (improved).
    d, state = run(prev, obs(-8.5), T0 + timedelta(minutes=1))
    assert d.observed.fill_detected
    assert d.observed.order_vanished
    assert d.cooldown is CooldownStatus.HOLD
    assert kinds(d) == []
    assert state.fill_zone == 10
    # After the cooldown the improved zone gets its order.
    d, _ = run(state, obs(-8.5), T0 + timedelta(minutes=7))
    assert kinds(d) == [ActionKind.PLACE_LIMIT]


def test_cooldown_cancel_only_when_back_within_threshold() -> None:
    prev = SymbolState(
        offset=1.5, cost_basis=100, exchange_position=-8.5, order_id=5, order_zone=2,
        order_placed_at=T0, zone=2, last_fill_at=T0,
    )  # fmt: skip
    d, _ = run(prev, obs(-9.5, orders=(5,)), T0 + timedelta(minutes=1))
    assert kinds(d) == [ActionKind.CANCEL]
    assert d.cooldown is CooldownStatus.NORMAL  # zone None is handled before cooldown


def test_max_alert_not_suppressed_by_cooldown_and_deduplicated() -> None:
    prev = SymbolState(offset=1.5, cost_basis=100, exchange_position=-8.5, zone=2, last_fill_at=T0)
    d, state = run(prev, obs(-8.5, ideal=-30.0), T0 + timedelta(minutes=1))
    assert kinds(d) == [ActionKind.ALERT]
    d, state = run(state, obs(-8.5, ideal=-30.0), T0 + timedelta(minutes=2))
    assert kinds(d) == []
    assert "already sent" in d.reason
    d, _ = run(state, obs(-8.5, ideal=-30.0), T0 + timedelta(minutes=1 + 15))
    assert kinds(d) == [ActionKind.ALERT]
    assert d.observed.zone == MAX_ZONE


def test_timeout_cancels_and_closes_ratio_at_market() -> None:
    _, state = run(SymbolState(exchange_position=-8.5), obs(-8.5), T0)
    d, state = run(state, obs(-8.5, orders=(77,)), T0 + timedelta(minutes=20))
    assert kinds(d) == [ActionKind.CANCEL, ActionKind.PLACE_MARKET]
    market = d.actions[1]
    assert market.size == pytest.approx(0.6)  # 40% of 1.5, not 100%
    assert market.side is Side.SELL
    assert market.price == pytest.approx(99.0)  # worst price: 1% slippage cap
    assert state.last_fill_at == T0 + timedelta(minutes=20)
    assert state.order_id is None


def test_timeout_within_threshold_only_cancels() -> None:
    prev = SymbolState(
        offset=1.5, cost_basis=100, exchange_position=-8.5, order_id=5, order_zone=2,
        order_placed_at=T0, zone=2,
    )  # fmt: skip
    d, _ = run(prev, obs(-9.5, orders=(5,)), T0 + timedelta(minutes=25))
    assert kinds(d) == [ActionKind.CANCEL]


def test_timeout_not_triggered_once_order_is_gone() -> None:
    prev = SymbolState(
        offset=1.5, cost_basis=100, exchange_position=-8.5, order_id=5, order_zone=2,
        order_placed_at=T0, zone=2,
    )  # fmt: skip
    d, _ = run(prev, obs(-8.5), T0 + timedelta(minutes=25))  # order 5 no longer open
    assert ActionKind.PLACE_MARKET not in kinds(d)
    assert d.observed.order_vanished


def test_stray_orders_are_cancelled_before_placing() -> None:
    d, _ = run(SymbolState(), obs(-8.5, orders=(999,)), T0)
    assert kinds(d) == [ActionKind.CANCEL, ActionKind.PLACE_LIMIT]


def test_negative_cost_rebases_instead_of_halting() -> None:
    prev = SymbolState(offset=10.0, cost_basis=100.0, exchange_position=-100.0)
    o = Observation("SOL", -110.0, -105.0, 300.0, rules=RULES)
    d = STRAT.decide(prev, o, T0)
    assert d.observed.cost_rebased
    assert d.state.cost_basis == 300.0


def test_first_observation_is_not_a_fill() -> None:
    d = STRAT.decide(SymbolState(), obs(-8.5), T0)
    assert not d.observed.fill_detected


def test_small_position_noise_is_not_a_fill() -> None:
    d = STRAT.decide(SymbolState(exchange_position=-8.5), obs(-8.5 + 1e-7), T0)
    assert not d.observed.fill_detected


def test_unknown_outcome_is_tracked_as_live() -> None:
    d = STRAT.decide(SymbolState(), obs(-8.5), T0)
    a = d.actions[0]
    state = after_limit(d.state, a, client_order_id=9, outcome=ExecOutcome.UNKNOWN, now=T0)
    assert state.order_id == 9
    rejected = after_limit(d.state, a, client_order_id=9, outcome=ExecOutcome.REJECTED, now=T0)
    assert rejected.order_id is None


def test_unconfirmed_cancel_keeps_order() -> None:
    s = SymbolState(order_id=3, order_zone=1)
    assert after_cancel(s, confirmed=False) == s


@pytest.mark.parametrize("price", [0.0, -5.0, float("nan"), float("inf")])
def test_bad_price_is_typed_error(price: float) -> None:
    with pytest.raises(InvalidPriceError):
        obs(-8.5, price=price)


def test_nan_position_is_typed_error() -> None:
    with pytest.raises(InvalidInputError):
        obs(float("nan"))


def test_zone_strategy_is_a_strategy() -> None:
    assert isinstance(STRAT, Strategy)


def test_small_exposure_below_venue_minimum_places_nothing() -> None:
    params = DecisionParams()  # reference thresholds 5/20/2.5
    o = Observation("SOL", -10.0, -9.94, 100.0, rules=RULES)  # $6 exposure
    d = decide(observe(SymbolState(), o, T0, params), o, T0, params)
    assert kinds(d) == []
    assert "minimum" in d.reason


positions = st.floats(min_value=-30, max_value=10, allow_nan=False)


@given(
    st.lists(
        st.tuples(positions, st.floats(min_value=1, max_value=1000), st.integers(0, 30)),
        max_size=25,
    )
)
def test_machine_invariants(path: list[tuple[float, float, int]]) -> None:
    """Over random paths: orders always reduce exposure, never exceed it, never
    happen within threshold or above max, and a place follows a cancel when an
    order (ours or stray) was live."""
    state = SymbolState()
    now = T0
    for position, price, minutes in path:
        now += timedelta(minutes=minutes)
        live = (state.order_id,) if state.order_id is not None else ()
        o = obs(position, price=price, orders=live)
        d, state = run(state, o, now)
        off = d.state.offset
        for a in d.actions:
            if a.kind in (ActionKind.PLACE_LIMIT, ActionKind.PLACE_MARKET):
                assert a.side is (Side.SELL if off > 0 else Side.BUY)
                assert a.size <= abs(off) + 1e-9
                assert d.observed.zone is not None
                if a.kind is ActionKind.PLACE_LIMIT:
                    assert d.observed.zone != MAX_ZONE
                if live:
                    assert kinds(d)[0] is ActionKind.CANCEL
        assert attrs.evolve(state) == state
