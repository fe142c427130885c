"""``quiet`` is the full machine's answer wherever it gives one, and gives one where it should.

The cycle lets :func:`xlp_core.decision.quiet` stand in for the default
strategy's ``observe`` + ``decide`` + ``finish_cycle`` for symbols with
nothing to do. These tests hold the shortcut to the machine: on generated
states and observations (bad inputs included), and on whole runs of the
cycle, where the default strategy and a strategy that only delegates to it
(which never takes the shortcut) must record the very same audit and state.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_cycle_paper import Pool
from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore
from xlp_core import audit as A
from xlp_core.config import HedgeConfig
from xlp_core.cooldown import CooldownStatus
from xlp_core.cycle import run_hedge_cycle
from xlp_core.decision import (
    QUIET_REASON,
    Decision,
    DecisionParams,
    Observation,
    decide,
    finish_cycle,
    observe,
    quiet,
)
from xlp_core.errors import XlpError
from xlp_core.execution import NO_WAIT
from xlp_core.models import MarketRules
from xlp_core.state import SymbolState
from xlp_core.strategy import ZoneStrategy
from xlp_core.zones import MAX_ZONE, Thresholds

T0 = datetime(2026, 1, 1, tzinfo=UTC)

small = st.floats(min_value=-3, max_value=3, allow_nan=False)
odd = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0, 2, True])
numbers = st.one_of(small, small, small, odd)
prices = st.one_of(st.floats(min_value=50, max_value=150), odd)
times = st.one_of(st.none(), st.integers(0, 120).map(lambda m: T0 + timedelta(minutes=m)))
zones = st.one_of(st.none(), st.integers(0, 5), st.just(MAX_ZONE))
ids = st.one_of(st.none(), st.integers(1, 3))

states = st.builds(
    SymbolState,
    offset=small,
    cost_basis=st.one_of(st.just(0.0), st.floats(min_value=0, max_value=200)),
    exchange_position=st.one_of(st.none(), st.floats(min_value=-103, max_value=-97)),
    last_fill_at=times,
    order_zone=zones,
    order_id=ids,
    order_placed_at=times,
    last_alert_at=times,
    zone=zones,
    fill_zone=zones,
)
inputs = st.fixed_dictionaries(
    {
        "ideal": st.one_of(st.floats(min_value=-103, max_value=-97), odd),
        "exchange_position": st.one_of(st.floats(min_value=-103, max_value=-97), odd),
        "price": prices,
        "initial_offset": st.one_of(st.just(0.0), small, odd),
        "open_order_ids": st.sampled_from([(), (1,), (2, 3)]),
        "rules": st.sampled_from([None, MarketRules("SOL", 0.001, 0.01, min_notional=10.0)]),
    }
)
params = st.builds(
    DecisionParams,
    thresholds=st.sampled_from(
        [Thresholds(), Thresholds(50.0, 500.0, 25.0), Thresholds(0.5, 2, 1)]
    ),
)


def machine(
    prev: SymbolState, given: dict[str, Any], now: datetime, p: DecisionParams
) -> tuple[Decision, SymbolState] | None:
    """The full machine's decision and carried state; ``None`` if it refuses the input."""
    try:
        obs = Observation(symbol="SOL", **given)
        decision = decide(observe(prev, obs, now, p), obs, now, p)
    except XlpError:
        return None
    return decision, finish_cycle(decision)


def is_quiet(decision: Decision) -> bool:
    """The outcome ``quiet`` covers: within threshold, nothing done, nothing seen."""
    o = decision.observed
    return (
        not decision.actions
        and decision.reason == QUIET_REASON
        and decision.cooldown is CooldownStatus.NORMAL
        and o.zone is None
        and not (o.fill_detected or o.order_vanished or o.cost_rebased or o.stray_order_ids)
    )


@settings(max_examples=600)
@given(states, inputs, params, st.integers(0, 200))
def test_quiet_is_the_machine_wherever_it_answers(
    prev: SymbolState, given: dict[str, Any], p: DecisionParams, minutes: int
) -> None:
    now = T0 + timedelta(minutes=minutes)
    got = quiet(prev, p, **given)
    full = machine(prev, given, now, p)
    if got is None:
        # Only where the machine refuses, or decides something else, or the
        # symbol has an order of ours or an open order (left to the machine).
        scope = prev.order_id is None and not given["open_order_ids"]
        exact = all(type(given[k]) is float for k in ("ideal", "exchange_position", "price"))
        assert full is None or not is_quiet(full[0]) or not scope or not exact
        return
    assert full is not None
    decision, carried = full
    assert is_quiet(decision)
    state, offset_usd = got
    assert state == carried
    assert (state is prev) == (carried is prev)  # unchanged keeps the very object
    assert offset_usd == decision.observed.offset_usd
    assert [type(getattr(state, f.name)) for f in attrs.fields(SymbolState)] == [
        type(getattr(carried, f.name)) for f in attrs.fields(SymbolState)
    ]


class Delegate:
    """A custom strategy that is exactly the default one: the cycle cannot shortcut it."""

    def __init__(self, inner: ZoneStrategy) -> None:
        self.inner = inner

    def decide(self, prev: SymbolState, obs: Observation, now: datetime) -> Decision:
        return self.inner.decide(prev, obs, now)


def comparable(events: list[Any]) -> list[tuple[Any, ...]]:
    out = []
    for e in events:
        data = dict(e.data)
        if e.kind == A.CYCLE_END:
            data.pop("duration_s")
        out.append((e.at, e.kind, e.cycle, e.symbol, data))
    return out


CONFIG = HedgeConfig.from_mapping(
    {"pools": {"JLP": 1000.0}, "symbols": ["SOL", "ETH"], "threshold_min_usd": 20.0,
     "threshold_max_usd": 400.0, "threshold_step_usd": 20.0,
     "cooldown_after_fill_minutes": 2.0, "order_timeout_minutes": 3.0}
)  # fmt: skip


ALIVE: list[MemoryAuditSink] = []


async def run(path: list[tuple[int, int]], strategy: Any) -> tuple[list[Any], list[Any]]:
    """Cycles along ``path`` (price and pool-weight steps): the audit and the reports."""
    now = [T0]
    rules = {s: MarketRules(s, 0.001, 0.01, min_notional=1.0) for s in ("SOL", "ETH")}
    ex = PaperExchange(
        rules, prices={"SOL": 150.0, "ETH": 3000.0},
        positions={"SOL": -100.0, "ETH": -10.0}, clock=lambda: now[0],
    )  # fmt: skip
    pool = Pool("JLP", {"SOL": 0.1, "ETH": 0.01})
    store, audit = MemoryStateStore(), MemoryAuditSink()
    ALIVE.append(audit)  # the ids module remembers serials per id(audit): never reuse one
    reports = []
    for dp, dw in path:
        ex.set_prices({"SOL": 150.0 + dp * 0.05, "ETH": 3000.0 + dp})
        pool.per_token = {"SOL": 0.1 * (1 + dw / 1000), "ETH": 0.01 * (1 - dw / 1500)}
        report = await run_hedge_cycle(
            exchange=ex, pools=[pool], store=store, audit=audit, config=CONFIG,
            clock=lambda: now[0], strategy=strategy, policy=NO_WAIT,
        )  # fmt: skip
        reports.append((dict(report.symbols), report.state, report.orders_sent))
        now[0] += timedelta(minutes=1)
    return comparable(list(audit.events())), reports


async def same_either_way(path: list[tuple[int, int]]) -> tuple[list[Any], list[Any]]:
    shortcut = await run(path, ZoneStrategy(CONFIG.decision_params()))
    full = await run(path, Delegate(ZoneStrategy(CONFIG.decision_params())))
    assert shortcut == full
    return shortcut


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(-40, 40), st.integers(-30, 30)), min_size=6, max_size=25))
async def test_the_cycle_records_the_same_with_and_without_the_shortcut(
    path: list[tuple[int, int]],
) -> None:
    """Prices and pool weights wander, orders are placed, filled and cancelled:
    every audit event, every state and every report is the same either way."""
    await same_either_way(path)


async def test_that_comparison_sees_orders_fills_and_the_shortcut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import xlp_core.cycle as cycle

    calls = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return quiet(*args, **kwargs)

    monkeypatch.setattr(cycle, "quiet", counted)
    path = [(0, 0), (1, 0), (-1, 1), (0, 25), (40, 25), (40, 25), (0, 0), (-2, -1), (-30, -28)]
    events, reports = await same_either_way(path * 2)
    kinds = {e[1] for e in events}
    assert {A.ORDER_INTENT, A.ORDER_RESULT, A.CANCEL_INTENT, A.ALERT} <= kinds
    assert any(r.fill_detected for symbols, _, _ in reports for r in symbols.values())
    assert calls  # the shortcut ran (for the default strategy only)
