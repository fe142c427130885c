"""Active hedge cycles through the Lighter adapter, on the venue simulator.

For N = 1, 4, 20 and 50 symbols, runs ``run_hedge_cycle`` through
``wrap_exchange`` against :class:`xlp_adapters.lighter.sim.LighterSim` with an
injected round-trip time on every HTTP request, and a pool that drifts each
cycle so every symbol cancels and re-places an order. Prints, per cycle, the
HTTP requests really sent (the simulator's counters), the wall time in RTTs,
and the rate-limit weight (Standard accounts: 1 per request; Premium: 6 per
sendTx/sendTxBatch/nextNonce, 300 per other request), beside the issue-11
baseline of the adapter before batching: 3+4N requests and 2N+4 RTT.

The same cycles are then measured through ``Hedger`` (the real safety stack,
the dead-man switch re-armed every cycle), then at RTT and 5 x RTT to count
the sequential round trips (from the simulator's request times, and as the
slope) apart from the local work, and, as baselines in the same run, the
previous three-step writes (cancel, confirming read, place) through the same
cycle and straight on the adapter, and the per-order sequence. Target (issue
11): <= 8 requests and <= 4 RTT for any N <= 50. The cycles use the default
stores (one SQLite journal, ``synchronous=FULL``), and the simulator runs in
a child process (its work shares the cores, not this process's GIL). The
script measures whichever cycle and adapter are installed, so running it
with ``PYTHONPATH`` pointing at another checkout's ``src`` gives that
checkout's figures on the same machine and load.

    python benchmarks/lighter_cycle.py [--rtt-ms 20] [--cycles 3]
        [--sim-in-process] [--memory-stores]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from _simproc import SimProcess, round_trips, spans
from typing_extensions import override

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.lighter import LighterCredentials, LighterExchange
from xlp_adapters.lighter.sim import LighterSim
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.execution import NO_WAIT
from xlp_core.models import OrderRequest, PoolSnapshot
from xlp_core.ports import ExchangeDefaults, ReplaceOutcome
from xlp_core.safety import ForwardingExchange, wrap_exchange

ACCOUNTS = itertools.count(90_000)
SIM_BUSY: dict[tuple[str, int], float] = {}  # the simulator's own work per cycle, in RTT
TRIPS: dict[tuple[str, int], list[int]] = {}  # sequential round trips of each cycle
PREMIUM = {"sendTx": 6, "sendTxBatch": 6, "nextNonce": 6}
SIM_IN_PROCESS = False  # --sim-in-process: the simulator shares this process (and its GIL)
MEMORY_STORES = False  # --memory-stores: in-memory state and audit instead of SQLite
TMP: list[tempfile.TemporaryDirectory[str]] = []


def count_trips(series: tuple[str, int], sim: Any, requests: int) -> None:
    """Record the cycle's sequential round trips, from the simulator's request times."""
    got = sim.spans(requests) if isinstance(sim, SimProcess) else spans(sim, requests)
    TRIPS.setdefault(series, []).append(round_trips(got))


def journal() -> tuple[Any, Any]:
    """The default stores: one SQLite journal (state and audit, one fsync per write) in a
    fresh temporary directory, or with ``--memory-stores`` the in-memory pair."""
    if MEMORY_STORES:
        return MemoryStateStore(), MemoryAuditSink()
    from xlp_adapters.journal import SqliteJournal

    TMP.append(tempfile.TemporaryDirectory(prefix="xlp-bench-"))  # removed at exit
    j = SqliteJournal(Path(TMP[-1].name) / "journal.sqlite")
    return j, j


def simulator(**options: Any) -> Any:
    """The venue simulator: in a child process by default (the venue's work never
    holds the client's GIL in reality), or in this process's own thread."""
    return LighterSim(**options) if SIM_IN_PROCESS else SimProcess(**options)


def bench_markets(n: int) -> list[dict[str, Any]]:
    return [
        {"market_id": i, "symbol": f"S{i:02d}", "market_type": "perp", "status": "active",
         "size_decimals": 3, "price_decimals": 4, "supported_size_decimals": 3,
         "supported_price_decimals": 4, "min_base_amount": "0.001", "min_quote_amount": "10",
         "mark_price": "100.0000", "last_trade_price": 100.0, "multiplier": "1"}
        for i in range(n)
    ]  # fmt: skip


@attrs.define
class DriftingPool:
    symbols: list[str]
    step: int = 0

    @property
    def name(self) -> str:
        return "BENCH"

    async def fetch(self) -> PoolSnapshot:
        self.step += 1
        drift = 0.1 * (1.02 + 0.01 * (self.step % 5))
        return PoolSnapshot("BENCH", dict.fromkeys(self.symbols, drift))


class ThreeStep(ForwardingExchange):
    """The adapter with ``ExchangeDefaults``' replace: cancel, confirming read, place.

    Run through the same cycle, it is the previous batched cycle (four
    sequential round trips), measured beside the new one in the same run.
    """

    @override
    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        return await ExchangeDefaults.replace_orders(self, cancel_symbols, requests)


async def measure(
    n: int, rtt: float, cycles: int, *, three_step: bool = False
) -> tuple[float, float, float]:
    symbols = [f"S{i:02d}" for i in range(n)]
    async with simulator(markets=bench_markets(n), fill_delay=0.0) as sim:
        account, key = sim.new_account(next(ACCOUNTS), collateral=1e9)
        for s in symbols:
            sim.set_position(account, s, -100.0)
        ex = await LighterExchange.connect(
            LighterCredentials(key, account, 3), base_url=sim.url, chain_id=300,
            details_ttl=rtt * 2 + 0.5,
        )  # fmt: skip
        config = HedgeConfig.from_mapping(
            {"pools": {"BENCH": 1000.0}, "symbols": symbols, "threshold_min_usd": 50.0,
             "threshold_max_usd": 5000.0, "threshold_step_usd": 20.0,
             "cooldown_after_fill_minutes": 0.0, "max_cycle_notional_usd": 1e9,
             "max_order_notional_usd": 1e9, "rate_limit_per_minute": 1_000_000,
             "exchange": "lighter", "mode": "live"}
        )  # fmt: skip
        wrapped = wrap_exchange(ThreeStep(ex) if three_step else ex, config)
        pool = DriftingPool(symbols)
        store, audit = journal()
        sim.rtt = rtt
        wall = requests = weight = 0.0
        try:
            for i in range(cycles + 1):
                before, busy = dict(sim.counts), sim.busy
                t0 = time.perf_counter()
                await run_hedge_cycle(
                    exchange=wrapped, pools=[pool], store=store, audit=audit, config=config,
                    clock=lambda: datetime.now(UTC), policy=NO_WAIT,
                )  # fmt: skip
                if i == 0:  # warm-up: nonce, markets, nothing to cancel yet
                    continue
                wall += time.perf_counter() - t0
                series = ("three-step" if three_step else "cycle", n)
                SIM_BUSY[series] = SIM_BUSY.get(series, 0.0) + (sim.busy - busy) / (cycles * rtt)
                delta = {k: v - before.get(k, 0) for k, v in sim.counts.items()}
                requests += sum(delta.values())
                weight += sum(PREMIUM.get(k, 300) * v for k, v in delta.items())
                count_trips(series, sim, sum(delta.values()))
        finally:
            await ex.close()
            store.close()
    return requests / cycles, wall / cycles / rtt, weight / cycles


async def measure_hedger(n: int, rtt: float, cycles: int) -> tuple[float, float, float]:
    """The same active cycles through :class:`xlp_core.Hedger` (real safety stack).

    On top of the bare cycle it re-arms the dead-man switch every cycle (one
    more request, sent alongside the cycle's reads) and resets the budget.
    """
    from xlp_core.hedger import Hedger

    symbols = [f"S{i:02d}" for i in range(n)]
    async with simulator(markets=bench_markets(n), fill_delay=0.0) as sim:
        account, key = sim.new_account(next(ACCOUNTS), collateral=1e9)
        for s in symbols:
            sim.set_position(account, s, -100.0)
        ex = await LighterExchange.connect(
            LighterCredentials(key, account, 3), base_url=sim.url, chain_id=300,
            details_ttl=rtt * 2 + 0.5,
        )  # fmt: skip
        config = HedgeConfig.from_mapping(
            {"pools": {"BENCH": 1000.0}, "symbols": symbols, "threshold_min_usd": 50.0,
             "threshold_max_usd": 5000.0, "threshold_step_usd": 20.0,
             "cooldown_after_fill_minutes": 0.0, "max_cycle_notional_usd": 1e9,
             "max_order_notional_usd": 1e9, "rate_limit_per_minute": 1_000_000,
             "exchange": "lighter", "mode": "live", "dead_man_switch_seconds": 600.0}
        )  # fmt: skip
        wall = requests = weight = 0.0
        store, audit = journal()
        try:
            async with Hedger(
                config, ex, [DriftingPool(symbols)], store=store, audit=audit, policy=NO_WAIT,
                unsafe_unwrapped_exchange_for_tests=False,
            ) as hedger:  # fmt: skip
                sim.rtt = rtt
                for i in range(cycles + 1):
                    before, busy = dict(sim.counts), sim.busy
                    t0 = time.perf_counter()
                    await hedger.run_cycle()
                    if i == 0:  # warm-up: nothing to cancel yet
                        continue
                    wall += time.perf_counter() - t0
                    SIM_BUSY[("hedger", n)] = SIM_BUSY.get(("hedger", n), 0.0) + (
                        sim.busy - busy
                    ) / (cycles * rtt)
                    delta = {k: v - before.get(k, 0) for k, v in sim.counts.items()}
                    requests += sum(delta.values())
                    weight += sum(PREMIUM.get(k, 300) * v for k, v in delta.items())
                    count_trips(("hedger", n), sim, sum(delta.values()))
        finally:
            await ex.close()
            store.close()
    return requests / cycles, wall / cycles / rtt, weight / cycles


async def measure_batched(
    n: int, rtt: float, cycles: int, batch_size: int
) -> tuple[float, float, float]:
    """Baseline: the previous batched cycle's sequence, straight on the adapter.

    Reads (prices, markets, positions, open orders) and the dead-man switch
    together, then one ``cancel_orders``, one confirming ``open_orders`` read
    and one ``place_orders``: four sequential round trips.
    """
    from datetime import timedelta

    from xlp_core.models import OrderRequest, OrderType, Side

    symbols = [f"S{i:02d}" for i in range(n)]
    async with simulator(markets=bench_markets(n), fill_delay=0.0) as sim:
        account, key = sim.new_account(next(ACCOUNTS), collateral=1e9)
        ex = await LighterExchange.connect(
            LighterCredentials(key, account, 3), base_url=sim.url, chain_id=300,
            details_ttl=60.0, batch_size=batch_size,
        )  # fmt: skip
        cid = itertools.count(1)
        wall = requests = weight = 0.0
        try:
            for i in range(cycles + 1):
                before = dict(sim.counts)
                sim.rtt = rtt if i else 0.0
                t0 = time.perf_counter()
                ex._details_body = None  # one fresh details read per cycle
                await asyncio.gather(
                    ex.prices(symbols), ex.markets(symbols), ex.positions(symbols),
                    ex.open_orders(()),
                    ex.arm_dead_man_switch(datetime.now(UTC) + timedelta(minutes=10)),
                )  # fmt: skip
                await ex.cancel_orders(symbols)
                await ex.open_orders(symbols)
                orders = [
                    OrderRequest(next(cid), s, Side.SELL, OrderType.LIMIT, 0.5, 101.0 + 0.01 * i,
                                 expires_at=datetime.now(UTC) + timedelta(minutes=5))
                    for s in symbols
                ]  # fmt: skip
                await ex.place_orders(orders)
                if i == 0:
                    continue
                wall += time.perf_counter() - t0
                delta = {k: v - before.get(k, 0) for k, v in sim.counts.items()}
                requests += sum(delta.values())
                weight += sum(PREMIUM.get(k, 300) * v for k, v in delta.items())
        finally:
            await ex.close()
    return requests / cycles, wall / cycles / rtt, weight / cycles


async def measure_per_order(n: int, rtt: float, cycles: int) -> tuple[float, float, float]:
    """Baseline: the per-order cycle before batching, straight on the adapter.

    Reads together, then per symbol in turn a ``cancel_all_orders``, a
    confirming ``open_orders`` read and a ``place_order`` (one tx each).
    """
    from datetime import timedelta

    from xlp_core.models import OrderRequest, OrderType, Side

    symbols = [f"S{i:02d}" for i in range(n)]
    async with simulator(markets=bench_markets(n), fill_delay=0.0) as sim:
        account, key = sim.new_account(next(ACCOUNTS), collateral=1e9)
        ex = await LighterExchange.connect(
            LighterCredentials(key, account, 3), base_url=sim.url, chain_id=300,
            details_ttl=60.0,
        )  # fmt: skip
        cid = itertools.count(1)
        wall = requests = weight = 0.0
        try:
            for i in range(cycles + 1):
                before = dict(sim.counts)
                sim.rtt = rtt if i else 0.0
                t0 = time.perf_counter()
                ex._details_body = None  # one fresh details read per cycle
                await asyncio.gather(
                    ex.prices(symbols), ex.markets(symbols), ex.positions(symbols),
                    ex.open_orders(()),
                )  # fmt: skip
                for s in symbols:
                    await ex.cancel_all_orders(s)
                    await ex.open_orders([s])
                    await ex.place_order(
                        OrderRequest(next(cid), s, Side.SELL, OrderType.LIMIT, 0.5,
                                     101.0 + 0.01 * i,
                                     expires_at=datetime.now(UTC) + timedelta(minutes=5))
                    )  # fmt: skip
                if i == 0:
                    continue
                wall += time.perf_counter() - t0
                delta = {k: v - before.get(k, 0) for k, v in sim.counts.items()}
                requests += sum(delta.values())
                weight += sum(PREMIUM.get(k, 300) * v for k, v in delta.items())
        finally:
            await ex.close()
    return requests / cycles, wall / cycles / rtt, weight / cycles


async def sign_ms() -> tuple[float, float]:
    """ms per signed transaction on the event loop's thread and on one worker thread.

    Every order and cancel pays it inside the nonce lock; the adapter signs
    on its own worker pool because the loop's thread is several times slower.
    """
    async with LighterSim() as sim:
        account, key = sim.new_account(next(ACCOUNTS))
        ex = await LighterExchange.connect(
            LighterCredentials(key, account, 3), base_url=sim.url, chain_id=300
        )
        signer = ex._signer

        def sign_20(base: int) -> float:
            t0 = time.perf_counter()
            for i in range(20):
                signer.sign_create_order(
                    2, i + 1, 50, 1_500_000, True, 0, 1, False, 0,
                    int(time.time() * 1000) + 600_000, nonce=base + i, api_key_index=3,
                )  # fmt: skip
            return (time.perf_counter() - t0) / 20 * 1000

        on_loop = sign_20(100)
        on_worker = await asyncio.to_thread(sign_20, 200)
        await ex.close()
    return on_loop, on_worker


HEAD = ("N", "requests", "baseline", "wall/RTT", "baseline", "premium wt", "std wt")


async def critical_rows(
    rtt: float, sizes: Sequence[int], cycles: int, *, three_step: bool = False
) -> list[tuple[int, float, float, float, float, int]]:
    """The same cycles at RTT and 5 x RTT: walls, simulator work, round trips at 5 x RTT."""
    series, rows = "three-step" if three_step else "cycle", []
    for n in sizes:
        walls, busies = [], []
        for r in (rtt, 5 * rtt):
            TRIPS.pop((series, n), None)
            _, rtts, _ = await measure(n, r, cycles, three_step=three_step)
            walls.append(rtts * r)
            busies.append(SIM_BUSY.pop((series, n)) * r)
        rows.append((n, walls[0], walls[1], busies[0], busies[1], max(TRIPS[(series, n)])))
    return rows


def critical_path(
    title: str, rtt: float, rows: list[tuple[int, float, float, float, float, int]]
) -> None:
    """Round trips on the critical path and local work, from the same cycles at RTT and 5 x RTT.

    Wall = round trips x RTT + local work, so the slope between the two RTTs
    counts the sequential round trips (the structural figure the issue's
    "2N+4 RTT" baseline counts) and the intercept is the local work (signing,
    the core, the simulator sharing this machine's cores). "Counted" is the
    longest chain of requests each sent after the previous one was answered,
    from the simulator's own request times at 5 x RTT (at 1 x RTT two batches
    can follow each other only because signing the second outlasts the first's
    round trip, without waiting for it).
    """
    print(title)
    slow = f"@{5 * rtt * 1000:.0f}"
    print(f"{'N':>4} {'wall ms':>9} {'wall ms':>9} {'round trips':>12} {'round trips':>12}"
          f" {'local ms':>11} {'venue ms':>9} {'wall/RTT':>9}")  # fmt: skip
    print(f"{'':>4} {f'@{rtt * 1000:.0f}':>9} {slow:>9} {'(counted)':>12} {'(slope)':>12}"
          f" {'(intercept)':>11} {'':>9} {slow:>9}")  # fmt: skip
    for n, w1, w5, busy1, busy5, trips in rows:
        slope = (w5 - w1) / (4 * rtt)
        local = w1 - slope * rtt
        print(f"{n:>4} {w1 * 1000:>9.1f} {w5 * 1000:>9.1f} {trips:>12} {slope:>12.2f}"
              f" {local * 1000:>11.1f} {(busy1 + busy5) / 2 * 1000:>9.1f}"
              f" {w5 / (5 * rtt):>9.1f}")  # fmt: skip
    print()


def table(title: str, rows: list[tuple[int, tuple[float, float, float]]], venue: str = "") -> None:
    """``venue`` names a measured series: adds the simulator's own work and the wall without it."""
    print(title)
    extra = ("venue work", "wall-venue") if venue else ()
    print(("{:>4} {:>9} {:>9} {:>9} {:>9} {:>11} {:>7}" + " {:>11}" * len(extra)).format(
        *HEAD, *extra))  # fmt: skip
    for n, (req, rtts, weight) in rows:
        line = (f"{n:>4} {req:>9.1f} {3 + 4 * n:>9} {rtts:>9.1f} {2 * n + 4:>9} "
                f"{weight:>11.0f} {req:>7.1f}")  # fmt: skip
        if venue:
            busy = SIM_BUSY.get((venue, n), 0.0)
            line += f" {busy:>11.1f} {rtts - busy:>11.1f}"
        print(line)
    print()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=50, help="transactions per sendTxBatch")
    ap.add_argument(
        "--sim-in-process", action="store_true",
        help="run the simulator in this process (its work then shares the GIL)",
    )  # fmt: skip
    ap.add_argument(
        "--memory-stores", action="store_true",
        help="in-memory state and audit instead of the default SQLite journal",
    )  # fmt: skip
    args = ap.parse_args()
    global SIM_IN_PROCESS, MEMORY_STORES
    SIM_IN_PROCESS, MEMORY_STORES = args.sim_in_process, args.memory_stores
    rtt, sizes = args.rtt_ms / 1000, (1, 4, 20, 50)
    print(
        f"Lighter simulator, injected RTT {args.rtt_ms:.0f} ms per HTTP request, "
        f"{args.cycles} active cycles each (after one warm-up); 'baseline' columns: the"
    )
    print("issue-11 figures of the adapter before batching (3+4N requests, 2N+4 RTT)")  # fmt: skip
    on_loop, on_worker = await sign_ms()
    print(
        f"signing one transaction (Go signer, this machine): {on_worker:.1f} ms on a worker"
        f" thread (as the adapter signs), {on_loop:.1f} ms on the event loop's thread"
    )
    print()
    table(
        "run_hedge_cycle (wrap_exchange): reads, then one replace_orders round",
        [(n, await measure(n, rtt, args.cycles)) for n in sizes],
        "cycle",
    )
    table(
        "through Hedger (safety stack, dead-man switch re-armed alongside the reads)",
        [(n, await measure_hedger(n, rtt, args.cycles)) for n in sizes],
        "hedger",
    )
    critical_path(
        "run_hedge_cycle again at RTT and 5 x RTT: sequential round trips (issue baseline"
        " 2N+4) and local work", rtt, await critical_rows(rtt, sizes, args.cycles),
    )  # fmt: skip
    critical_path(
        "baseline measured now: the previous three-step writes at RTT and 5 x RTT",
        rtt, await critical_rows(rtt, sizes, args.cycles, three_step=True),
    )  # fmt: skip
    table(
        "baseline measured now: the same cycle with the previous three-step writes"
        " (cancel_orders, confirming open_orders, place_orders: ExchangeDefaults.replace_orders)",
        [(n, await measure(n, rtt, args.cycles, three_step=True)) for n in sizes],
    )
    table(
        "baseline measured now: that sequence straight on the adapter, no cycle (reads +"
        f" dead-man switch, cancel_orders, open_orders, place_orders; batch {args.batch_size})",
        [(n, await measure_batched(n, rtt, args.cycles, args.batch_size)) for n in sizes],
    )
    table(
        "baseline measured now: per-order (reads, then per symbol cancel-all, read, place)",
        [(n, await measure_per_order(n, rtt, args.cycles)) for n in sizes],
    )
    print(
        "target (issue 11): <= 8 requests and <= 4 RTT (sequential round trips, as in the"
        " issue's 2N+4 baseline) for every N <= 50; wall/RTT also shown at RTT and 5 x RTT"
    )


if __name__ == "__main__":
    asyncio.run(main())
