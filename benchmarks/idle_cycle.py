"""Idle hedge cycle: wall time per cycle over the injected round-trip time.

An idle cycle (balanced hedge: nothing to cancel or place) for N = 1, 4, 20
and 50 symbols on a paper exchange whose every call costs one RTT (a real
``asyncio.sleep``), with no persistence ("null": the core's own CPU),
in-memory and SQLite persistence. The SQLite case
uses ``xlp_adapters.journal.SqliteJournal`` (state and audit in one file,
one commit per cycle) when it exists, else ``SqliteStateStore`` +
``SqliteAuditSink``.

The baseline is the pre-change ``run_hedge_cycle`` (commit ``BASELINE``)
loaded from git and run in this same process; without git the issue's
figures (1.20/1.31/1.83/2.31 x RTT at 20 ms with SQLite) are printed,
labelled "issue baseline". Target: <= 1.2 x RTT at 20 ms for N <= 50.

    python benchmarks/idle_cycle.py [--cycles 30] [--rtt-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import tempfile
import time
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _baseline import git_source

from xlp_adapters.audit import MemoryAuditSink, SqliteAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore, SqliteStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.execution import NO_WAIT
from xlp_core.models import MarketRules, PoolSnapshot

BASELINE = "4cc13b4"  # main before the batched cycle
ISSUE_BASELINE = {1: 1.20, 4: 1.31, 20: 1.83, 50: 2.31}  # x RTT at 20 ms, SQLite


class StaticPool:
    def __init__(self, symbols: list[str], rtt: float) -> None:
        self.symbols, self.rtt = symbols, rtt

    @property
    def name(self) -> str:
        return "BENCH"

    async def fetch(self) -> PoolSnapshot:
        if self.rtt:
            await asyncio.sleep(self.rtt)
        return PoolSnapshot("BENCH", dict.fromkeys(self.symbols, 0.1))


def old_cycle() -> Callable[..., Any] | None:
    """The baseline ``run_hedge_cycle`` from git, or ``None``."""
    src = git_source(BASELINE, "src/xlp_core/cycle.py")
    if src is None:
        return None
    module = types.ModuleType("xlp_core._baseline_cycle")
    sys.modules[module.__name__] = module
    try:
        exec(compile(src, "baseline_cycle.py", "exec"), module.__dict__)
    except Exception as exc:  # the old code may not import against today's modules
        print(f"(baseline not loadable: {type(exc).__name__}: {exc})")
        return None
    fn: Callable[..., Any] = module.run_hedge_cycle
    return fn


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
    if kind == "null":
        return NullJournal(), NullJournal()
    if kind == "memory":
        return MemoryStateStore(), MemoryAuditSink()
    try:
        from xlp_adapters.journal import SqliteJournal
    except ImportError:
        return SqliteStateStore(tmp / "state.sqlite"), SqliteAuditSink(tmp / "audit.sqlite")
    journal = SqliteJournal(tmp / "journal.sqlite")
    return journal, journal


async def measure(
    cycle_fn: Callable[..., Any], n: int, rtt: float, kind: str, cycles: int, tmp: Path
) -> tuple[float, float]:
    """Mean wall and CPU seconds per cycle (CPU: this process only, robust to load)."""
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
    pool = StaticPool(symbols, rtt)
    elapsed = cpu = 0.0
    try:
        for i in range(cycles + 2):
            t0, c0 = time.perf_counter(), time.process_time()
            await cycle_fn(
                exchange=exchange, pools=[pool], store=store, audit=audit, config=config,
                clock=clock, policy=NO_WAIT,
            )  # fmt: skip
            if i >= 2:  # warm-up
                elapsed += time.perf_counter() - t0
                cpu += time.process_time() - c0
            now += timedelta(minutes=1)
    finally:
        store.close()
        if audit is not store:
            audit.close()
    return elapsed / cycles, cpu / cycles


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=30)
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    args = ap.parse_args()
    baseline = old_cycle()
    has_journal = importlib.util.find_spec("xlp_adapters.journal") is not None
    sqlite_kind = "SqliteJournal" if has_journal else "SqliteStateStore+SqliteAuditSink"
    print(f"idle cycle, {args.cycles} cycles each; sqlite = {sqlite_kind}")
    print(f"baseline: {'run_hedge_cycle at ' + BASELINE if baseline else 'issue baseline'}")
    cols = (
        "store",
        "N",
        "RTT ms",
        "new ms",
        "new cpu",
        "base ms",
        "base cpu",
        "new xRTT",
        "base xRTT",
    )
    widths = (7, 3, 6, 8, 8, 8, 8, 9, 10)
    print(" ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)))
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for kind in ("null", "memory", "sqlite"):
            for rtt_ms in (0.0, args.rtt_ms):
                for n in (1, 4, 20, 50):
                    rtt = rtt_ms / 1000
                    sub = tmp / f"{kind}-{n}-{rtt_ms}"
                    (sub / "new").mkdir(parents=True)
                    (sub / "old").mkdir()
                    new, new_cpu = await measure(
                        run_hedge_cycle, n, rtt, kind, args.cycles, sub / "new"
                    )
                    if baseline is not None:
                        old, old_cpu = await measure(
                            baseline, n, rtt, kind, args.cycles, sub / "old"
                        )
                        old_s = f"{old * 1000:8.2f} {old_cpu * 1000:8.2f}"
                        old_x = f"{old / rtt:10.2f}" if rtt else f"{'-':>10}"
                    else:
                        old_s = f"{'-':>8} {'-':>8}"
                        issue = ISSUE_BASELINE.get(n) if kind == "sqlite" and rtt_ms == 20 else None
                        old_x = f"{issue:10.2f}" if issue else f"{'-':>10}"
                    new_x = f"{new / rtt:9.2f}" if rtt else f"{'-':>9}"
                    print(
                        f"{kind:>7} {n:>3} {rtt_ms:>6.0f} {new * 1000:8.2f} {new_cpu * 1000:8.2f}"
                        f" {old_s} {new_x} {old_x}"
                    )
    print(f"issue baseline (sqlite, 20 ms): {ISSUE_BASELINE} x RTT; target <= 1.2 x RTT")


if __name__ == "__main__":
    asyncio.run(main())
