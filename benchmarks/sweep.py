"""A 100-config one-year sweep: compiled vs fast engine, and data load time.

Writes a year of minute data as CSV to a temporary directory, then measures
(each beside its baseline, in the same run):

* loading it: cold CSV parse vs the ``.npz`` price cache (target <= 2 s);
* the 100-config sweep (10 minimum thresholds x 10 close ratios) with the
  compiled engine, compiled code already cached: the default (one parallel
  compiled call over all local cores), one thread, the same default with
  97a994c's kernel (before its two loops shared their helpers) and the
  previous default (76c96cc's loop on a thread pool) as baselines (target < 5 s);
* the fast engine on the same grid: ``--fast-configs`` of the configs are run
  (a full 100 would take minutes) and the 100-config time extrapolated.

    python benchmarks/sweep.py [--days 365] [--fast-configs 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

SWEEP_TARGET_S = 5.0
PRE_SHARED = "97a994c"  # the kernel before its two loops shared their helpers
T = TypeVar("T")
LOAD_TARGET_S = 2.0
GRID = {
    "threshold_min_usd": [10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0, 60.0, 75.0],
    "close_ratio_pct": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
}


def old_sweep(scenario: Any, config: Any, old: ModuleType) -> list[dict[str, Any]]:
    """The previous default: chunks of configs on a thread pool, 76c96cc's loop per config."""
    from xlp_adapters.backtest import compiled, sweeps

    configs = sweeps.configs_of(config, sweeps.expand(GRID))
    ((group, idx),) = sweeps._groups(scenario, configs, None)
    rules, start, avg = compiled._market(
        group.model, group.arrays, group.ideals, initial_hedge=True
    )
    a = group.arrays

    def chunk(part: list[int]) -> list[dict[str, Any]]:
        rows = []
        for j in part:
            cfg = configs[j]
            fp, ip = compiled._vectors(compiled._params(None, cfg), cfg, group.model)
            out = old.run_kernel(
                a.epochs, a.micros, a.prices, group.ideals, compiled._inits(cfg, a.symbols),
                rules, start, avg, a.fund_step, a.fund_k, a.fund_rate, fp, ip, False,
            )  # fmt: skip
            rows.append(sweeps._totals(group, out[4]))
        return rows

    cpus = os.cpu_count() or 1
    size = math.ceil(len(idx) / (2 * cpus))
    with ThreadPoolExecutor(max_workers=cpus) as pool:
        parts = [idx[i : i + size] for i in range(0, len(idx), size)]
        return [row for rows in pool.map(chunk, parts) for row in rows]


def with_kernel(module: ModuleType, run: Callable[[], T]) -> T:
    """``run()`` with the compiled engine using ``module`` as its kernel (a baseline)."""
    from xlp_adapters.backtest import compiled

    saved = compiled.kernel
    compiled.kernel = lambda: module
    try:
        return run()
    finally:
        compiled.kernel = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--fast-configs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="sweeps timed per variant")
    args = parser.parse_args()

    from xlp_adapters.backtest import generate_scenario, load_scenario, sweep, write_scenario
    from xlp_adapters.backtest.compiled import kernel
    from xlp_core.config import HedgeConfig

    config = HedgeConfig(
        pools={"JLP": 2000.0, "ALP": 5000.0},
        threshold_min_usd=25.0,
        threshold_max_usd=150.0,
        threshold_step_usd=25.0,
    )
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "year"
        t0 = time.perf_counter()
        write_scenario(generate_scenario(days=args.days, seed=args.seed), d)
        size_mb = (d / "prices.csv").stat().st_size / 1e6
        took = time.perf_counter() - t0
        print(f"wrote {args.days:g} days ({size_mb:.0f} MB prices.csv) in {took:.1f} s")

        t0 = time.perf_counter()
        scenario = load_scenario(d, cache=False)
        cold = time.perf_counter() - t0
        load_scenario(d)  # writes the cache
        t0 = time.perf_counter()
        scenario = load_scenario(d)
        cached = time.perf_counter() - t0
        met = cached <= LOAD_TARGET_S
        ok &= met
        print(
            f"load: cold CSV {cold:6.2f} s   cached {cached:6.2f} s   x{cold / cached:.1f}   "
            f"target {LOAD_TARGET_S} s {'met' if met else 'NOT met'}"
        )

    n_sym = len(scenario.symbols)
    n_cfg = len(GRID["threshold_min_usd"]) * len(GRID["close_ratio_pct"])
    work = len(scenario) * n_sym * n_cfg

    t0 = time.perf_counter()
    kernel()
    sweep(scenario.head(30), {"close_ratio_pct": [40.0]}, config=config)
    print(f"compiled code import/cache load: {time.perf_counter() - t0:.2f} s (not counted)")

    sys.path.insert(0, os.path.dirname(__file__))
    from _old_kernel import old_kernel

    old = old_kernel()
    if old is not None:
        old_sweep(scenario.head(30), config, old)  # compile or load its cache
    pre = old_kernel(PRE_SHARED)
    if pre is not None:  # compile or load its cache
        with_kernel(
            pre, lambda: sweep(scenario.head(30), {"close_ratio_pct": [40.0]}, config=config)
        )
    times: dict[str, list[float]] = {"all": [], "one": [], "pre": [], "old": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        frame = sweep(scenario, GRID, config=config)
        times["all"].append(time.perf_counter() - t0)
        with ThreadPoolExecutor(max_workers=1) as one:
            t0 = time.perf_counter()
            sweep(scenario, GRID, config=config, executor=one)
            times["one"].append(time.perf_counter() - t0)
        if pre is not None:
            t0 = time.perf_counter()
            pre_frame = with_kernel(pre, lambda: sweep(scenario, GRID, config=config))
            times["pre"].append(time.perf_counter() - t0)
        if old is not None:
            t0 = time.perf_counter()
            rows = old_sweep(scenario, config, old)
            times["old"].append(time.perf_counter() - t0)
    all_cores, one_thread = statistics.median(times["all"]), statistics.median(times["one"])
    met = all_cores < SWEEP_TARGET_S
    ok &= met
    print(
        f"compiled sweep, {n_cfg} configs (medians of {args.repeats}): all cores "
        f"{all_cores:6.2f} s ({work / all_cores:,.0f} symbol-steps/s)   one thread "
        f"{one_thread:6.2f} s ({work / one_thread:,.0f}/s)   target {SWEEP_TARGET_S} s "
        f"{'met' if met else 'NOT met'}"
    )
    if pre is not None:
        before = statistics.median(times["pre"])
        same = pre_frame.equals(frame)
        ok &= same
        print(
            f"  baseline, {PRE_SHARED}'s kernel (before the shared helpers), same default: "
            f"{before:6.2f} s   now x{all_cores / before:.3f} its time; same rows: {same}"
        )
    if old is not None:
        before = statistics.median(times["old"])
        same = [r["fills"] for r in rows] == frame["fills"].tolist() and [
            r["hedge_pnl"] for r in rows
        ] == frame["hedge_pnl"].tolist()
        ok &= same
        print(
            f"  baseline, 76c96cc loop on a thread pool (the previous default): {before:6.2f} s"
            f"   x{before / all_cores:.2f} faster now; same rows: {same}"
        )

    k = max(1, min(args.fast_configs, n_cfg))
    subset = [
        {"threshold_min_usd": t, "close_ratio_pct": r}
        for t, r in zip(GRID["threshold_min_usd"][:k], GRID["close_ratio_pct"][:k], strict=True)
    ]
    t0 = time.perf_counter()
    fast = sweep(scenario, subset, config=config, engine="fast")
    fast_s = time.perf_counter() - t0
    extrapolated = fast_s / k * n_cfg
    print(
        f"fast sweep, {k} configs: {fast_s:6.2f} s -> {n_cfg} configs ~{extrapolated:,.0f} s "
        f"(process pool); compiled is x{extrapolated / all_cores:,.0f}"
    )
    same = all(
        frame.loc[
            (frame["threshold_min_usd"] == row["threshold_min_usd"])
            & (frame["close_ratio_pct"] == row["close_ratio_pct"]),
            "fills",
        ].item()
        == row["fills"]
        for _, row in fast.iterrows()
    )
    print(f"compiled and fast rows agree on fills: {same}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
