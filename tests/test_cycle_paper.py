"""Multi-cycle runs of the real cycle on the paper exchange: fills, state, audit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore
from xlp_core import audit as A
from xlp_core.config import HedgeConfig
from xlp_core.cycle import CycleReport, run_hedge_cycle
from xlp_core.decision import ActionKind
from xlp_core.errors import TransientExchangeError
from xlp_core.execution import NO_WAIT
from xlp_core.models import PoolSnapshot


@attrs.define
class Pool:
    name: str
    per_token: dict[str, float]
    fail: bool = False

    async def fetch(self) -> PoolSnapshot:
        if self.fail:
            raise TransientExchangeError("rpc down")
        return PoolSnapshot(self.name, dict(self.per_token))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


# 1000 JLP exposed to 0.1 SOL each -> ideal short 100 SOL ($15,000 at 150).
CONFIG = HedgeConfig.from_mapping(
    {
        "pools": {"JLP": 1000.0},
        "threshold_min_usd": 100.0,
        "threshold_max_usd": 1000.0,
        "threshold_step_usd": 50.0,
        "max_order_notional_usd": 2000.0,
        "max_cycle_notional_usd": 4000.0,
    }
)


def make(
    position: float = -100.0, price: float = 150.0
) -> tuple[PaperExchange, Pool, MemoryStateStore, MemoryAuditSink, Clock]:
    clock = Clock()
    ex = PaperExchange(prices={"SOL": price}, positions={"SOL": position}, clock=clock)
    return ex, Pool("JLP", {"SOL": 0.1}), MemoryStateStore(), MemoryAuditSink(), clock


async def cycle(
    ex: PaperExchange,
    pool: Pool,
    store: MemoryStateStore,
    audit: MemoryAuditSink,
    clock: Clock,
    config: HedgeConfig = CONFIG,
) -> CycleReport:
    return await run_hedge_cycle(
        exchange=ex, pools=[pool], store=store, audit=audit, config=config, clock=clock,
        policy=NO_WAIT,
    )  # fmt: skip


async def test_balanced_hedge_does_nothing() -> None:
    ex, pool, store, audit, clock = make()
    report = await cycle(ex, pool, store, audit, clock)
    assert report.ok
    sol = report.symbols["SOL"]
    assert sol.offset == pytest.approx(0.0)
    assert sol.actions == ()
    assert report.state.cycle == 1
    assert store.load() == report.state


async def test_drift_places_limit_which_fills_and_starts_cooldown() -> None:
    ex, pool, store, audit, clock = make()
    await cycle(ex, pool, store, audit, clock)
    # The pool grows: ideal -102 SOL -> offset +2 SOL long = $300 -> zone 4.
    pool.per_token["SOL"] = 0.102
    clock.advance(1)
    r = await cycle(ex, pool, store, audit, clock)
    sol = r.symbols["SOL"]
    assert sol.zone == 4
    (place,) = sol.actions
    assert place.action.kind is ActionKind.PLACE_LIMIT
    assert place.outcome == "accepted"
    assert place.action.size == pytest.approx(0.8)
    state = r.state.symbol("SOL")
    assert state.order_id == place.client_order_id
    assert state.order_zone == 4
    # Price rises through the sell limit (cost 150 * 1.002): the order fills.
    ex.set_price("SOL", 151.0)
    assert len(ex.fills) == 1
    clock.advance(1)
    r = await cycle(ex, pool, store, audit, clock)
    sol = r.symbols["SOL"]
    assert sol.fill_detected
    assert sol.position == pytest.approx(-100.8)
    assert sol.offset == pytest.approx(1.2)
    # Zone improved 4 -> 1 right after a fill: cooldown holds, no new order.
    assert sol.actions == ()
    assert "cooldown" in sol.reason
    assert r.state.symbol("SOL").last_fill_at == clock.now
    # After the cooldown the remaining exposure gets its order.
    clock.advance(6)
    r = await cycle(ex, pool, store, audit, clock)
    assert [a.action.kind for a in r.symbols["SOL"].actions] == [ActionKind.PLACE_LIMIT]
    kinds = [e.kind for e in audit.events()]
    assert kinds.count(A.ORDER_INTENT) == kinds.count(A.ORDER_RESULT) == 2
    assert kinds.count(A.CYCLE_START) == kinds.count(A.CYCLE_END) == 4


async def test_timeout_forces_market_close() -> None:
    ex, pool, store, audit, clock = make()
    pool.per_token["SOL"] = 0.102
    await cycle(ex, pool, store, audit, clock)  # places a sell limit at 150.3
    clock.advance(21)
    r = await cycle(ex, pool, store, audit, clock)
    kinds = [a.action.kind for a in r.symbols["SOL"].actions]
    assert kinds == [ActionKind.CANCEL, ActionKind.PLACE_MARKET]
    assert r.symbols["SOL"].actions[1].outcome == "filled"
    assert ex.fills[-1].size == pytest.approx(0.8)
    assert (await ex.open_orders(["SOL"])) == []


async def test_failed_pool_or_position_read_skips_symbol() -> None:
    ex, pool, store, audit, clock = make()
    await cycle(ex, pool, store, audit, clock)
    before = store.load()
    pool.fail = True
    clock.advance(1)
    r = await cycle(ex, pool, store, audit, clock)
    assert not r.ok
    assert r.symbols["SOL"].error is not None
    assert r.state.symbol("SOL") == before.symbol("SOL")  # type: ignore[union-attr]
    assert r.orders_sent == 0


async def test_bad_price_gives_typed_error_and_no_order() -> None:
    ex, pool, store, audit, clock = make()
    pool.per_token["SOL"] = 0.102

    async def nan_prices(symbols: object) -> Mapping[str, float]:
        return {"SOL": float("nan")}

    ex.prices = nan_prices  # type: ignore[method-assign]
    r = await cycle(ex, pool, store, audit, clock)
    assert "InvalidPriceError" in (r.symbols["SOL"].error or "")
    assert ex.fills == []
    assert (await ex.open_orders(["SOL"])) == []


async def test_notional_cap_refuses_order() -> None:
    ex, pool, store, audit, clock = make()
    pool.per_token["SOL"] = 0.108  # +8 SOL = $1200 -> above max: alert only
    r = await cycle(ex, pool, store, audit, clock)
    assert [a.action.kind for a in r.symbols["SOL"].actions] == [ActionKind.ALERT]
    small_cap = attrs.evolve(CONFIG, max_order_notional_usd=100.0, max_cycle_notional_usd=100.0)
    pool.per_token["SOL"] = 0.105  # +5 SOL = $750 -> zone 13, 40% = $300 > $100 cap
    clock.advance(1)
    r = await cycle(ex, pool, store, audit, clock, small_cap)
    (act,) = r.symbols["SOL"].actions
    assert act.outcome == "refused"
    assert "NotionalLimitError" in (act.error or "")
    assert (await ex.open_orders(["SOL"])) == []


async def test_runner_feeds_prices_before_each_cycle_and_survives_feed_errors() -> None:
    import asyncio

    from xlp_adapters.runner import run_loop
    from xlp_core.errors import TransientExchangeError

    ex, pool, store, audit, clock = make()
    calls: list[int] = []

    async def feed() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise TransientExchangeError("feed down")
        ex.set_price("SOL", 151.0)

    fast = attrs.evolve(CONFIG, check_interval_seconds=0.001)
    result = await run_loop(
        exchange=ex, pools=[pool], store=store, audit=audit, config=fast, clock=clock,
        stop=asyncio.Event(), max_cycles=3, before_cycle=feed,
    )  # fmt: skip
    assert result.cycles == 3
    assert result.stopped_by == "max_cycles"
    assert len(calls) == 3  # the failing call was logged, the cycle still ran
    assert result.last is not None
    assert result.last.symbols["SOL"].price == 151.0
