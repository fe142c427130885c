"""Backtest throughput and peak memory per engine, on a year of minute data.

Each engine runs in its own subprocess (so its peak RSS, from
``resource.getrusage``, is its own), on the same deterministic data. The
baseline rows are measured in the same run: ``data only`` (the process
holding the scenario, no engine), the ``fast`` engine (the reference the
``compiled`` engine is compared with) and the cycle engine with the old
in-memory store and audit sinks (``cycle, memory sinks``) beside the new
bounded default.

Targets (issue 11): compiled >= 50M symbol-steps/s per core; cycle engine
>= 10k symbol-steps/s and <= 500 MB peak for a year.

    python benchmarks/backtest_throughput.py [--days 365] [--cycle-steps 10080]
        [--engines data,fast,compiled,cycle,cycle-memory] [--record-every 1]
    python benchmarks/backtest_throughput.py --cycle-year   # the cycle engine over the
        # whole year (minutes: 2.1M symbol-steps), its peak RSS beside the 500 MB target
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

COMPILED_TARGET = 50_000_000
CYCLE_TARGET = 10_000
CYCLE_MEMORY_MB = 500.0
REPEATS = 15
ENGINES = ("data", "fast", "compiled", "cycle", "cycle-memory")
PRE_SHARED = "97a994c"  # the kernel before its two loops shared their helpers


def loop_rates(
    out: dict[str, object], scenario: Any, config: Any, model: Any, arrays: Any, ideals: Any
) -> None:
    """The loop alone (totals only, as a sweep runs it): today's kernel, 97a994c's (its
    totals loop before the shared helpers) and 76c96cc's (before the totals loop),
    alternated ``REPEATS`` times in this process; medians of wall and CPU time."""
    import numpy as np

    from xlp_adapters.backtest import compiled

    sys.path.insert(0, os.path.dirname(__file__))
    from _old_kernel import old_kernel

    old = old_kernel()
    pre = old_kernel(PRE_SHARED)
    symbols = arrays.symbols
    rules, start, avg = compiled._market(model, arrays, ideals, initial_hedge=True)
    fp, ip = compiled._vectors(compiled._params(None, config), config, model)
    args = (
        arrays.epochs, arrays.micros, arrays.prices, ideals, compiled._inits(config, symbols),
        rules, start, avg, arrays.fund_step, arrays.fund_k, arrays.fund_rate, fp, ip,
    )  # fmt: skip
    runs: dict[str, Any] = {"new": lambda: compiled.run_arrays(
        scenario, config, model=model, arrays=arrays, ideals=ideals, record=False
    ).book}  # fmt: skip
    # The same loop called directly, as the baselines are (no Python set-up around it).
    runs["now"] = lambda: compiled.kernel().totals_kernel(*args)[0]
    if pre is not None:
        pre.totals_kernel(*args)  # compile or load its cache
        runs["pre"] = lambda: pre.totals_kernel(*args)[0]
    if old is not None:
        old.run_kernel(*args, False)  # compile or load its cache
        runs["old"] = lambda: old.run_kernel(*args, False)[4]
    walls: dict[str, list[float]] = {k: [] for k in runs}
    cpus: dict[str, list[float]] = {k: [] for k in runs}
    books = {}
    for _ in range(REPEATS):
        for name, fn in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            books[name] = fn()
            walls[name].append(time.perf_counter() - t0)
            # CPU time: on a shared machine, wall time also counts waiting for a core.
            cpus[name].append(time.process_time() - c0)
    for name in runs:
        out[f"{name}_kernel_s"] = statistics.median(walls[name])
        out[f"{name}_kernel_cpu_s"] = statistics.median(cpus[name])
    if old is not None:
        out["same_book"] = bool(np.array_equal(books["new"], books["old"]))
    if pre is not None:
        out["same_book_pre"] = bool(np.array_equal(books["new"], books["pre"]))


def child(engine: str, days: float, steps: int | None, record_every: int, seed: int) -> None:
    from xlp_adapters.backtest import generate_scenario, run_backtest
    from xlp_core.config import HedgeConfig

    config = HedgeConfig(
        pools={"JLP": 2000.0, "ALP": 5000.0},
        threshold_min_usd=25.0,
        threshold_max_usd=150.0,
        threshold_step_usd=25.0,
    )
    scenario = generate_scenario(days=days, seed=seed, digits=None)
    if steps is not None:
        scenario = scenario.head(steps)
    n_sym = len(scenario.symbols)
    out: dict[str, object] = {"symbol_steps": len(scenario) * n_sym}
    if engine == "compiled":
        t0 = time.perf_counter()
        run_backtest(scenario.head(10), config, engine="compiled")  # compile or load the cache
        out["warmup_s"] = time.perf_counter() - t0
    if engine == "cycle-memory":
        # The previous default: every audit event and a JSON state copy kept in memory.
        from xlp_adapters.audit import MemoryAuditSink
        from xlp_adapters.backtest import engine as engine_mod
        from xlp_adapters.stores import MemoryStateStore

        engine_mod._open_store = lambda path: MemoryStateStore()  # type: ignore[assignment]
        engine_mod._open_audit = lambda path: MemoryAuditSink()  # type: ignore[assignment]
    if engine != "data":
        name = "cycle" if engine.startswith("cycle") else engine
        t0 = time.perf_counter()
        res = run_backtest(scenario, config, engine=name, record_every=record_every)  # type: ignore[arg-type]
        out["secs"] = time.perf_counter() - t0
        out["fills"] = res.summary().fills
        out["rows"] = len(res)
    if engine == "compiled":
        # The loop alone (totals only, as a sweep runs it), without building records.
        from xlp_adapters.backtest import PaperVenue
        from xlp_adapters.backtest.compiled import Arrays
        from xlp_adapters.backtest.data import ideal_series
        from xlp_adapters.backtest.sweeps import _model

        symbols = scenario.check(config)
        arrays = Arrays.of(scenario, symbols)
        ideals = arrays.ideal_matrix(ideal_series(scenario, config, symbols))
        model = _model(scenario, symbols, PaperVenue())
        loop_rates(out, scenario, config, model, arrays, ideals)
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run_child(engine: str, args: argparse.Namespace, steps: int | None) -> dict[str, float]:
    cmd = [
        sys.executable, __file__, "--child", engine, "--days", str(args.days),
        "--seed", str(args.seed), "--record-every", str(args.record_every),
    ]  # fmt: skip
    if steps is not None:
        cmd += ["--steps", str(steps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        raise SystemExit(f"{engine}: child failed")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--cycle-steps", type=int, default=10_080, help="0: the whole period")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--record-every", type=int, default=1)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--cycle-year",
        action="store_true",
        help="only 'data' and 'cycle', the cycle engine over the whole --days period",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.days, args.steps, args.record_every, args.seed)
        return 0
    if args.cycle_year:
        args.engines, args.cycle_steps = "data,cycle", 0

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(
        f"{args.days:g} days of minute data, 4 symbols, records every {args.record_every} step(s)"
    )
    rates: dict[str, float] = {}
    peaks: dict[str, float] = {}
    ok = True
    for engine in args.engines.split(","):
        steps = args.cycle_steps or None if engine.startswith("cycle") else None
        r = run_child(engine, args, steps)
        peaks[engine] = r["maxrss_mb"]
        line = f"{engine:<14} peak {r['maxrss_mb']:8.0f} MB"
        if "secs" in r:
            rate = r["symbol_steps"] / r["secs"]
            rates[engine] = rate
            line += (
                f"  {r['secs']:7.2f} s  {rate:>13,.0f} symbol-steps/s  "
                f"({r['symbol_steps']:,} symbol-steps, {r['fills']} fills, {r['rows']:,} rows)"
            )
        if "warmup_s" in r:
            line += f"  [compile/cache load {r['warmup_s']:.2f} s]"
        loops = (
            ("new", "loop alone"),
            ("now", "  direct call"),
            ("pre", f"  {PRE_SHARED} loop"),
            ("old", "  76c96cc loop"),
        )
        for name, label in loops:
            if f"{name}_kernel_s" not in r:
                continue
            wall, cpu = r[f"{name}_kernel_s"], r[f"{name}_kernel_cpu_s"]
            rates[f"{name} loop"] = r["symbol_steps"] / wall
            rates[f"{name} loop cpu"] = r["symbol_steps"] / cpu
            line += (
                f"\n  {label:<14} median of {REPEATS}: {wall:.4f} s wall = "
                f"{rates[f'{name} loop']:>13,.0f} symbol-steps/s; CPU {cpu:.4f} s = "
                f"{rates[f'{name} loop cpu']:,.0f} symbol-steps per CPU-second (no records)"
            )
        if "same_book" in r:
            line += f"\n  same totals as the 76c96cc loop: {r['same_book']}"
        if "same_book_pre" in r:
            line += f"\n  same totals as the {PRE_SHARED} loop: {r['same_book_pre']}"
            ok &= bool(r["same_book_pre"])
        print(line, flush=True)
    if "new loop" in rates:
        best = max(rates["new loop"], rates["new loop cpu"])
        met = best >= COMPILED_TARGET
        ok &= met
        base = ""
        if "pre loop cpu" in rates:
            ratio = rates["now loop cpu"] / rates["pre loop cpu"]
            base += f"; direct call x{ratio:.3f} the {PRE_SHARED} loop"
        if "old loop cpu" in rates:
            base += f"; x{rates['new loop cpu'] / rates['old loop cpu']:.2f} the 76c96cc loop"
        if "fast" in rates:
            base += f", x{rates['new loop'] / rates['fast']:,.0f} the fast engine"
        verdict = "met" if met else "NOT met"
        print(f"compiled loop: target {COMPILED_TARGET:,}/s per core {verdict}{base}")
    if "cycle" in rates:
        met = rates["cycle"] >= CYCLE_TARGET
        ok &= met
        base = (
            f", x{rates['cycle'] / rates['cycle-memory']:.2f} the memory sinks"
            if "cycle-memory" in rates
            else ""
        )
        print(f"cycle: target {CYCLE_TARGET:,}/s {'met' if met else 'NOT met'}{base}")
    if "cycle" in peaks and not args.cycle_steps:
        # The memory target is for the whole period; a head of it says nothing.
        met = peaks["cycle"] <= CYCLE_MEMORY_MB
        ok &= met
        data = f" (the data alone: {peaks['data']:.0f} MB)" if "data" in peaks else ""
        print(
            f"cycle, {args.days:g} days: peak {peaks['cycle']:.0f} MB{data}; "
            f"target <= {CYCLE_MEMORY_MB:.0f} MB {'met' if met else 'NOT met'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
