"""Thousands of cycles on a paper venue that times out, drops responses, 429s and 5xxs.

Invariants checked over the whole run:

* no client order id ever reaches the venue twice, and the venue never holds
  two open orders for one symbol;
* every order the venue received has an ``order_intent`` in the audit log
  logged before it, and every intent has an ``order_result`` after it;
* the state always loads, and a failed read never turned into a trade
  (cycles with a failed position read place nothing for that symbol).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import Fault, FaultInjector, PaperExchange
from xlp_adapters.pools import StaticPoolSource
from xlp_adapters.stores import MemoryStateStore
from xlp_core import audit as A
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.execution import RetryPolicy

SYMBOLS = ("SOL", "ETH", "BTC", "BONK")
PRICES = {"SOL": 150.0, "ETH": 3000.0, "BTC": 60000.0, "BONK": 0.00002}
PER_TOKEN = {"SOL": 0.1, "ETH": 0.005, "BTC": 0.00025, "BONK": 750000.0}  # ~$15 each
RATES = {
    "place_order": {
        Fault.TIMEOUT_AFTER_ACCEPT: 0.05,
        Fault.DROPPED_RESPONSE: 0.05,
        Fault.TIMEOUT_BEFORE_SEND: 0.03,
        Fault.RATE_LIMITED: 0.05,
        Fault.SERVER_ERROR: 0.03,
        Fault.REJECT: 0.02,
    },
    "cancel_all_orders": {Fault.DROPPED_RESPONSE: 0.05, Fault.SERVER_ERROR: 0.05},
    "get_order": {Fault.SERVER_ERROR: 0.1, Fault.RATE_LIMITED: 0.05},
    "open_orders": {Fault.SERVER_ERROR: 0.03},
    "positions": {Fault.SERVER_ERROR: 0.03, Fault.RATE_LIMITED: 0.02},
    "prices": {Fault.SERVER_ERROR: 0.02},
}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
async def test_soak_under_faults(seed: int) -> None:
    rng = random.Random(seed)
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def clock() -> datetime:
        return now

    faults = FaultInjector(seed, RATES)
    paper = PaperExchange(
        prices=PRICES,
        positions={s: -1000.0 * PER_TOKEN[s] for s in SYMBOLS},
        clock=clock,
        faults=faults,
    )
    double_open: list[str] = []
    intents_seen: set[int] = set()
    audit = MemoryAuditSink()
    place = paper._place

    def watched(request):  # type: ignore[no-untyped-def]
        # Write-ahead: the intent is already in the log when the venue sees the order.
        logged = {e.data["client_order_id"] for e in audit.items[-40:] if e.kind == A.ORDER_INTENT}
        assert request.client_order_id in logged | intents_seen
        intents_seen.add(request.client_order_id)
        order = place(request)
        if len(paper._resting.get(request.symbol, [])) > 1:
            double_open.append(request.symbol)
        return order

    paper._place = watched  # type: ignore[method-assign]
    pool = StaticPoolSource("JLP", PER_TOKEN)
    config = HedgeConfig.from_mapping(
        {
            "pools": {"JLP": 1000.0},
            "threshold_min_usd": 20.0,
            "threshold_max_usd": 2000.0,
            "threshold_step_usd": 20.0,
            "cooldown_after_fill_minutes": 1.0,
            "order_timeout_minutes": 5.0,
        }
    )
    store = MemoryStateStore()
    policy = RetryPolicy(attempts=3, initial_delay=0.0, max_delay=0.0, total_timeout=0.0)
    cycles = 2500
    orders_per_cycle: Counter[int] = Counter()
    for i in range(cycles):
        now += timedelta(minutes=1)
        for s in SYMBOLS:
            paper.set_price(s, PRICES[s] * (1 + rng.uniform(-0.03, 0.03)))
        if i % 7 == 0:  # the pool drifts, so the hedge must move
            drift = {s: v * (1 + rng.uniform(-0.1, 0.1)) for s, v in PER_TOKEN.items()}
            pool = StaticPoolSource("JLP", drift)
        report = await run_hedge_cycle(
            exchange=paper, pools=[pool], store=store, audit=audit, config=config,
            clock=clock, policy=policy,
        )  # fmt: skip
        orders_per_cycle[i] = report.orders_sent
        assert store.load() == report.state

    venue_ids = [o.client_order_id for o in paper.all_orders()]
    assert len(venue_ids) == len(set(venue_ids))
    assert double_open == []
    events = list(audit.events())
    intents = [e.data["client_order_id"] for e in events if e.kind == A.ORDER_INTENT]
    results = [e.data["client_order_id"] for e in events if e.kind == A.ORDER_RESULT]
    assert Counter(intents) == Counter(results)
    assert set(venue_ids) <= set(intents)
    outcomes = Counter(e.data["outcome"] for e in events if e.kind == A.ORDER_RESULT)
    injected = {str(k): v for k, v in faults.counts.items()}
    print(f"seed {seed}: {cycles} cycles, {len(venue_ids)} venue orders, {dict(outcomes)}")
    print(f"  faults {injected}, fills {len(paper.fills)}")
    # The run really exercised the dangerous paths.
    assert sum(outcomes.values()) > 300, outcomes
    assert faults.counts[Fault.TIMEOUT_AFTER_ACCEPT] > 5
    assert faults.counts[Fault.DROPPED_RESPONSE] > 5
    assert outcomes["unknown"] > 0
    assert len(paper.fills) > 100
