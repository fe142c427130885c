"""Backtest throughput: symbol-steps per second on a year of minute data.

Generates the data in memory (deterministic seed), runs the fast engine over
the whole year (with every step recorded, then with hourly records), and
the real-cycle engine over a short slice for comparison. Target: the fast
engine at >= 250,000 symbol-steps/s on a 2-core machine.

    python benchmarks/backtest_throughput.py [--days 365] [--cycle-steps 1440]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from xlp_adapters.backtest import BacktestResult, Scenario, generate_scenario, run_backtest
from xlp_core.config import HedgeConfig

TARGET = 250_000
CONFIG = HedgeConfig(
    pools={"JLP": 2000.0, "ALP": 5000.0},
    threshold_min_usd=25.0,
    threshold_max_usd=150.0,
    threshold_step_usd=25.0,
)


def timed(
    scenario: Scenario, engine: str, *, record_every: int = 1, steps: int | None = None
) -> tuple[float, BacktestResult]:
    t0 = time.perf_counter()
    result = run_backtest(
        scenario,
        CONFIG,
        engine="fast" if engine == "fast" else "cycle",
        record_every=record_every,
        steps=steps,
    )
    return time.perf_counter() - t0, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--cycle-steps", type=int, default=1440)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    t0 = time.perf_counter()
    scenario = generate_scenario(days=args.days, seed=args.seed, digits=None)
    n_sym = len(scenario.symbols)
    total = len(scenario) * n_sym
    print(
        f"data: {len(scenario):,} steps x {n_sym} symbols = {total:,} symbol-steps "
        f"(generated in {time.perf_counter() - t0:.1f} s)"
    )

    rates: dict[str, float] = {}
    for label, every in (("fast, every step recorded", 1), ("fast, hourly records", 60)):
        secs, res = timed(scenario, "fast", record_every=every)
        rates[label] = total / secs
        print(
            f"{label:<28} {secs:6.2f} s  {rates[label]:>12,.0f} symbol-steps/s  "
            f"x{rates[label] / TARGET:.2f} of target  "
            f"({res.summary().fills} fills, {len(res):,} rows)"
        )

    steps = min(args.cycle_steps, len(scenario))
    secs, res = timed(scenario, "cycle", steps=steps)
    cycle_rate = steps * n_sym / secs
    print(
        f"{'cycle engine (' + str(steps) + ' steps)':<28} {secs:6.2f} s  {cycle_rate:>12,.0f} "
        f"symbol-steps/s  ({res.summary().fills} fills)"
    )
    fast_rate = rates["fast, every step recorded"]
    print(f"fast / cycle: x{fast_rate / cycle_rate:,.0f}")
    ok = fast_rate >= TARGET
    print(f"target {TARGET:,}/s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
