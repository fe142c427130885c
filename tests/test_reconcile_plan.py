from __future__ import annotations

from datetime import UTC, datetime

from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.ids import order_id
from xlp_core.models import Order, OrderStatus, OrderType, Side
from xlp_core.reconcile import plan_reconcile, state_from_audit
from xlp_core.state import HedgeState, SymbolState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def order(symbol: str, cid: int) -> Order:
    return Order(cid, symbol, Side.SELL, OrderType.LIMIT, 1.0, 100.0, OrderStatus.OPEN)


def test_adopts_known_cancels_unknown_forgets_gone() -> None:
    state = HedgeState(
        cycle=7,
        symbols={
            "SOL": SymbolState(order_id=11, order_zone=2),
            "ETH": SymbolState(order_id=22, order_zone=1),
            "BTC": SymbolState(order_id=33, order_zone=3),
        },
    )
    plan = plan_reconcile(state, [order("SOL", 11), order("ETH", 99), order("BONK", 5)])
    assert plan.adopted == {"SOL": 11}
    assert plan.cancel_symbols == ("BONK", "ETH")
    assert plan.cancel == {"BONK": (5,), "ETH": (99,)}
    # ETH's own order 22 is gone from the book (filled or cancelled while down).
    assert plan.forgotten == {"BTC": 33, "ETH": 22}
    assert plan.state.symbol("BTC").order_id is None
    assert plan.state.symbol("BTC").order_zone is None
    assert plan.state.symbol("SOL").order_id == 11


def test_a_stray_beside_the_named_order_is_cancelled_the_named_one_kept() -> None:
    state = HedgeState(symbols={"SOL": SymbolState(order_id=11, order_zone=2)})
    plan = plan_reconcile(state, [order("SOL", 11), order("SOL", 12)])
    assert plan.cancel == {"SOL": (12,)}
    assert plan.adopted == {"SOL": 11}
    assert plan.forgotten == {}


def test_only_our_namespace_is_cancelled_on_every_market() -> None:
    ours, theirs = order_id("bot-a", 7), order_id("bot-b", 7)
    state = HedgeState(symbols={"SOL": SymbolState(order_id=order_id("bot-a", 3))})
    venue = [order("SOL", order_id("bot-a", 3)), order("ETH", ours), order("ETH", theirs)]
    venue.append(order("WIF", theirs))
    plan = plan_reconcile(state, venue, namespace="bot-a")
    assert plan.adopted == {"SOL": order_id("bot-a", 3)}
    assert plan.cancel == {"ETH": (ours,)}
    assert plan.foreign == {"ETH": (theirs,), "WIF": (theirs,)}
    # The transitional rule: on symbols we hedge, untagged (legacy) ids count as ours.
    legacy = plan_reconcile(state, venue, namespace="bot-a", legacy_symbols=["WIF"])
    assert legacy.cancel == {"ETH": (ours,), "WIF": (theirs,)}


def test_state_from_audit_takes_last_decision_and_new_epoch() -> None:
    events = [
        AuditEvent(T0, A.CYCLE_START, 1),
        AuditEvent(
            T0,
            A.DECISION,
            1,
            "SOL",
            {"offset": 1.0, "cost_basis": 100.0, "position": -9.0, "zone": 2},
        ),
        AuditEvent(
            T0,
            A.DECISION,
            2,
            "SOL",
            {"offset": 0.5, "cost_basis": 101.0, "position": -9.5, "zone": 0},
        ),
        AuditEvent(T0, A.DECISION, 2, "ETH", {"offset": "bad", "cost_basis": 1.0}),
        AuditEvent(T0, A.CYCLE_END, 3),
    ]
    state = state_from_audit(events, T0)
    assert state.cycle == 3
    assert state.symbol("SOL") == SymbolState(
        offset=0.5, cost_basis=101.0, exchange_position=-9.5, zone=0
    )
    assert "ETH" not in state.symbols
    assert state.epoch == int(T0.timestamp() * 1000)
    assert state_from_audit([], T0).cycle == 0
