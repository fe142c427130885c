"""``Hedger``: the safety stack always on, the budget reset every cycle, notices never block."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import xlp_core.hedger as hedger_mod
from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.pools import StaticPoolSource
from xlp_adapters.stores import MemoryStateStore
from xlp_core import audit as A
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.decision import Action, ActionKind, Decision, DecisionParams, Observation, observe
from xlp_core.errors import (
    ConfigError,
    LifecycleError,
    OrderOutcomeUnknownError,
    StateLockedError,
    TransientExchangeError,
)
from xlp_core.execution import NO_WAIT
from xlp_core.hedger import Hedger
from xlp_core.models import Order, OrderRequest, Side
from xlp_core.ports import Notice, PlaceOutcome
from xlp_core.safety import wrap_exchange
from xlp_core.state import SymbolState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@attrs.frozen
class OneSolAtMarket:
    """Sells 1 SOL at market every cycle (reduces a positive offset) and raises an alert."""

    params: DecisionParams = attrs.field(factory=DecisionParams)

    def decide(self, prev: SymbolState, obs: Observation, now: datetime) -> Decision:
        seen = observe(prev, obs, now, self.params)
        actions = (
            Action(ActionKind.ALERT, obs.symbol, "exposure above max"),
            Action(ActionKind.PLACE_MARKET, obs.symbol, "reduce", Side.SELL, 1.0, 99.0),
        )
        return Decision(obs.symbol, seen, actions, "sell 1 at market")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def setup(**overrides: object) -> tuple[HedgeConfig, PaperExchange, list[StaticPoolSource], Clock]:
    clock = Clock()
    # $99 per order; the guard's window is $250 a cycle: two cycles' worth.
    config = HedgeConfig.from_mapping(
        {
            "pools": {"JLP": 1000.0},
            "symbols": ["SOL"],
            "max_order_notional_usd": 200.0,
            "max_cycle_notional_usd": 250.0,
            "dead_man_switch_seconds": 0.0,
            **overrides,
        }
    )
    venue = PaperExchange(prices={"SOL": 100.0}, positions={"SOL": -100.0}, clock=clock)
    # The pool wants 120 SOL short: 20 SOL ($2000) unhedged, shrinking 1 SOL a cycle.
    return config, venue, [StaticPoolSource("JLP", {"SOL": 0.12})], clock


def outcomes(report: object) -> list[str]:
    sol = report.symbols["SOL"]  # type: ignore[attr-defined]
    return [a.outcome for a in sol.actions if a.action.kind is ActionKind.PLACE_MARKET]


async def test_lower_layer_without_begin_cycle_refuses_from_the_third_cycle() -> None:
    """The issue's scenario: wrap + run_hedge_cycle by hand, budget never reset."""
    config, venue, pools, clock = setup()
    exchange = wrap_exchange(venue, config)
    store, audit = MemoryStateStore(), MemoryAuditSink()
    seen = []
    for _ in range(4):
        report = await run_hedge_cycle(
            exchange=exchange, pools=pools, store=store, audit=audit, config=config,
            clock=clock, strategy=OneSolAtMarket(), policy=NO_WAIT,
        )  # fmt: skip
        seen.append(outcomes(report))
    assert seen[:2] == [["filled"], ["filled"]]
    assert seen[2:] == [["rejected"], ["rejected"]]  # refused by the guard: budget exhausted


async def test_hedger_resets_the_budget_every_cycle() -> None:
    config, venue, pools, clock = setup()
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(),
        strategy=OneSolAtMarket(), clock=clock, policy=NO_WAIT,
    ) as hedger:  # fmt: skip
        reports = [await hedger.run_cycle() for _ in range(6)]
    assert [outcomes(r) for r in reports] == [["filled"]] * 6
    assert (await venue.positions(["SOL"]))["SOL"] == pytest.approx(-106.0)


async def test_run_forever_counts_cycles_and_stops() -> None:
    config, venue, pools, clock = setup(check_interval_seconds=0.001)
    seen: list[int] = []
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(),
        strategy=OneSolAtMarket(), clock=clock, policy=NO_WAIT,
        on_cycle=[lambda r: seen.append(r.cycle)],
    ) as hedger:  # fmt: skip
        result = await hedger.run_forever(max_cycles=3)
        with pytest.raises(ConfigError):
            await hedger.run_forever(max_cycles=0)
    assert (result.cycles, result.stopped_by, seen) == (3, "max_cycles", [1, 2, 3])
    stop = asyncio.Event()
    stop.set()
    config, venue, pools, clock = setup()
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(), clock=clock
    ) as hedger:
        assert (await hedger.run_forever(stop=stop)).stopped_by == "signal"
        assert hedger.cycles == 0


async def test_lifecycle_errors_are_clear() -> None:
    config, venue, pools, clock = setup()
    hedger = Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(), clock=clock
    )
    with pytest.raises(LifecycleError, match="async with"):
        await hedger.run_cycle()
    async with hedger:
        with pytest.raises(LifecycleError, match="entered once"):
            await hedger.__aenter__()
    with pytest.raises(LifecycleError):
        await hedger.run_cycle()
    with pytest.raises(ConfigError):
        Hedger(config, venue, pools, store=MemoryStateStore())


async def test_the_safety_stack_is_on_and_the_opt_out_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, venue, pools, clock = setup()
    store, audit = MemoryStateStore(), MemoryAuditSink()
    safe = Hedger(config, venue, pools, store=store, audit=audit, clock=clock)
    assert safe.exchange is not venue
    again = Hedger(config, safe.exchange, pools, store=store, audit=audit, clock=clock)
    assert again.exchange is safe.exchange  # an already wrapped stack is not wrapped twice
    with caplog.at_level(logging.WARNING, logger="xlp_core.hedger"):
        unsafe = Hedger(
            config, venue, pools, store=store, audit=audit, clock=clock,
            unsafe_unwrapped_exchange_for_tests=True,
        )  # fmt: skip
    assert unsafe.exchange is venue
    assert any("UNSAFE" in r.getMessage() for r in caplog.records)


class Recorder:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def notify(self, notice: Notice) -> None:
        self.notices.append(notice)

    async def aclose(self) -> None:
        pass


class Raising(Recorder):
    async def notify(self, notice: Notice) -> None:
        raise RuntimeError("webhook down")


class Hanging(Recorder):
    """Hangs, and ignores the first cancellation too (then gives up)."""

    async def notify(self, notice: Notice) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)


async def test_notices_reach_the_notifier() -> None:
    config, venue, pools, clock = setup()
    notifier = Recorder()
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(),
        strategy=OneSolAtMarket(), clock=clock, policy=NO_WAIT, notifier=notifier,
    ) as hedger:  # fmt: skip
        await hedger.run_cycle()
    kinds = [n.kind for n in notifier.notices]
    assert kinds == ["start", "alert", "stop"]
    assert notifier.notices[1].symbol == "SOL"


@pytest.mark.parametrize("notifier", [Raising(), Hanging()], ids=["raises", "hangs"])
async def test_a_broken_notifier_never_breaks_a_cycle(
    notifier: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hedger_mod, "NOTIFY_TIMEOUT_S", 0.02)
    config, venue, pools, clock = setup()
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(),
        strategy=OneSolAtMarket(), clock=clock, policy=NO_WAIT, notifier=notifier,
    ) as hedger:  # fmt: skip
        reports = [await hedger.run_cycle() for _ in range(2)]
    assert [outcomes(r) for r in reports] == [["filled"], ["filled"]]
    await asyncio.sleep(0.05)  # let the cancelled deaf notifier finish


class FlakyVenue(PaperExchange):
    """Position reads fail while ``down``; ``()`` lists every market (the port's rule)."""

    down = False
    open_order_failures = 0
    armed: list[datetime | None]

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        if self.down:
            raise TransientExchangeError("HTTP 500")
        return await super().positions(symbols)

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        if self.open_order_failures > 0:
            self.open_order_failures -= 1
            raise TransientExchangeError("HTTP 500")
        if not symbols:
            return [o for o in self.all_orders() if o.status.is_open]
        return await super().open_orders(symbols)

    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        self.armed.append(at)
        return await super().arm_dead_man_switch(at)


def flaky(clock: Clock) -> FlakyVenue:
    venue = FlakyVenue(prices={"SOL": 100.0}, positions={"SOL": -100.0}, clock=clock)
    venue.armed = []
    return venue


async def test_breaker_trip_is_noticed() -> None:
    config, _, pools, clock = setup(breaker_failure_threshold=1)
    venue = flaky(clock)
    notifier = Recorder()
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(),
        clock=clock, policy=NO_WAIT, notifier=notifier,
    ) as hedger:  # fmt: skip
        await hedger.run_cycle()
        venue.down = True
        report = await hedger.run_cycle()
        await hedger.run_cycle()  # still open: no second notice
    assert report.symbols["SOL"].error or report.errors
    assert [n.kind for n in notifier.notices].count("breaker") == 1


async def test_dead_man_switch_is_armed_on_entry_and_every_cycle() -> None:
    config, _, pools, clock = setup(dead_man_switch_seconds=600.0)
    venue = flaky(clock)
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(), clock=clock,
        policy=NO_WAIT,
    ) as hedger:  # fmt: skip
        await hedger.run_cycle()
        await hedger.run_cycle()
    assert len(venue.armed) == 3  # through the whole safety stack
    assert all(at is not None and at > T0 + timedelta(seconds=599) for at in venue.armed)


async def test_default_store_and_audit_are_sqlite_beside_each_other(tmp_path: Path) -> None:
    config, venue, pools, clock = setup(
        state_path=str(tmp_path / "state.sqlite"), audit_path=str(tmp_path / "audit.sqlite")
    )
    async with Hedger(config, venue, pools, clock=clock, policy=NO_WAIT) as hedger:
        await hedger.run_cycle()
    from xlp_adapters.audit import SqliteAuditSink

    audit = SqliteAuditSink(tmp_path / "audit.sqlite")
    kinds = [e.kind for e in audit.events()]
    audit.close()
    assert kinds[0] == A.RECONCILE
    assert A.CYCLE_END in kinds
    assert (tmp_path / "state.sqlite").exists()


class LostReplies(FlakyVenue):
    """Every order reaches the venue's door and the reply is lost; lookups find nothing."""

    async def place_order(self, request: OrderRequest) -> Order:
        raise OrderOutcomeUnknownError("timeout after send", request.client_order_id)

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return None

    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        return [
            PlaceOutcome(r, error=OrderOutcomeUnknownError("timeout after send", r.client_order_id))
            for r in requests
        ]

    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        return {}


async def test_an_unknown_order_outcome_is_noticed() -> None:
    config, _, pools, clock = setup()
    venue = LostReplies(prices={"SOL": 100.0}, positions={"SOL": -100.0}, clock=clock)
    venue.armed = []
    notifier = Recorder()
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(),
        strategy=OneSolAtMarket(), clock=clock, policy=NO_WAIT, notifier=notifier,
    ) as hedger:  # fmt: skip
        report = await hedger.run_cycle()
    assert outcomes(report) == ["unknown"]
    unknown = [n for n in notifier.notices if n.kind == "order_unknown"]
    assert len(unknown) == 1
    assert unknown[0].data["client_order_id"] == report.symbols["SOL"].actions[1].client_order_id


async def test_run_loop_is_a_hedger_too() -> None:
    """The lower-level loop keeps its signature and gets the budget reset."""
    from xlp_adapters.runner import run_loop

    config, venue, pools, clock = setup(check_interval_seconds=0.001)
    seen: list[list[str]] = []
    result = await run_loop(
        exchange=venue, pools=pools, store=MemoryStateStore(), audit=MemoryAuditSink(),
        config=config, clock=clock, stop=asyncio.Event(), strategy=OneSolAtMarket(),
        max_cycles=4, on_cycle=lambda r: seen.append(outcomes(r)),
    )  # fmt: skip
    assert result.cycles == 4
    assert seen == [["filled"]] * 4


async def test_a_second_hedger_on_the_same_default_state_is_refused(tmp_path: Path) -> None:
    config, venue, pools, clock = setup(
        state_path=str(tmp_path / "state.sqlite"), audit_path=str(tmp_path / "audit.sqlite")
    )
    async with Hedger(config, venue, pools, clock=clock, policy=NO_WAIT):
        second = Hedger(config, venue, pools, clock=clock, policy=NO_WAIT)
        with pytest.raises(StateLockedError):
            await second.__aenter__()
    async with Hedger(config, venue, pools, clock=clock, policy=NO_WAIT) as third:
        await third.run_cycle()  # the lock went with the first one's exit
