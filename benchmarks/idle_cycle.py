"""Idle hedge cycle: wall time per cycle over the injected round-trip time.

An idle cycle (balanced hedge: nothing to cancel or place) for N = 1, 4, 20
and 50 symbols on a paper exchange whose every call costs one RTT (a real
``asyncio.sleep``), with no persistence ("null": the core's own CPU),
in-memory and SQLite persistence (``xlp_adapters.journal.SqliteJournal``:
state and audit in one file, one commit per cycle).

Two markets: "static" (prices and pool weights never move) and "drift"
(every cycle each price and each pool weight moves a little, as live ones
do, while the hedge stays within the threshold: still idle). An
optimisation must help both.

The SQLite journal is opened as ``xlp run`` opens it, with a secret to
scrub from every stored string. The baseline is the whole library at commit
``BASELINE`` (``git archive`` of ``src/``), run in a worker process beside
the current checkout's worker and a third one running the current library
with ``XLP_PURE_JSON=1`` ("pure": the audit's JSON by the standard library,
as without ``xlp-core[speedups]``); each measurement alternates between
them, so all see the same machine phases. Without git the baseline column
is empty. Target:
<= 1.2 x RTT at 20 ms for N <= 50 with SQLite, i.e. at most 4 ms of local
work for 50 symbols.

Beside the ratios it prints the waits alone ("wait ms": the same five
concurrent ``sleep(RTT)`` with no cycle around them, in the same process right
after) and "local ms", the cycle's wall time minus that: the time the library
adds to the round trip. On this VM the waits alone take 0.5-0.7 ms longer than
the RTT (the event loop's millisecond timer and the wake-up from idle), which
the ratio charges to the cycle.

    python benchmarks/idle_cycle.py [--cycles 30] [--rtt-ms 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _baseline import export_src

BASELINE = "10a6ee8"  # main before the sixth session (no quiet path, no orjson)
BENCH_SECRET = "0x" + "5eC7e7" * 12  # stands for the Lighter key xlp run has the sinks scrub


class BenchPool:
    """Pool weight 0.1 per symbol; with ``drift`` it moves every cycle (< 0.03 %)."""

    def __init__(self, symbols: list[str], rtt: float, *, drift: bool) -> None:
        self.symbols, self.rtt, self.drift = symbols, rtt, drift
        self.weights = dict.fromkeys(symbols, 0.1)

    @property
    def name(self) -> str:
        return "BENCH"

    def step(self, i: int) -> None:
        if self.drift:
            self.weights = {
                s: 0.1 * (1 + 0.0003 * math.sin(0.7 * i + k)) for k, s in enumerate(self.symbols)
            }

    async def fetch(self) -> Any:
        from xlp_core.models import PoolSnapshot

        if self.rtt:
            await asyncio.sleep(self.rtt)
        return PoolSnapshot("BENCH", dict(self.weights))


def drift_prices(symbols: list[str], i: int) -> dict[str, float]:
    """Prices within 0.2 % of 100, different every cycle."""
    return {s: 100.0 * (1 + 0.002 * math.sin(0.3 * i + 2 * k)) for k, s in enumerate(symbols)}


class NullJournal:
    """Keeps the state object, records nothing: isolates the core's own CPU."""

    def __init__(self) -> None:
        self.state: Any = None

    def load(self) -> Any:
        return self.state

    def save(self, state: Any) -> None:
        self.state = state

    def append(self, event: Any) -> None:
        pass

    def append_many(self, events: Any) -> None:
        pass

    def events(self) -> Any:
        return iter(())

    def close(self) -> None:
        pass


def stores(kind: str, tmp: Path) -> tuple[Any, Any]:
    from xlp_adapters.audit import MemoryAuditSink
    from xlp_adapters.journal import SqliteJournal
    from xlp_adapters.stores import MemoryStateStore

    if kind == "null":
        return NullJournal(), NullJournal()
    if kind == "memory":
        return MemoryStateStore(), MemoryAuditSink()
    # With a secret to scrub, as ``xlp run`` opens it (the Lighter key).
    journal = SqliteJournal(tmp / "journal.sqlite", secrets=[BENCH_SECRET])
    return journal, journal


async def measure(
    cycle_fn: Callable[..., Any],
    n: int,
    rtt: float,
    kind: str,
    cycles: int,
    tmp: Path,
    *,
    drift: bool = False,
) -> tuple[float, float, float]:
    """Mean wall and CPU seconds per cycle (CPU: this process only, robust to load),
    and the mean wall of the cycle's waits alone (five concurrent ``sleep(rtt)``:
    the pool and the four venue reads) measured right after, in the same loop."""
    from xlp_adapters.paper import PaperExchange
    from xlp_core.config import HedgeConfig
    from xlp_core.execution import NO_WAIT
    from xlp_core.models import MarketRules

    symbols = [f"S{i:02d}" for i in range(n)]
    rules = {s: MarketRules(s, 0.001, 0.01, min_notional=10.0) for s in symbols}
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def clock() -> datetime:
        return now

    exchange = PaperExchange(
        rules,
        prices=dict.fromkeys(symbols, 100.0),
        positions=dict.fromkeys(symbols, -100.0),
        clock=clock,
        latency=rtt,
    )
    config = HedgeConfig.from_mapping({"pools": {"BENCH": 1000.0}, "symbols": symbols})
    store, audit = stores(kind, tmp)
    pool = BenchPool(symbols, rtt, drift=drift)
    elapsed = cpu = 0.0
    try:
        for i in range(cycles + 2):
            if drift:  # outside the timed part: the market moves between cycles
                exchange.set_prices(drift_prices(symbols, i))
                pool.step(i)
            t0, c0 = time.perf_counter(), time.process_time()
            report = await cycle_fn(
                exchange=exchange, pools=[pool], store=store, audit=audit, config=config,
                clock=clock, policy=NO_WAIT,
            )  # fmt: skip
            if i >= 2:  # warm-up
                elapsed += time.perf_counter() - t0
                cpu += time.process_time() - c0
            if report.orders_sent:
                raise RuntimeError("not an idle cycle: orders were sent")
            now += timedelta(minutes=1)
    finally:
        store.close()
        if audit is not store:
            audit.close()
    waits = 0.0
    for _ in range(cycles):
        t0 = time.perf_counter()
        await asyncio.gather(*(asyncio.sleep(rtt) for _ in range(5)))
        waits += time.perf_counter() - t0
    return elapsed / cycles, cpu / cycles, waits / cycles


def worker() -> None:
    """Measure each request line (JSON) from stdin with this process's library."""
    from xlp_core.cycle import run_hedge_cycle

    with tempfile.TemporaryDirectory() as tmp_dir:
        for i, line in enumerate(sys.stdin):
            req = json.loads(line)
            sub = Path(tmp_dir) / str(i)
            sub.mkdir()
            wall, cpu, wait = asyncio.run(
                measure(
                    run_hedge_cycle, req["n"], req["rtt"], req["kind"], req["cycles"], sub,
                    drift=req["drift"],
                )
            )  # fmt: skip
            print(json.dumps([wall, cpu, wait]), flush=True)


class Worker:
    def __init__(self, src: Path, **extra_env: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(src), **extra_env}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip

    def measure(self, **req: Any) -> tuple[float, float, float]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        wall, cpu, wait = json.loads(self.proc.stdout.readline())
        return float(wall), float(cpu), float(wait)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=30)
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (median shown)")
    ap.add_argument("--kinds", default="null,memory,sqlite")
    ap.add_argument("--sizes", default="1,4,20,50", help="symbol counts N")
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the baseline library")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker()
        return
    here = Path(__file__).resolve().parent.parent / "src"
    with tempfile.TemporaryDirectory() as tmp_dir:
        base_src = export_src(args.baseline, Path(tmp_dir))
        new = Worker(here)
        pure = Worker(here, XLP_PURE_JSON="1")
        base = Worker(base_src) if base_src is not None else None
        print(f"idle cycle, {args.cycles} cycles per run, median of {args.repeat} runs")
        print(f"baseline: {'library at ' + args.baseline if base else 'none (no git)'}")
        print(f"audit JSON: {speedups()}; 'pure': the same library with XLP_PURE_JSON=1")
        cols = ("store", "market", "N", "RTT ms", "new ms", "new cpu", "base ms", "base cpu")
        widths = (7, 6, 3, 6, 8, 8, 8, 8)
        print(
            " ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)),
            " new xRTT pure xRTT base xRTT  wait ms local ms",
        )
        try:
            for kind in args.kinds.split(","):
                for drift in (False, True):
                    for rtt_ms in (0.0, args.rtt_ms):
                        for n in (int(x) for x in args.sizes.split(",")):
                            row(new, pure, base, kind, drift, rtt_ms, n, args)
        finally:
            for w in (new, pure, base):
                if w is not None:
                    w.close()
    print(f"target: <= 1.2 x RTT at {args.rtt_ms:.0f} ms for every N <= 50 (sqlite),")
    print("i.e. at most 4 ms of local work for 50 symbols. 'wait ms' is the cycle's waits")
    print("alone (five concurrent sleep(RTT)) on this machine; 'local ms' = new ms - wait ms.")


def speedups() -> str:
    """Which writer the current library uses for audit JSON."""
    try:
        import orjson
    except ImportError:
        return "the standard library (xlp-core[speedups] not installed)"
    return f"orjson {orjson.__version__} (xlp-core[speedups])"


def row(
    new: Worker,
    pure: Worker,
    base: Worker | None,
    kind: str,
    drift: bool,
    rtt_ms: float,
    n: int,
    args: Any,
) -> None:
    req = {"n": n, "rtt": rtt_ms / 1000, "kind": kind, "cycles": args.cycles, "drift": drift}
    got_new: list[tuple[float, float, float]] = []
    got_pure: list[tuple[float, float, float]] = []
    got_base: list[tuple[float, float, float]] = []
    for _ in range(args.repeat):  # alternate: all see the same machine phases
        got_new.append(new.measure(**req))
        got_pure.append(pure.measure(**req))
        if base is not None:
            got_base.append(base.measure(**req))
    rtt = rtt_ms / 1000

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    def fmt(got: list[tuple[float, float, float]]) -> tuple[str, str]:
        if not got:
            return f"{'-':>8} {'-':>8}", f"{'-':>9}"
        wall, cpu = median([g[0] for g in got]), median([g[1] for g in got])
        x = f"{wall / rtt:9.2f}" if rtt else f"{'-':>9}"
        return f"{wall * 1000:8.2f} {cpu * 1000:8.2f}", x

    (new_s, new_x), (_, pure_x), (base_s, base_x) = fmt(got_new), fmt(got_pure), fmt(got_base)
    wait = median([g[2] for g in got_new])
    local = median([g[0] - g[2] for g in got_new])
    market = "drift" if drift else "static"
    print(
        f"{kind:>7} {market:>6} {n:>3} {rtt_ms:>6.0f} {new_s} {base_s} {new_x} {pure_x} {base_x}"
        f" {wait * 1000:8.2f} {local * 1000:8.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
