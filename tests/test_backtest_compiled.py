"""The compiled engine against the Python reference engines, and sweeps."""

from __future__ import annotations

import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_backtest import CONFIG, SAMPLE, STRESS, STRESS_VARIANTS
from xlp_adapters.backtest import (
    BacktestResult,
    Scenario,
    ScenarioError,
    generate_scenario,
    load_scenario,
    run_backtest,
    sweep,
)
from xlp_adapters.backtest import compiled as compiled_mod
from xlp_adapters.backtest.data import DEFAULT_ASSETS
from xlp_adapters.backtest.sweeps import METRICS, expand
from xlp_core.errors import ConfigError, InvalidInputError, MissingExtraError
from xlp_core.ids import is_ours
from xlp_core.strategy import ZoneStrategy

pytest.importorskip("numba")

DAY = 1440


def assert_identical(a: BacktestResult, b: BacktestResult) -> None:
    """Same fills (to the last bit; client ids aside), positions, columns and summary."""

    def key(f: object) -> tuple[object, ...]:
        d = attrs.asdict(f)  # type: ignore[arg-type]
        d.pop("client_order_id")
        return tuple(d.values())

    assert [key(f) for f in a.fills] == [key(f) for f in b.fills]
    assert a.final_positions == b.final_positions
    assert a.columns.keys() == b.columns.keys()
    for name, col in a.columns.items():
        assert np.array_equal(col, b.columns[name], equal_nan=col.dtype.kind == "f"), name
    da, db = a.summary().as_dict(), b.summary().as_dict()
    da.pop("engine"), db.pop("engine")
    assert da == db


@pytest.fixture(scope="module")
def sample() -> Scenario:
    return load_scenario(SAMPLE)


@pytest.fixture(scope="module")
def stress_scenario() -> Scenario:
    return generate_scenario(days=0.5, seed=11, pool_drift_per_day=0.08)


def test_compiled_matches_fast_on_the_sample(sample: Scenario) -> None:
    c = run_backtest(sample, CONFIG, engine="compiled")
    f = run_backtest(sample, CONFIG, engine="fast")
    assert c.engine == "compiled"
    assert c.fills
    assert_identical(c, f)
    assert all(is_ours(x.client_order_id or 0, CONFIG.namespace) for x in c.fills)
    ids = [x.client_order_id for x in c.fills]
    assert len(set(ids)) == len(ids)


def test_compiled_matches_the_cycle_on_a_day(sample: Scenario) -> None:
    c = run_backtest(sample, CONFIG, engine="compiled", steps=DAY)
    cyc = run_backtest(sample, CONFIG, engine="cycle", steps=DAY)
    assert_identical(c, cyc)


@pytest.mark.parametrize("variant", sorted(STRESS_VARIANTS))
def test_compiled_matches_fast_under_stress(stress_scenario: Scenario, variant: str) -> None:
    cfg = STRESS_VARIANTS[variant]
    c = run_backtest(stress_scenario, cfg, engine="compiled", record_every=7)
    f = run_backtest(stress_scenario, cfg, engine="fast", record_every=7)
    assert f.fills
    assert_identical(c, f)


def test_stress_variant_against_the_cycle_engine(stress_scenario: Scenario) -> None:
    c = run_backtest(stress_scenario, STRESS, engine="compiled")
    assert {f.liquidity for f in c.fills} == {"maker", "taker"}
    assert c.summary().alerts > 0
    assert_identical(c, run_backtest(stress_scenario, STRESS, engine="cycle"))


@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    vol=st.floats(0.05, 3.0),
    drift=st.floats(0.0, 0.3),
    min_usd=st.floats(2.0, 60.0),
    width=st.floats(5.0, 200.0),
    steps=st.integers(1, 12),
    timeout=st.floats(0.5, 30.0),
    cooldown=st.floats(0.0, 30.0),
    ratio=st.floats(1.0, 100.0),
    price_pct=st.floats(0.0, 2.0),
    interval=st.sampled_from([60.0, 90.0, 120.0, 300.0]),
    initial_hedge=st.booleans(),
    post_only=st.booleans(),
    funding=st.sampled_from([None, 600, 3600]),
)
def test_compiled_matches_fast_on_generated_series(
    seed: int, vol: float, drift: float, min_usd: float, width: float, steps: int,
    timeout: float, cooldown: float, ratio: float, price_pct: float, interval: float,
    initial_hedge: bool, post_only: bool, funding: int | None,
) -> None:  # fmt: skip
    assets = {**DEFAULT_ASSETS, "SOL": attrs.evolve(DEFAULT_ASSETS["SOL"], volatility=vol)}
    sc = generate_scenario(
        days=0.15, seed=seed, assets=assets,
        pool_drift_per_day=drift, funding_every_seconds=funding, pool_every_seconds=1800,
    )  # fmt: skip
    cfg = attrs.evolve(
        CONFIG,
        threshold_min_usd=min_usd,
        threshold_max_usd=min_usd + width,
        threshold_step_usd=width / steps,
        order_timeout_minutes=timeout,
        cooldown_after_fill_minutes=cooldown,
        close_ratio_pct=ratio,
        order_price_offset_pct=price_pct,
        check_interval_seconds=interval,
        post_only=post_only,
    )
    kw = {"initial_hedge": initial_hedge, "record_every": 5}
    assert_identical(
        run_backtest(sc, cfg, engine="compiled", **kw),  # type: ignore[arg-type]
        run_backtest(sc, cfg, engine="fast", **kw),  # type: ignore[arg-type]
    )


def test_compiled_takes_zone_strategy_params_and_refuses_others(sample: Scenario) -> None:
    params = attrs.evolve(CONFIG.decision_params(), close_ratio_pct=25.0)
    c = run_backtest(sample, CONFIG, engine="compiled", strategy=ZoneStrategy(params), steps=DAY)
    f = run_backtest(sample, CONFIG, engine="fast", strategy=ZoneStrategy(params), steps=DAY)
    assert_identical(c, f)

    class Custom(ZoneStrategy):
        pass

    with pytest.raises(InvalidInputError, match="ZoneStrategy only"):
        run_backtest(sample, CONFIG, engine="compiled", strategy=Custom(params))


def test_missing_numba_is_a_missing_extra_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba.core.config", None)
    with pytest.raises(MissingExtraError, match=r"xlp-core\[fast\]"):
        compiled_mod.kernel()


def test_numba_cache_falls_back_to_a_writable_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert compiled_mod._cache_dir_fallback() == tmp_path / "cache" / "xlp-core" / "numba"
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        monkeypatch.setenv("XDG_CACHE_HOME", str(ro / "sub"))
        assert compiled_mod._cache_dir_fallback().is_dir()
    finally:
        ro.chmod(0o700)


# --- sweeps ---------------------------------------------------------------------

GRID = {"threshold_min_usd": [20.0, 25.0], "close_ratio_pct": [20.0, 40.0]}


def test_sweep_compiled_equals_fast_and_single_runs(sample: Scenario) -> None:
    short = sample.head(DAY)
    a = sweep(short, GRID, config=CONFIG)
    b = sweep(short, GRID, config=CONFIG, engine="fast", executor=_inline())
    assert list(a.columns[:2]) == ["threshold_min_usd", "close_ratio_pct"]
    assert len(a) == 4
    exact = ["net_pnl", "hedge_pnl", "fees", "funding", "fills", "max_abs_offset_usd", "alerts"]
    assert a[exact].equals(b[exact])
    assert np.allclose(a["tracking_error_usd"], b["tracking_error_usd"], rtol=1e-9)
    assert np.allclose(a["time_outside_threshold_pct"], b["time_outside_threshold_pct"])
    one = run_backtest(
        short, attrs.evolve(CONFIG, threshold_min_usd=25.0, close_ratio_pct=40.0), engine="fast"
    ).summary()
    assert a.loc[3, "hedge_pnl"] == one.hedge_pnl
    assert a.loc[3, "fills"] == one.fills


def test_sweep_grid_errors(sample: Scenario) -> None:
    with pytest.raises(ConfigError, match="not a HedgeConfig field"):
        sweep(sample, {"nope": [1]}, config=CONFIG)
    with pytest.raises(ConfigError):
        sweep(sample, {"threshold_min_usd": [500.0]}, config=CONFIG)  # min >= max
    with pytest.raises(ConfigError, match="non-empty"):
        expand({"threshold_min_usd": []})
    assert expand([{"a": 1}, {"b": 2}]) == [{"a": 1}, {"b": 2}]


def test_sweep_on_a_dask_local_cluster(sample: Scenario) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1,
            processes=False,
            protocol="tcp",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        rows = sweep(
            sample.head(240), {"close_ratio_pct": [20.0, 40.0]}, config=CONFIG,
            executor=client.get_executor(), chunk_size=1,
        )  # fmt: skip
    local = sweep(sample.head(240), {"close_ratio_pct": [20.0, 40.0]}, config=CONFIG)
    assert rows.equals(local)


def _inline() -> Executor:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1)


def test_sweep_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from xlp_adapters.backtest import sweep_cli

    p = argparse.ArgumentParser(prog="xlp")
    sweep_cli.add_parser(p.add_subparsers(dest="command"))
    out = tmp_path / "out" / "sweep.csv"
    args = p.parse_args(
        ["sweep", str(SAMPLE), "--grid", "threshold_min_usd=20,25", "--grid",
         "close_ratio_pct=20,40", "--csv", str(out), "--workers", "2"]
    )  # fmt: skip
    assert args.func(args) == 0
    assert "tracking_error_usd" in capsys.readouterr().out
    lines = out.read_text().splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("config,threshold_min_usd,close_ratio_pct")

    bad = [
        ["--grid", "threshold_min_usd=abc"],
        ["--grid", "nope=1"],
        ["--grid", "threshold_min_usd"],
        [],
        ["--grid", "close_ratio_pct=20", "--csv", str(tmp_path)],  # a directory
    ]
    for extra in bad:
        a = p.parse_args(["sweep", str(SAMPLE), *extra])
        with pytest.raises(InvalidInputError if "--csv" in extra else ConfigError):
            a.func(a)


def test_sweep_python_engines_default_to_a_process_pool(sample: Scenario) -> None:
    short = sample.head(120)
    grid = {"close_ratio_pct": [20.0, 40.0]}
    pooled = sweep(short, grid, config=CONFIG, engine="fast")
    inline = sweep(short, grid, config=CONFIG, engine="fast", executor=_inline())
    assert pooled.equals(inline)
    with pytest.raises(ScenarioError, match="engine"):
        sweep(short, grid, config=CONFIG, engine="slow")  # type: ignore[arg-type]


def test_sweep_over_holdings_groups_configs_by_pools(sample: Scenario) -> None:
    short = sample.head(240)
    grid: dict[str, list[Any]] = {
        "pools": [{"JLP": 2000.0, "ALP": 5000.0}, {"JLP": 3000.0}],
        "close_ratio_pct": [40.0],
    }
    a = sweep(short, grid, config=CONFIG)
    b = sweep(short, grid, config=CONFIG, engine="fast", executor=_inline())
    assert a[["hedge_pnl", "fills", "lp_pnl"]].equals(b[["hedge_pnl", "fills", "lp_pnl"]])
    assert a["lp_pnl"].nunique() == 2


def test_parallel_sweep_rows_equal_each_config_run_alone(sample: Scenario) -> None:
    """The default sweep (all configs in one parallel compiled call) gives, config for
    config, the row of that config run alone on one thread."""
    short = sample.head(DAY)
    grid: list[dict[str, Any]] = [
        {"threshold_min_usd": 20.0, "close_ratio_pct": 20.0},
        {"threshold_min_usd": 25.0, "close_ratio_pct": 40.0, "post_only": False},
        {"check_interval_seconds": 300, "close_ratio_pct": 100.0},
        {"initial_offsets": {"BTC": 0.01}, "threshold_min_usd": 30.0},
        {"max_order_notional_usd": 50.0, "max_cycle_notional_usd": 80.0, "close_ratio_pct": 60.0},
    ]
    together = sweep(short, grid, config=CONFIG)
    for j, overrides in enumerate(grid):
        alone = sweep(short, [overrides], config=CONFIG, executor=_inline())
        row = [together.at[j, m] for m in METRICS]
        assert row == [alone.at[0, m] for m in METRICS], j
    serial = sweep(short, grid, config=CONFIG, executor=_inline(), chunk_size=1)
    assert together.equals(serial)


def _books(sc: Scenario, cfg: Any, *, initial_hedge: bool = True) -> tuple[Any, Any]:
    """The book from the recording loop and from the totals-only (symbol at a time) loop."""
    from xlp_adapters.backtest import PaperVenue
    from xlp_adapters.backtest.data import ideal_series
    from xlp_adapters.backtest.sweeps import _model

    symbols = sc.check(cfg)
    arrays = compiled_mod.Arrays.of(sc, symbols)
    ideals = arrays.ideal_matrix(ideal_series(sc, cfg, symbols))
    model = _model(sc, symbols, PaperVenue())
    kw: dict[str, Any] = {"model": model, "arrays": arrays, "ideals": ideals}
    full = compiled_mod.run_arrays(sc, cfg, initial_hedge=initial_hedge, **kw)
    totals = compiled_mod.run_arrays(sc, cfg, initial_hedge=initial_hedge, record=False, **kw)
    assert len(totals.rows) == 0  # nothing per step kept
    if compiled_mod.budget_free(cfg, len(symbols)):
        assert len(totals.fills) == 0  # the symbol-at-a-time loop ran
    assert totals.cycles == full.cycles
    return full.book, totals.book


@pytest.mark.parametrize("variant", sorted(STRESS_VARIANTS))
def test_totals_loop_equals_the_recording_loop(stress_scenario: Scenario, variant: str) -> None:
    full, totals = _books(stress_scenario, STRESS_VARIANTS[variant])
    assert np.array_equal(full, totals)


@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    min_usd=st.floats(2.0, 60.0),
    width=st.floats(5.0, 200.0),
    timeout=st.floats(0.5, 30.0),
    ratio=st.floats(1.0, 100.0),
    interval=st.sampled_from([60.0, 120.0, 300.0]),
    initial_hedge=st.booleans(),
    post_only=st.booleans(),
    funding=st.sampled_from([None, 600]),
)
def test_totals_loop_equals_the_recording_loop_on_generated_series(
    seed: int, min_usd: float, width: float, timeout: float, ratio: float, interval: float,
    initial_hedge: bool, post_only: bool, funding: int | None,
) -> None:  # fmt: skip
    sc = generate_scenario(
        days=0.15, seed=seed, pool_drift_per_day=0.1, funding_every_seconds=funding,
        pool_every_seconds=1800,
    )  # fmt: skip
    cfg = attrs.evolve(
        CONFIG,
        threshold_min_usd=min_usd,
        threshold_max_usd=min_usd + width,
        threshold_step_usd=width / 4,
        order_timeout_minutes=timeout,
        close_ratio_pct=ratio,
        check_interval_seconds=interval,
        post_only=post_only,
    )
    full, totals = _books(sc, cfg, initial_hedge=initial_hedge)
    assert np.array_equal(full, totals)
