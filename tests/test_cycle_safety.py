"""The cycle's safety properties: failed writes stop sends, unique ids, clock
steps, unknown outcomes resolved, strategy output validated, logging."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore
from xlp_core import audit as A
from xlp_core import ids
from xlp_core.audit import AuditEvent
from xlp_core.config import HedgeConfig
from xlp_core.cycle import CycleReport, DecisionClock, run_hedge_cycle
from xlp_core.decision import (
    Action,
    ActionKind,
    Decision,
    DecisionParams,
    Observation,
    decide,
    observe,
)
from xlp_core.errors import AuditError, OrderOutcomeUnknownError, StateError, XlpError
from xlp_core.execution import NO_WAIT, pending_from_audit, resolve_unknowns
from xlp_core.models import MarketRules, Order, OrderRequest, PoolSnapshot, Side
from xlp_core.ports import AuditSink, Exchange, ExchangeDefaults, PlaceOutcome, StateStore
from xlp_core.state import HedgeState, SymbolState
from xlp_core.strategy import Strategy, ZoneStrategy
from xlp_core.zones import MAX_ZONE

T0 = datetime(2026, 1, 1, tzinfo=UTC)

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


@attrs.define
class Pool:
    per_token: dict[str, float]
    name: str = "JLP"

    async def fetch(self) -> PoolSnapshot:
        return PoolSnapshot(self.name, dict(self.per_token))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class FailingAudit(MemoryAuditSink):
    """Every ``append_many`` is one all-or-nothing write; the ``fail_at``-th fails."""

    def __init__(self, venue: PaperExchange, fail_at: int) -> None:
        super().__init__()
        self.venue, self.fail_at, self.batches = venue, fail_at, 0
        self.orders_at_failure: int | None = None

    def append_many(self, events: Sequence[AuditEvent]) -> None:
        self.batches += 1
        if self.batches == self.fail_at:
            self.orders_at_failure = len(self.venue.all_orders())
            raise AuditError("disk full")
        super().append_many(events)


@attrs.define
class Scripted:
    """A strategy that observes like ZoneStrategy and returns scripted actions."""

    make: object  # Callable[[Observation], list[Action]]
    params: DecisionParams = attrs.field(factory=DecisionParams)

    def decide(self, prev: SymbolState, obs: Observation, now: datetime) -> Decision:
        observed = observe(prev, obs, now, self.params)
        actions = self.make(obs, observed.state.offset)  # type: ignore[operator]
        return Decision(obs.symbol, observed, tuple(actions), "scripted")


def paper(clock: Clock, positions: Mapping[str, float] | None = None) -> PaperExchange:
    return PaperExchange(
        prices={"SOL": 150.0, "ETH": 3000.0},
        positions=positions or {"SOL": -100.0},
        clock=clock,
    )


async def run(
    ex: Exchange,
    pool: Pool,
    store: StateStore,
    audit: AuditSink,
    clock: Callable[[], datetime],
    *,
    config: HedgeConfig = CONFIG,
    strategy: Strategy | None = None,
    timebase: DecisionClock | None = None,
) -> CycleReport:
    return await run_hedge_cycle(
        exchange=ex, pools=[pool], store=store, audit=audit, config=config, clock=clock,
        policy=NO_WAIT, strategy=strategy, timebase=timebase,
    )  # fmt: skip


# --- 1. a failed durable write stops every later send -----------------------


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4, 5, 6])
async def test_no_order_reaches_the_venue_after_an_audit_failure(fail_at: int) -> None:
    clock = Clock()
    ex = paper(clock)
    audit = FailingAudit(ex, fail_at)
    store, pool = MemoryStateStore(), Pool({"SOL": 0.102})
    failed = False
    for _ in range(10):
        try:
            await run(ex, pool, store, audit, clock)
        except AuditError:
            failed = True
            break
        clock.now += timedelta(minutes=21)  # time out the order: cancel + market
    assert failed
    assert audit.orders_at_failure is not None
    assert len(ex.all_orders()) == audit.orders_at_failure


# --- 2. ids: one per intended order ------------------------------------------


def two_limits(obs: Observation, offset: float) -> list[Action]:
    side = Side.SELL if offset > 0 else Side.BUY
    return [
        Action(ActionKind.PLACE_LIMIT, obs.symbol, "a", side, 0.1, 160.0, opening=True),
        Action(ActionKind.PLACE_LIMIT, obs.symbol, "b", side, 0.2, 161.0, opening=True),
    ]


async def test_two_limits_in_one_cycle_get_two_ids() -> None:
    clock = Clock()
    ex, store, audit = paper(clock), MemoryStateStore(), MemoryAuditSink()
    r = await run(ex, Pool({"SOL": 0.102}), store, audit, clock, strategy=Scripted(two_limits))
    cids = [a.client_order_id for a in r.symbols["SOL"].actions]
    assert len(set(cids)) == 2
    assert all(a.outcome == "accepted" for a in r.symbols["SOL"].actions)
    assert sorted(o.price or 0.0 for o in ex.all_orders()) == [160.0, 161.0]
    assert all(ids.is_ours(c, CONFIG.namespace) for c in cids if c)
    intent = next(e for e in audit.events() if e.kind == A.ORDER_INTENT)
    assert intent.data["serial"] == ids.serial_of(intent.data["client_order_id"])


class FlakyStore(MemoryStateStore):
    def __init__(self, fails: Iterator[bool]) -> None:
        super().__init__()
        self.fails = fails

    def save(self, state: HedgeState) -> None:
        if next(self.fails, False):
            raise OSError("read-only file system")
        super().save(state)


def intents_by_id(audit: MemoryAuditSink) -> dict[int, set[tuple[object, ...]]]:
    by_id: dict[int, set[tuple[object, ...]]] = {}
    for e in audit.events():
        if e.kind == A.ORDER_INTENT:
            d = e.data
            key = (e.cycle, e.symbol, d["side"], d["type"], d["size"], d["price"])
            by_id.setdefault(d["client_order_id"], set()).add(key)
    return by_id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=st.lists(
        st.lists(st.tuples(st.booleans(), st.sampled_from(Side)), max_size=3), max_size=6
    ),
    fails=st.lists(st.booleans(), min_size=6, max_size=6),
    restart_after_failure=st.booleans(),
)
async def test_property_no_id_is_logged_for_two_orders(
    script: list[list[tuple[bool, Side]]], fails: list[bool], restart_after_failure: bool
) -> None:
    clock = Clock()
    ex, audit, store = paper(clock), MemoryAuditSink(), FlakyStore(iter(fails))
    steps = iter(script)

    def make(obs: Observation, offset: float) -> list[Action]:
        out = []
        for i, (limit, side) in enumerate(next(steps, [])):
            kind = ActionKind.PLACE_LIMIT if limit else ActionKind.PLACE_MARKET
            price = 150.0 + (i + 1) * (1 if side is Side.SELL else -1)
            out.append(Action(kind, obs.symbol, "p", side, 0.1 * (i + 1), price, opening=True))
        return out

    for _ in script:
        try:
            await run(ex, Pool({"SOL": 0.1}), store, audit, clock, strategy=Scripted(make))
        except StateError:
            if restart_after_failure:  # a new process: forgets what it issued
                ids._ISSUED.clear()
                ids._SCANNED.clear()
        clock.now += timedelta(minutes=1)
    assert all(len(v) == 1 for v in intents_by_id(audit).values())
    venue_ids = [o.client_order_id for o in ex.all_orders()]
    assert len(venue_ids) == len(set(venue_ids))


async def test_fresh_state_serials_start_from_the_clock() -> None:
    early, late = ids.first_serial(T0), ids.first_serial(T0 + timedelta(hours=1))
    assert late - early == 3600 * ids.SERIALS_PER_SECOND
    assert 0 < early <= ids.MAX_SERIAL


# --- 3. wall clock steps -------------------------------------------------------


class Wall:
    """A wall clock that can step, and a monotonic clock that cannot."""

    def __init__(self) -> None:
        self.wall, self.mono = T0, 0.0

    def advance(self, minutes: float) -> None:
        self.wall += timedelta(minutes=minutes)
        self.mono += minutes * 60

    def __call__(self) -> datetime:
        return self.wall


@pytest.mark.parametrize("step_hours", [-6, 6])
async def test_alert_repeats_on_schedule_across_clock_steps(
    step_hours: int, caplog: pytest.LogCaptureFixture
) -> None:
    w = Wall()
    timebase = DecisionClock(w, lambda: w.mono)
    ex = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -100.0}, clock=w)
    store, audit = MemoryStateStore(), MemoryAuditSink()
    pool = Pool({"SOL": 0.108})  # +8 SOL = $1200: above max, alert every 15 min
    for minute in range(60):
        if minute == 10:
            w.wall += timedelta(hours=step_hours)
        with caplog.at_level(logging.WARNING, logger="xlp_core.cycle"):
            await run(ex, pool, store, audit, w, timebase=timebase)
        w.advance(1)
    alerts = [e for e in audit.events() if e.kind == A.ALERT]
    assert len(alerts) == 4  # minutes 0, 15, 30, 45
    assert any(e.kind == A.CLOCK_JUMP for e in audit.events())
    assert "wall clock" in caplog.text


@pytest.mark.parametrize("step_hours", [-6, 6])
async def test_order_timeout_fires_after_a_clock_step(step_hours: int) -> None:
    w = Wall()
    timebase = DecisionClock(w, lambda: w.mono)
    # The venue keeps true time (its own clock); only ours steps.
    venue_time = lambda: T0 + timedelta(seconds=w.mono)  # noqa: E731
    ex = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -100.0}, clock=venue_time)
    store, audit, pool = MemoryStateStore(), MemoryAuditSink(), Pool({"SOL": 0.102})
    r = await run(ex, pool, store, audit, w, timebase=timebase)
    assert [a.action.kind for a in r.symbols["SOL"].actions] == [ActionKind.PLACE_LIMIT]
    w.wall += timedelta(hours=step_hours)
    kinds: list[list[ActionKind]] = []
    for _ in range(25):
        w.advance(1)
        r = await run(ex, pool, store, audit, w, timebase=timebase)
        kinds.append([a.action.kind for a in r.symbols["SOL"].actions])
    fired = [i for i, k in enumerate(kinds, 1) if ActionKind.PLACE_MARKET in k]
    assert fired == [20]  # neither early (forward step) nor never (backward step)


async def test_without_timebase_decision_time_never_goes_back() -> None:
    clock = Clock()
    ex, store, audit = paper(clock), MemoryStateStore(), MemoryAuditSink()
    r1 = await run(ex, Pool({"SOL": 0.1}), store, audit, clock)
    clock.now -= timedelta(hours=6)
    r2 = await run(ex, Pool({"SOL": 0.1}), store, audit, clock)
    assert r2.started_at == r1.started_at


# --- 4. unknown outcomes are resolved ------------------------------------------


class Laggy(ExchangeDefaults):
    """Accepts every order but reports the batch as timed out, and its order
    lookups see nothing until ``visible`` is set."""

    def __init__(self, inner: PaperExchange) -> None:
        self.inner = inner
        self.visible = False
        self.name = "laggy"

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return await self.inner.markets(symbols)

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.prices(symbols)

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.positions(symbols)

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self.inner.open_orders(symbols)

    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        await self.inner.place_orders(requests)
        raise OrderOutcomeUnknownError("timed out")

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return await self.inner.get_order(symbol, client_order_id) if self.visible else None

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return await self.inner.cancel_order(symbol, client_order_id)

    async def cancel_all_orders(self, symbol: str) -> int:
        return await self.inner.cancel_all_orders(symbol)

    async def close(self) -> None:
        pass


async def test_timed_out_order_that_filled_ends_as_filled() -> None:
    clock = Clock()
    inner = paper(clock)
    ex = Laggy(inner)
    store, audit, pool = MemoryStateStore(), MemoryAuditSink(), Pool({"SOL": 0.102})
    r = await run(ex, pool, store, audit, clock)
    (place,) = r.symbols["SOL"].actions
    assert place.outcome == "unknown"
    (pending,) = r.state.unknowns
    assert pending.client_order_id == place.client_order_id
    assert (pending.symbol, pending.side) == ("SOL", "sell")
    inner.set_price("SOL", 151.0)  # the resting sell fills
    ex.visible = True
    clock.now += timedelta(minutes=1)
    r = await run(ex, pool, store, audit, clock)
    assert r.state.unknowns == ()
    (resolved,) = [e for e in audit.events() if e.kind == A.ORDER_RESOLVED]
    assert resolved.data["client_order_id"] == place.client_order_id
    assert resolved.data["resolution"] == "filled"


async def test_unknown_never_arrived_is_forgotten_after_lookups() -> None:
    clock = Clock()
    inner = paper(clock)
    ex = Laggy(inner)
    store, audit, pool = MemoryStateStore(), MemoryAuditSink(), Pool({"SOL": 0.102})
    r = await run(ex, pool, store, audit, clock)
    state = attrs.evolve(
        r.state,
        unknowns=tuple(
            attrs.evolve(p, client_order_id=p.client_order_id + 1) for p in r.state.unknowns
        ),
    )
    for _ in range(3):
        state, events = await resolve_unknowns(inner, state, cycle=9, at=clock.now)
    assert state.unknowns == ()
    assert [e.data["resolution"] for e in events] == ["never_arrived"]


async def test_open_unknown_is_adopted() -> None:
    clock = Clock()
    inner = paper(clock)
    ex = Laggy(inner)
    store, audit, pool = MemoryStateStore(), MemoryAuditSink(), Pool({"SOL": 0.102})
    r = await run(ex, pool, store, audit, clock)
    cid = r.state.unknowns[0].client_order_id
    cleared = r.state.with_symbols({"SOL": attrs.evolve(r.state.symbol("SOL"), order_id=None)})
    state, events = await resolve_unknowns(inner, cleared, cycle=2, at=clock.now)
    assert [e.data["resolution"] for e in events] == ["open"]
    assert state.symbol("SOL").order_id == cid
    assert state.unknowns == ()


# --- 6. strategy output is validated ---------------------------------------------


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (
            lambda obs, off: [Action(ActionKind.PLACE_MARKET, obs.symbol, "x", Side.BUY, 1.0)],
            "would grow a long exposure",
        ),
        (
            lambda obs, off: [
                Action(ActionKind.PLACE_LIMIT, "ETH", "x", Side.SELL, 0.1, 3000.0, opening=True)
            ],
            "returned by SOL's decision",
        ),
        (
            lambda obs, off: [
                Action(ActionKind.PLACE_LIMIT, obs.symbol, "x", Side.SELL, math.nan, 150.0)
            ],
            "size must be finite",
        ),
        (
            lambda obs, off: [
                Action(ActionKind.PLACE_LIMIT, obs.symbol, "x", Side.SELL, 1.0, math.inf)
            ],
            "price must be finite",
        ),
    ],
)
async def test_wrong_strategy_output_is_refused_and_nothing_sent(
    make: object, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    ex = paper(clock, {"SOL": -100.0, "ETH": 0.0})
    store, audit = MemoryStateStore(), MemoryAuditSink()
    config = attrs.evolve(CONFIG, symbols=("SOL",))
    with caplog.at_level(logging.WARNING, logger="xlp_core.cycle"):
        r = await run(
            ex, Pool({"SOL": 0.102}), store, audit, clock, config=config, strategy=Scripted(make)
        )
    (act,) = r.symbols["SOL"].actions
    assert act.outcome == "refused"
    assert why in (act.error or "")
    assert ex.all_orders() == []
    refused = [e for e in audit.events() if e.kind == A.ACTION_REFUSED]
    assert len(refused) == 1
    assert why in refused[0].data["reason"]
    assert "refused" in caplog.text


# --- 7. pure core: every decision on valid input is a Decision or an XlpError ----

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    offset=finite,
    cost=st.floats(min_value=0, max_value=1e6),
    ideal=finite,
    position=finite,
    price=st.floats(min_value=1e-6, max_value=1e6),
    tick=st.sampled_from([1e-6, 0.01, 1.0, 100.0]),
    inc=st.sampled_from([1e-5, 0.001, 1.0]),
    min_notional=st.floats(min_value=0, max_value=1e3),
    has_order=st.booleans(),
    minutes=st.integers(min_value=0, max_value=120),
)
def test_property_decide_gives_decision_or_xlp_error(
    offset: float,
    cost: float,
    ideal: float,
    position: float,
    price: float,
    tick: float,
    inc: float,
    min_notional: float,
    has_order: bool,
    minutes: int,
) -> None:
    prev = SymbolState(
        offset=offset,
        cost_basis=cost,
        exchange_position=position,
        order_id=7 if has_order else None,
        order_zone=3 if has_order else None,
        order_placed_at=T0 if has_order else None,
        last_fill_at=T0,
        fill_zone=20,
    )
    obs = Observation(
        "X", ideal, position, price, open_order_ids=(7,) if has_order else (),
        rules=MarketRules("X", inc, tick, min_notional=min_notional),
    )  # fmt: skip
    try:
        d = ZoneStrategy().decide(prev, obs, T0 + timedelta(minutes=minutes))
    except XlpError:
        return
    assert isinstance(d, Decision)


def test_cooldown_holds_when_a_fill_above_max_improved_the_exposure() -> None:
    params = DecisionParams()
    prev = SymbolState(
        offset=0.5, cost_basis=150.0, exchange_position=-100.0, zone=MAX_ZONE, fill_zone=MAX_ZONE
    )
    obs = Observation("SOL", -100.0 - 10 / 150, -100.0, 150.0)  # $10 long: zone 2
    now = T0
    prev = attrs.evolve(prev, last_fill_at=now - timedelta(minutes=1))
    d = decide(observe(prev, obs, now, params), obs, now, params)
    assert d.actions == ()
    assert "holding" in d.reason


# --- 8. logging ---------------------------------------------------------------------


async def test_one_info_line_per_cycle_and_warning_for_alerts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    ex, store, audit = paper(clock), MemoryStateStore(), MemoryAuditSink()
    with caplog.at_level(logging.INFO, logger="xlp_core.cycle"):
        await run(ex, Pool({"SOL": 0.1}), store, audit, clock)
        await run(ex, Pool({"SOL": 0.108}), store, audit, clock)
    infos = [r for r in caplog.records if r.levelno == logging.INFO and r.name == "xlp_core.cycle"]
    assert [r.getMessage().split(":")[0] for r in infos] == ["cycle 1", "cycle 2"]
    assert "1 symbol(s), 0 order(s) sent" in infos[0].getMessage()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("ALERT SOL" in r.getMessage() for r in warnings)


async def test_failed_state_save_logs_error(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    ex, audit = paper(clock), MemoryAuditSink()
    store = FlakyStore(iter([True]))
    with caplog.at_level(logging.ERROR, logger="xlp_core.cycle"), pytest.raises(StateError):
        await run(ex, Pool({"SOL": 0.1}), store, audit, clock)
    assert any(r.levelno == logging.ERROR for r in caplog.records)


async def test_intents_without_results_become_unknowns_and_resolve() -> None:
    clock = Clock()
    ex, store, audit = paper(clock), MemoryStateStore(), MemoryAuditSink()
    await run(ex, Pool({"SOL": 0.102}), store, audit, clock)
    (order,) = ex.all_orders()
    # A crash between the send and the cycle's commit: the result never logged.
    logged = [e for e in audit.events() if e.kind != A.ORDER_RESULT]
    (pending,) = pending_from_audit(logged)
    assert (pending.client_order_id, pending.symbol, pending.side) == (
        order.client_order_id, "SOL", "sell",
    )  # fmt: skip
    state, events = await resolve_unknowns(
        ex, HedgeState(unknowns=(pending,)), cycle=2, at=clock.now
    )
    assert [e.data["resolution"] for e in events] == ["open"]
    assert state.symbol("SOL").order_id == order.client_order_id


class CountingJournal(MemoryStateStore):
    """State and audit in one object; counts durable writes."""

    def __init__(self) -> None:
        super().__init__()
        self.sink = MemoryAuditSink()
        self.appends = self.commits = 0

    def append(self, event: AuditEvent) -> None:
        self.appends += 1
        self.sink.append(event)

    def append_many(self, events: Sequence[AuditEvent]) -> None:
        self.appends += 1
        self.sink.append_many(events)

    def events(self) -> Iterator[AuditEvent]:
        return self.sink.events()

    def commit(self, events: Sequence[AuditEvent], state: HedgeState) -> None:
        self.commits += 1
        self.sink.append_many(events)
        self.save(state)


async def test_one_durable_write_per_idle_cycle_two_with_orders() -> None:
    clock = Clock()
    ex, journal = paper(clock), CountingJournal()
    await run(ex, Pool({"SOL": 0.1}), journal, journal, clock)
    assert (journal.appends, journal.commits, journal.saves) == (0, 1, 1)
    kinds = [e.kind for e in journal.events()]
    assert kinds == [A.CYCLE_START, A.DECISIONS, A.CYCLE_END]
    clock.now += timedelta(minutes=1)
    r = await run(ex, Pool({"SOL": 0.102}), journal, journal, clock)
    assert r.orders_sent == 1
    assert (journal.appends, journal.commits) == (1, 2)  # the write-ahead + the commit
    (decisions,) = [e for e in journal.events() if e.kind == A.DECISIONS and e.cycle == 2]
    assert [s for _, s, _ in A.decision_records([decisions])] == ["SOL"]
    req = next(o for o in ex.all_orders())
    assert req.client_order_id == r.symbols["SOL"].actions[0].client_order_id


async def test_limit_orders_expire_after_timeout_times_multiple() -> None:
    clock = Clock()
    ex, store, audit = paper(clock), MemoryStateStore(), MemoryAuditSink()
    await run(ex, Pool({"SOL": 0.102}), store, audit, clock)
    (intent,) = [e for e in audit.events() if e.kind == A.ORDER_INTENT]
    expiry = timedelta(minutes=CONFIG.order_timeout_minutes * CONFIG.order_expiry_multiple)
    assert intent.data["expires_at"] == (T0 + expiry).isoformat()


def test_state_round_trips_serial_and_unknowns_and_rejects_bad_ones() -> None:
    from xlp_core.errors import StateCorruptError
    from xlp_core.state import PendingOrder, state_from_dict, state_to_dict

    pending = PendingOrder("SOL", 12345, "sell", 0.8, 150.3, "limit", 4, T0, 1)
    state = HedgeState(cycle=3, next_serial=99, unknowns=(pending,))
    assert state_from_dict(state_to_dict(state)) == state
    bads: list[dict[str, object]] = [
        {"next_serial": -1},
        {"unknowns": {}},
        {"unknowns": [{"symbol": "SOL"}]},
    ]
    for bad in bads:
        with pytest.raises(StateCorruptError):
            state_from_dict({**state_to_dict(state), **bad})
