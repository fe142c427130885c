"""The backtester: data loading and validation, both engines, results, plot."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest

from xlp_adapters.backtest import (
    BacktestResult,
    PaperVenue,
    Scenario,
    ScenarioError,
    generate_scenario,
    load_scenario,
    run_backtest,
    write_scenario,
)
from xlp_adapters.backtest.data import (
    SAMPLE_DAYS,
    SAMPLE_SEED,
    PoolPath,
    funding_schedule,
    ideal_series,
    lp_values,
)
from xlp_adapters.backtest.data import main as data_main
from xlp_adapters.backtest.fast import next_cycle_at, progress_bar
from xlp_adapters.backtest.results import COLUMNS, Book
from xlp_adapters.paper import DEFAULT_MARKETS
from xlp_core.config import HedgeConfig
from xlp_core.decision import Decision, Observation
from xlp_core.errors import InvalidInputError, InvalidPriceError, MissingSymbolError
from xlp_core.hedge import ideal_hedges
from xlp_core.models import PoolSnapshot
from xlp_core.state import SymbolState
from xlp_core.strategy import ZoneStrategy

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "data" / "sample"
CONFIG = HedgeConfig.load(SAMPLE / "hedge.toml", environ={})
DAY = 1440

# Tight thresholds, short timers: exercises market closes after timeouts,
# max-zone alerts and the post-fill cooldown, not just resting limits.
STRESS = attrs.evolve(
    CONFIG,
    threshold_min_usd=10.0,
    threshold_max_usd=60.0,
    threshold_step_usd=5.0,
    order_timeout_minutes=3.0,
    cooldown_after_fill_minutes=4.0,
    order_price_offset_pct=0.05,
    alert_repeat_minutes=7.0,
)


@pytest.fixture(scope="module")
def sample() -> Scenario:
    return load_scenario(SAMPLE)


@pytest.fixture(scope="module")
def fast(sample: Scenario) -> BacktestResult:
    return run_backtest(sample, CONFIG, engine="fast")


@pytest.fixture(scope="module")
def cycle_day(sample: Scenario) -> BacktestResult:
    return run_backtest(sample, CONFIG, engine="cycle", steps=DAY)


def assert_same_run(a: BacktestResult, b: BacktestResult) -> None:
    assert len(a.fills) == len(b.fills)
    for fa, fb in zip(a.fills, b.fills, strict=True):
        assert (fa.time, fa.symbol, fa.side, fa.liquidity) == (
            fb.time,
            fb.symbol,
            fb.side,
            fb.liquidity,
        )
        assert fa.size == pytest.approx(fb.size, abs=1e-12)
        assert abs(fa.price - fb.price) <= 1e-9
        assert fa.fee == pytest.approx(fb.fee, abs=1e-12)
    assert a.final_positions == b.final_positions
    for name, col in a.columns.items():
        assert np.array_equal(col, b.columns[name], equal_nan=col.dtype.kind == "f"), name
    da, db = a.summary().as_dict(), b.summary().as_dict()
    da.pop("engine"), db.pop("engine")
    assert da == db


# --- data ----------------------------------------------------------------------


def test_sample_data_is_what_the_generator_writes(sample: Scenario) -> None:
    fresh = generate_scenario(days=SAMPLE_DAYS, seed=SAMPLE_SEED)
    assert fresh.times == sample.times
    assert fresh.prices == sample.prices
    assert fresh.funding == sample.funding
    assert sorted(fresh.pools) == sorted(sample.pools) == ["ALP", "JLP"]
    for name, path in fresh.pools.items():
        assert path.times == sample.pools[name].times
        assert path.per_token == sample.pools[name].per_token
    assert sample.symbols == ("BONK", "BTC", "ETH", "SOL")
    assert len(sample) == 3 * DAY
    assert sum(f.stat().st_size for f in SAMPLE.iterdir()) < 2_000_000


def test_generator_command_rewrites_the_sample_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert data_main([str(tmp_path)]) == 0
    assert "4320 steps" in capsys.readouterr().out
    for name in ("prices.csv", "pools.csv", "funding.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    sc = generate_scenario(days=0.1, seed=3)
    back = load_scenario(write_scenario(sc, tmp_path / "sc"))
    assert back.times == sc.times
    assert back.prices == sc.prices
    assert back.funding == sc.funding
    assert back.pools["JLP"].per_token == sc.pools["JLP"].per_token


def _write(d: Path, prices: str, pools: str | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "prices.csv").write_text(prices)
    (d / "pools.csv").write_text(
        pools or "timestamp,pool,symbol,per_token\n2025-01-01T00:00:00Z,JLP,SOL,0.01\n"
    )
    return d


GOOD_PRICES = "timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL,150\n2025-01-01T00:01:00Z,SOL,151\n"


def test_nan_price_row_is_a_typed_error_naming_the_line(tmp_path: Path) -> None:
    d = _write(tmp_path, GOOD_PRICES + "2025-01-01T00:02:00Z,SOL,nan\n")
    with pytest.raises(InvalidPriceError, match=r"prices.csv:4"):
        load_scenario(d)


def test_missing_symbol_at_a_timestamp_is_a_typed_error(tmp_path: Path) -> None:
    d = _write(
        tmp_path,
        GOOD_PRICES + "2025-01-01T00:00:00Z,ETH,3000\n",  # ETH only at the first step
    )
    with pytest.raises(MissingSymbolError, match=r"ETH: no price at 2025-01-01T00:01:00"):
        load_scenario(d)


@pytest.mark.parametrize(
    ("prices", "pattern"),
    [
        ("time,symbol,price\n", "header"),
        ("timestamp,symbol,price\nyesterday,SOL,1\n", "bad timestamp"),
        ("timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL,abc\n", "not a number"),
        ("timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL\n", "expected 3 fields"),
        (GOOD_PRICES + "2025-01-01T00:01:00Z,SOL,152\n", "second SOL price"),
        ("timestamp,symbol,price\n", "no rows"),
    ],
)
def test_malformed_files_are_scenario_errors(tmp_path: Path, prices: str, pattern: str) -> None:
    with pytest.raises(ScenarioError, match=pattern):
        load_scenario(_write(tmp_path, prices))


def test_missing_directory_or_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not a directory"):
        load_scenario(tmp_path / "nope")
    (tmp_path / "prices.csv").write_text(GOOD_PRICES)
    with pytest.raises(ScenarioError, match=r"pools\.csv: file not found"):
        load_scenario(tmp_path)


def test_negative_price_in_a_built_scenario() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    pools = {"JLP": PoolPath("JLP", (t0,), ({"SOL": 0.01},))}
    with pytest.raises(InvalidPriceError, match="SOL price"):
        Scenario(times=(t0,), prices={"SOL": (-1.0,)}, pools=pools)
    with pytest.raises(InvalidPriceError):
        Scenario(times=(t0,), prices={"SOL": (math.nan,)}, pools=pools)
    with pytest.raises(ScenarioError, match="timezone"):
        Scenario(times=(t0.replace(tzinfo=None),), prices={"SOL": (1.0,)}, pools=pools)


def test_bad_data_fails_before_anything_runs(tmp_path: Path) -> None:
    d = _write(tmp_path / "sc", GOOD_PRICES)
    state, audit = tmp_path / "state.sqlite", tmp_path / "audit.sqlite"
    # ALP is held but has no composition.
    cfg = HedgeConfig(pools={"JLP": 100.0, "ALP": 10.0})
    with pytest.raises(MissingSymbolError, match="ALP"):
        run_backtest(d, cfg, state_path=state, audit_path=audit)
    # BTC is to be hedged but has no price.
    cfg = HedgeConfig(pools={"JLP": 100.0}, symbols=("SOL", "BTC"))
    with pytest.raises(MissingSymbolError, match="BTC"):
        run_backtest(d, cfg, state_path=state, audit_path=audit)
    assert not state.exists()
    assert not audit.exists()


def test_pool_composition_must_cover_the_start(tmp_path: Path) -> None:
    pools = "timestamp,pool,symbol,per_token\n2025-01-01T00:01:00Z,JLP,SOL,0.01\n"
    d = _write(tmp_path, GOOD_PRICES, pools)
    with pytest.raises(MissingSymbolError, match="JLP: no composition at 2025-01-01T00:00:00"):
        run_backtest(d, HedgeConfig(pools={"JLP": 100.0}), engine="fast")


def test_nothing_to_hedge_is_an_error(tmp_path: Path) -> None:
    pools = "timestamp,pool,symbol,per_token\n2025-01-01T00:00:00Z,JLP,USDC,1.0\n"
    d = _write(tmp_path, GOOD_PRICES, pools)
    with pytest.raises(ScenarioError, match="nothing to hedge"):
        run_backtest(d, HedgeConfig(pools={"JLP": 100.0}), engine="fast")


def test_ideal_series_is_the_cores_ideal_hedge(sample: Scenario) -> None:
    symbols = sample.check(CONFIG)
    ideals = ideal_series(sample, CONFIG, symbols)
    for i in (0, 59, 60, 61, 1000, len(sample) - 1):
        t = sample.times[i]
        snaps = [PoolSnapshot(p, sample.pools[p].at(t)) for p in CONFIG.pools]
        expected = ideal_hedges(CONFIG.pools, snaps)
        assert {s: ideals[s][i] for s in symbols} == expected


def test_funding_is_due_at_the_first_step_at_or_after_it(sample: Scenario) -> None:
    due = funding_schedule(sample, ("SOL",))
    assert min(due) == 60  # the first funding row is at 01:00, the 61st minute
    assert all(ev == (("SOL", ev[0][1]),) for ev in due.values())


def test_lp_value_counts_stablecoins_at_par() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    pools = {"JLP": PoolPath("JLP", (t0,), ({"SOL": 2.0, "USDC": 3.0},))}
    sc = Scenario(times=(t0,), prices={"SOL": (10.0,)}, pools=pools)
    assert lp_values(sc, HedgeConfig(pools={"JLP": 5.0}), [0]).tolist() == [5 * (20.0 + 3.0)]
    pools = {"JLP": PoolPath("JLP", (t0,), ({"SOL": 2.0, "DOGE": 1.0},))}
    sc = Scenario(times=(t0,), prices={"SOL": (10.0,)}, pools=pools)
    assert math.isnan(lp_values(sc, HedgeConfig(pools={"JLP": 5.0}), [0])[0])


# --- accounting ----------------------------------------------------------------


def test_book_average_cost_realised_and_funding() -> None:
    b = Book()
    b.open(-10.0, 100.0)
    b.fill(-10.0, 110.0, fee=1.0)  # add to the short
    assert b.avg_price == pytest.approx(105.0)
    b.fill(5.0, 95.0, fee=0.5)  # buy back 5 below the average
    assert b.realised == pytest.approx(50.0)
    assert b.position == pytest.approx(-15.0)
    b.fill(20.0, 100.0, fee=0.0)  # flip long
    assert b.position == pytest.approx(5.0)
    assert b.avg_price == 100.0
    assert b.realised == pytest.approx(50.0 + 15 * 5.0)
    assert b.pay_funding(100.0, 0.001) == pytest.approx(-0.5)  # longs pay
    assert b.pnl(102.0) == pytest.approx(125.0 + 10.0 - 1.5 - 0.5)
    assert b.fills == 3


def test_cycles_run_on_the_runners_fixed_grid() -> None:
    assert next_cycle_at(0.0, 0.0, 150.0) == 150.0
    assert next_cycle_at(0.0, 180.0, 150.0) == 300.0
    assert next_cycle_at(10.0, 460.0, 150.0) == 460.0 + 150.0


# --- engines -------------------------------------------------------------------


def test_fast_engine_is_deterministic(sample: Scenario, fast: BacktestResult) -> None:
    again = run_backtest(sample, CONFIG, engine="fast")
    assert_same_run(fast, again)
    s = fast.summary()
    assert s.fills == len(fast.fills) > 10
    assert s.cycles == len(sample)
    assert s.fees == pytest.approx(sum(f.fee for f in fast.fills))
    assert {f.symbol for f in fast.fills} <= set(fast.symbols)


def test_fast_engine_matches_the_real_cycle(sample: Scenario, cycle_day: BacktestResult) -> None:
    fast_day = run_backtest(sample, CONFIG, engine="fast", steps=DAY)
    assert len(cycle_day.fills) > 5
    assert_same_run(fast_day, cycle_day)


STRESS_VARIANTS = {
    "stress": STRESS,
    # Post-only limits at the market: most are rejected for crossing.
    "post_only": attrs.evolve(
        STRESS, post_only=True, order_price_offset_pct=0.0, max_limit_deviation_pct=0.0
    ),
    # Small closes raised to the venue minimum, some refused at their limit price.
    "minimums": attrs.evolve(
        STRESS,
        threshold_min_usd=4.0,
        threshold_max_usd=30.0,
        threshold_step_usd=2.0,
        close_ratio_pct=20.0,
        order_price_offset_pct=0.5,
    ),
    # Notional caps refuse orders; cycles every 2 minutes, fills in between.
    "caps": attrs.evolve(
        STRESS,
        max_order_notional_usd=12.0,
        max_cycle_notional_usd=20.0,
        check_interval_seconds=120.0,
    ),
    # A slippage cap tighter than the venue's: market closes are rejected.
    "slippage": attrs.evolve(STRESS, market_slippage_pct=0.01),
}


@pytest.fixture(scope="module")
def stress_scenario() -> Scenario:
    return generate_scenario(days=0.5, seed=11, pool_drift_per_day=0.08)


def test_stress_covers_every_rule(stress_scenario: Scenario) -> None:
    cycle = run_backtest(stress_scenario, STRESS, engine="cycle")
    liquidity = {f.liquidity for f in cycle.fills}
    assert liquidity == {"maker", "taker"}  # limits rested and filled; timeouts closed at market
    assert cycle.summary().alerts > 0


@pytest.mark.parametrize("variant", sorted(STRESS_VARIANTS))
def test_fast_engine_matches_the_cycle_under_stress(
    stress_scenario: Scenario, variant: str
) -> None:
    cfg = STRESS_VARIANTS[variant]
    fast = run_backtest(stress_scenario, cfg, engine="fast")
    cycle = run_backtest(stress_scenario, cfg, engine="cycle")
    assert cycle.fills
    assert_same_run(fast, cycle)


@attrs.frozen
class CountingStrategy:
    """A custom strategy: the zone rules, counted."""

    inner: ZoneStrategy
    calls: list[int] = attrs.field(factory=list)

    def decide(self, prev: SymbolState, obs: Observation, now: datetime) -> Decision:
        self.calls.append(1)
        return self.inner.decide(prev, obs, now)


def test_a_custom_strategy_is_consulted_every_cycle(stress_scenario: Scenario) -> None:
    steps = 240
    fast_strategy = CountingStrategy(ZoneStrategy(STRESS.decision_params()))
    fast = run_backtest(stress_scenario, STRESS, engine="fast", strategy=fast_strategy, steps=steps)
    cycle_strategy = CountingStrategy(ZoneStrategy(STRESS.decision_params()))
    cycle = run_backtest(stress_scenario, STRESS, strategy=cycle_strategy, steps=steps)
    assert len(fast_strategy.calls) == len(cycle_strategy.calls) == steps * 4
    assert_same_run(fast, cycle)


def test_slower_check_interval_and_no_initial_hedge() -> None:
    sc = generate_scenario(days=0.25, seed=5, pool_drift_per_day=0.08)
    cfg = attrs.evolve(STRESS, check_interval_seconds=150.0, max_cycle_notional_usd=5000.0)
    fast = run_backtest(sc, cfg, engine="fast", initial_hedge=False)
    cycle = run_backtest(sc, cfg, engine="cycle", initial_hedge=False)
    assert fast.summary().cycles == math.ceil(len(sc) * 60 / 150)
    # Unhedged from the start, the exposure is far above the max: alerts only.
    assert fast.fills == ()
    assert fast.summary().alerts > 0
    assert_same_run(fast, cycle)


def test_state_and_audit_can_live_in_sqlite(sample: Scenario, tmp_path: Path) -> None:
    state, audit = tmp_path / "state.sqlite", tmp_path / "audit.sqlite"
    res = run_backtest(sample, CONFIG, steps=30, state_path=state, audit_path=audit)
    assert state.stat().st_size > 0
    assert audit.stat().st_size > 0
    assert res.summary().cycles == 30
    with pytest.raises(ScenarioError, match="fresh state"):
        run_backtest(sample, CONFIG, steps=30, state_path=state)
    again = run_backtest(
        sample, CONFIG, steps=30, state_path=state, audit_path=audit, overwrite=True
    )
    assert_same_run(res, again)
    with pytest.raises(ScenarioError, match="engine='cycle'"):
        run_backtest(sample, CONFIG, engine="fast", state_path=tmp_path / "other.sqlite")


def test_custom_venue_and_unlisted_markets(sample: Scenario) -> None:
    venue = PaperVenue(taker_fee=0.001, maker_fee=0.0)
    fast = run_backtest(sample, CONFIG, engine="fast", steps=DAY, venue=venue)
    cycle = run_backtest(sample, CONFIG, engine="cycle", steps=DAY, venue=venue)
    assert_same_run(fast, cycle)
    assert fast.fills
    for f in fast.fills:
        assert f.fee == pytest.approx(f.size * f.price * (0.001 if f.liquidity == "taker" else 0.0))
    no_bonk = PaperVenue(markets={k: v for k, v in DEFAULT_MARKETS.items() if k != "BONK"})
    with pytest.raises(MissingSymbolError, match="BONK: no market"):
        run_backtest(sample, CONFIG, engine="fast", venue=no_bonk)


async def test_runs_inside_a_running_event_loop(sample: Scenario) -> None:
    # Jupyter kernels run one; the cycle engine then runs in a worker thread.
    res = run_backtest(sample, CONFIG, engine="cycle", steps=20)
    assert res.summary().cycles == 20


def test_bad_options(sample: Scenario) -> None:
    with pytest.raises(ScenarioError, match="engine"):
        run_backtest(sample, CONFIG, engine="slow")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="record_every"):
        run_backtest(sample, CONFIG, record_every=0)
    with pytest.raises(ScenarioError, match="steps"):
        run_backtest(sample, CONFIG, steps=0)


# --- results -------------------------------------------------------------------


def test_records_and_frame_shapes_and_dtypes(sample: Scenario) -> None:
    res = run_backtest(sample, CONFIG, engine="fast", record_every=60)
    sampled = len(range(0, len(sample), 60)) + 1  # plus the last step
    assert len(res) == sampled * 4
    records = res.records
    assert len(records) == len(res)
    r = records[0]
    assert r.time == sample.start
    assert r.symbol == "BONK"
    assert isinstance(r.price, float)
    assert r.zone is None or isinstance(r.zone, int)
    assert records[-1].time == sample.end

    frame = res.to_frame()
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "time"
    assert list(frame.columns) == list(COLUMNS[1:])
    assert frame.shape == (len(res), len(COLUMNS) - 1)
    assert frame["symbol"].dtype == "category"
    assert list(frame["symbol"].cat.categories) == ["BONK", "BTC", "ETH", "SOL"]
    assert str(frame["zone"].dtype) == "Int64"
    assert frame["fills"].dtype == np.int64
    assert frame["open_order"].dtype == bool
    for col in ("price", "offset_usd", "fees", "funding", "hedge_pnl", "lp_value"):
        assert frame[col].dtype == np.float64, col
    assert frame["lp_value"].notna().all()
    last = frame.iloc[-4:]
    assert last["fills"].sum() == res.summary().fills
    assert last["hedge_pnl"].sum() == pytest.approx(res.summary().hedge_pnl)
    by_record = [(x.symbol, x.zone) for x in records]
    by_frame = [
        (s, None if pd.isna(z) else int(z))
        for s, z in zip(frame["symbol"], frame["zone"], strict=True)
    ]
    assert by_record == by_frame


def test_summary_is_consistent_and_serialisable(fast: BacktestResult) -> None:
    s = fast.summary()
    d = s.as_dict()
    json.dumps(d)
    assert d["fills"] == sum(v["fills"] for v in d["by_symbol"].values())
    assert s.hedge_pnl == pytest.approx(s.realised_pnl + s.unrealised_pnl - s.fees + s.funding)
    assert s.lp_value_start is not None
    assert s.lp_value_start > 0
    assert s.net_pnl == pytest.approx((s.lp_pnl or 0.0) + s.hedge_pnl)
    assert 0 < s.time_outside_threshold_pct < 100
    assert s.max_abs_offset_usd >= CONFIG.threshold_min_usd
    assert "fills" in s.format()
    assert len(fast.fills_frame()) == s.fills


def test_plot_writes_a_png(fast: BacktestResult, tmp_path: Path) -> None:
    fig = fast.plot(tmp_path / "plots" / "bt.png")
    assert len(fig.axes) == 3
    data = (tmp_path / "plots" / "bt.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_progress_bar_stays_quiet_off_a_terminal(
    sample: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    assert progress_bar(10, True, "x").disable  # stderr is captured, not a TTY
    assert progress_bar(10, False, "x").disable
    run_backtest(sample, CONFIG, engine="fast", steps=100, progress=True)
    run_backtest(sample, CONFIG, engine="cycle", steps=5, progress=True)
    assert capsys.readouterr().err == ""


def test_steps_slices_from_the_start(sample: Scenario) -> None:
    res = run_backtest(sample, CONFIG, engine="fast", steps=10)
    assert res.summary().end == sample.start + timedelta(minutes=9)
    assert len(res) == 40


def test_records_round_trip_through_parquet(fast: BacktestResult, tmp_path: Path) -> None:
    path = fast.to_parquet(tmp_path / "records.parquet")
    back = pd.read_parquet(path)
    frame = fast.to_frame()
    assert list(back.columns) == list(frame.columns)
    assert len(back) == len(frame)
    assert back["position"].tolist() == frame["position"].tolist()
    with pytest.raises(InvalidInputError):
        fast.to_parquet(tmp_path / "missing-dir" / "x" / "records.parquet")
