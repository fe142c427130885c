"""``run_backtest``: replay a scenario through the real hedge cycle (or the fast engine).

The ``cycle`` engine is the production code path with simulated time: each
step sets the clock, moves the paper exchange's prices (which fills resting
limits), applies funding, and every ``check_interval_seconds`` of simulated
time runs :func:`~xlp_core.cycle.run_hedge_cycle` against the
:class:`PaperExchange`, a pool source replaying the scenario, and an
in-memory (or SQLite) store, and a bounded audit sink (or a SQLite log
streamed to disk with ``audit_path``). It is the reference; the ``fast``
engine (:mod:`xlp_adapters.backtest.fast`) must produce the same fills.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs

from xlp_adapters.audit import SqliteAuditSink
from xlp_adapters.backtest.data import (
    Scenario,
    ScenarioError,
    funding_schedule,
    ideal_series,
    load_scenario,
)
from xlp_adapters.backtest.fast import (
    FillModel,
    next_cycle_at,
    opening_position,
    progress_bar,
    run_fast,
)
from xlp_adapters.backtest.results import BacktestResult, FillRecord, Recorder
from xlp_adapters.backtest.sinks import LatestStateStore, TailAuditSink
from xlp_adapters.paper import Fill, PaperExchange
from xlp_adapters.pools import SeriesPoolSource
from xlp_adapters.stores import SqliteStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import CycleReport, run_hedge_cycle
from xlp_core.decision import ActionKind
from xlp_core.errors import MissingSymbolError, XlpError
from xlp_core.execution import NO_WAIT
from xlp_core.models import MarketRules
from xlp_core.ports import AuditSink, StateStore
from xlp_core.strategy import Strategy, ZoneStrategy

Engine = Literal["cycle", "fast", "compiled"]
ENGINES: tuple[str, ...] = ("cycle", "fast", "compiled")
T = TypeVar("T")


class BacktestError(XlpError):
    """The simulation itself went wrong (a cycle reported an error)."""


@attrs.define
class SimClock:
    """The simulated wall clock: the engine sets ``now``, the cycle reads it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        """Simulated seconds, so audit records (durations) replay identically."""
        return self.now.timestamp()


async def _no_sleep(seconds: float) -> None:
    """Retries back off in simulated time, which costs nothing."""


def _open_store(state_path: str | Path | None) -> StateStore:
    if state_path is None:
        return LatestStateStore()
    store = SqliteStateStore(Path(state_path))
    if store.load() is not None:
        store.close()
        raise ScenarioError(
            f"{state_path}: already holds hedge state; a backtest needs a fresh state file"
            " (or overwrite=True)"
        )
    return store


def _remove_sqlite(path: Path) -> None:
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        p.unlink(missing_ok=True)


def _open_audit(audit_path: str | Path | None) -> AuditSink:
    if audit_path is None:
        # Bounded: a year of cycles would otherwise keep gigabytes of events.
        return TailAuditSink()
    return SqliteAuditSink(Path(audit_path))


def _fill_record(fill: Fill) -> FillRecord:
    return FillRecord(
        time=fill.at,
        symbol=fill.symbol,
        side=fill.side,
        size=fill.size,
        price=fill.price,
        fee=fill.fee,
        liquidity=fill.liquidity,
        client_order_id=fill.client_order_id,
    )


@attrs.frozen
class PaperVenue:
    """How the simulated venue trades; ``None`` keeps the :class:`PaperExchange` default."""

    markets: Mapping[str, MarketRules] | None = None
    taker_fee: float | None = None
    maker_fee: float | None = None
    slippage: float | None = None
    """A fraction: 0.0005 moves market fills 0.05% against us."""

    def exchange(self, clock: SimClock, prices: Mapping[str, float]) -> PaperExchange:
        default = PaperExchange(self.markets, prices=prices, clock=clock)
        if self.taker_fee is None and self.maker_fee is None and self.slippage is None:
            return default
        return PaperExchange(
            self.markets,
            prices=prices,
            clock=clock,
            taker_fee=default.taker_fee_rate if self.taker_fee is None else self.taker_fee,
            maker_fee=default.maker_fee_rate if self.maker_fee is None else self.maker_fee,
            slippage=default.slippage if self.slippage is None else self.slippage,
        )


async def _replay(
    scenario: Scenario,
    config: HedgeConfig,
    symbols: tuple[str, ...],
    paper: PaperExchange,
    clock: SimClock,
    *,
    record_every: int,
    progress: bool,
    state_path: str | Path | None,
    audit_path: str | Path | None,
    initial_hedge: bool,
    strategy: Strategy | None,
) -> BacktestResult:
    times = scenario.times
    n = len(times)
    epochs = array("d", (t.timestamp() for t in times))  # 8 bytes a step, not ~32
    ideals = ideal_series(scenario, config, symbols)
    funding = funding_schedule(scenario, symbols)
    recorder = Recorder(scenario, config, symbols, ideals, record_every)
    rules = await paper.markets(symbols)
    if initial_hedge:
        for s in symbols:
            pos = opening_position(ideals[s][0], rules[s])
            paper.set_position(s, pos)
            recorder.books[s].open(pos, scenario.prices[s][0])
    held = [p for p, amount in config.pools.items() if amount > 0]
    pools = [SeriesPoolSource(scenario.pools[p], p, clock) for p in held]
    # The cycle must handle every hedged symbol from the first step, as the
    # fast engine does, even one the pools expose only later.
    cfg = attrs.evolve(config, symbols=symbols)
    store = _open_store(state_path)
    try:
        audit = _open_audit(audit_path)
    except BaseException:
        store.close()
        raise
    # Built once, not by every cycle (the cycle would build this same default).
    strategy = strategy or ZoneStrategy(cfg.decision_params())
    cost = dict.fromkeys(symbols, 0.0)
    last_snap: list[tuple[object, ...] | None] = [None] * len(symbols)
    seen = 0
    start = next_due = epochs[0]
    series = [(s, scenario.prices[s]) for s in symbols]
    books = [recorder.books[s] for s in symbols]
    bar = progress_bar(n, progress, "backtest (cycle)")
    try:
        for i in range(n):
            clock.now = times[i]
            paper.set_prices({s: p[i] for s, p in series})
            for sym, rate in funding.get(i, ()):
                paper.apply_funding(sym, rate)
                recorder.books[sym].pay_funding(scenario.prices[sym][i], rate)
            if epochs[i] >= next_due:
                next_due = next_cycle_at(start, epochs[i], config.check_interval_seconds)
                report = await run_hedge_cycle(
                    exchange=paper, pools=pools, store=store, audit=audit, config=cfg,
                    clock=clock, strategy=strategy, policy=NO_WAIT, sleep=_no_sleep,
                    monotonic=clock.monotonic,
                )  # fmt: skip
                _note_cycle(report, times[i], recorder, cost)
            fills = paper.fills
            if len(fills) > seen:
                for fill in fills[seen:]:
                    recorder.on_fill(_fill_record(fill))
                seen = len(fills)
            positions = await paper.positions(symbols)
            open_syms = {o.symbol for o in await paper.open_orders(symbols)}
            recorder.track_step(i, positions, epochs[i + 1] - epochs[i] if i + 1 < n else 0.0)
            for k, s in enumerate(symbols):
                b = books[k]
                pos, live = positions[s], s in open_syms
                mine = (pos, cost[s], live, b.fills, b.funding, b.avg_price)
                if mine != last_snap[k]:
                    # Only changes are recorded (memory O(changes), not O(steps)).
                    last_snap[k] = mine
                    recorder.snapshot(i, k, pos, cost[s], live)
            bar.update(1)
    finally:
        bar.close()
        store.close()
        audit.close()
        await paper.close()
    final = await paper.positions(symbols)
    return recorder.result("cycle", {s: final[s] for s in symbols})


def _note_cycle(
    report: CycleReport, at: datetime, recorder: Recorder, cost: dict[str, float]
) -> None:
    """Stop on a cycle error; note cost bases and alerts for the results."""
    if not report.ok:
        problems = [*report.errors]
        problems += [f"{s}: {r.error}" for s, r in report.symbols.items() if r.error]
        raise BacktestError(f"cycle at {at.isoformat()}: {problems}")
    recorder.cycles += 1
    for sym, rep in report.symbols.items():
        cost[sym] = report.state.symbol(sym).cost_basis
        if rep.actions:
            recorder.alerts[sym] += sum(1 for a in rep.actions if a.action.kind is ActionKind.ALERT)


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, also from inside a running loop (a Jupyter kernel has one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlp-backtest") as pool:
        return pool.submit(asyncio.run, coro).result()


def run_backtest(
    data: Scenario | str | Path,
    config: HedgeConfig,
    *,
    engine: Engine = "cycle",
    progress: bool = False,
    record_every: int = 1,
    state_path: str | Path | None = None,
    audit_path: str | Path | None = None,
    initial_hedge: bool = True,
    strategy: Strategy | None = None,
    steps: int | None = None,
    overwrite: bool = False,
    venue: PaperVenue | None = None,
) -> BacktestResult:
    """Replay a scenario (a directory or a loaded :class:`Scenario`) and report.

    Everything is validated before the first step: a bad row, a pool the
    config holds but the data lacks, or a symbol without prices raises a
    typed error and nothing runs.

    ``engine``: ``"cycle"`` (the production cycle, the reference), ``"fast"``
    (the same decision functions in a plain loop, any strategy) or
    ``"compiled"`` (the default strategy as a numba loop; needs the ``fast``
    extra). All three give the same fills; see docs/backtesting.md.

    ``initial_hedge`` starts from the ideal hedge already in place (the
    reference rules never open a hedge: above the max threshold they only
    alert). ``state_path``/``audit_path`` use SQLite files instead of memory
    (cycle engine only): a state file that already holds state is refused
    (it might be a live hedger's) unless ``overwrite``, which deletes both
    files first. ``steps`` replays only the first ``steps`` steps; ``venue``
    sets the paper exchange's markets, fees and slippage (both engines).
    """
    scenario = data if isinstance(data, Scenario) else load_scenario(data)
    if steps is not None:
        if steps < 1:
            raise ScenarioError("steps must be >= 1")
        scenario = scenario.head(steps)
    if record_every < 1:
        raise ScenarioError("record_every must be >= 1")
    if engine not in ENGINES:
        raise ScenarioError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine != "cycle" and (state_path is not None or audit_path is not None):
        raise ScenarioError("state_path and audit_path need engine='cycle'")
    symbols = scenario.check(config)
    clock = SimClock(scenario.start)
    paper = (venue or PaperVenue()).exchange(clock, {s: scenario.prices[s][0] for s in symbols})
    rules = _run_sync(paper.markets(symbols))
    for s in symbols:
        if s not in rules:
            raise MissingSymbolError(s, "market (not listed on the paper exchange)")
    if engine == "compiled":
        from xlp_adapters.backtest.compiled import run_compiled

        return run_compiled(
            scenario, config, model=FillModel.of(paper, rules), strategy=strategy,
            record_every=record_every, initial_hedge=initial_hedge,
        )  # fmt: skip
    if engine == "fast":
        return run_fast(
            scenario, config, model=FillModel.of(paper, rules), strategy=strategy,
            record_every=record_every, progress=progress, initial_hedge=initial_hedge,
        )  # fmt: skip
    if overwrite:
        for path in (state_path, audit_path):
            if path is not None:
                _remove_sqlite(Path(path))
    return _run_sync(
        _replay(
            scenario, config, symbols, paper, clock, record_every=record_every,
            progress=progress, state_path=state_path, audit_path=audit_path,
            initial_hedge=initial_hedge, strategy=strategy,
        )
    )  # fmt: skip
