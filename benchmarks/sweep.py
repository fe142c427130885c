"""A 100-config one-year sweep: compiled vs fast engine, and data load time.

Writes a year of minute data as CSV to a temporary directory, then measures
(each beside its baseline, in the same run):

* loading it: cold CSV parse vs the ``.npz`` price cache (target <= 2 s);
* the 100-config sweep (10 minimum thresholds x 10 close ratios) with the
  compiled engine, compiled code already cached, on all local cores
  (threads) and on one thread (target < 5 s);
* the fast engine on the same grid: ``--fast-configs`` of the configs are run
  (a full 100 would take minutes) and the 100-config time extrapolated.

    python benchmarks/sweep.py [--days 365] [--fast-configs 4]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SWEEP_TARGET_S = 5.0
LOAD_TARGET_S = 2.0
GRID = {
    "threshold_min_usd": [10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0, 60.0, 75.0],
    "close_ratio_pct": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--fast-configs", type=int, default=4)
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

    t0 = time.perf_counter()
    frame = sweep(scenario, GRID, config=config)
    all_cores = time.perf_counter() - t0
    with ThreadPoolExecutor(max_workers=1) as one:
        t0 = time.perf_counter()
        sweep(scenario, GRID, config=config, executor=one)
        one_thread = time.perf_counter() - t0
    met = all_cores < SWEEP_TARGET_S
    ok &= met
    print(
        f"compiled sweep, {n_cfg} configs: all cores {all_cores:6.2f} s "
        f"({work / all_cores:,.0f} symbol-steps/s)   one thread {one_thread:6.2f} s "
        f"({work / one_thread:,.0f}/s per core)   target {SWEEP_TARGET_S} s "
        f"{'met' if met else 'NOT met'}"
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
