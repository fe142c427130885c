"""Cycle wall time over an injected round-trip time: concurrent vs sequential.

For 4, 20 and 50 symbols, runs hedge cycles on a paper exchange whose every
call costs one RTT (a real ``asyncio.sleep``), with pool drift that makes
each cycle cancel and re-place orders. The baseline is the same cycle with
every venue call serialised behind a lock: what a bot that awaits one call
at a time would see. Prints ms per cycle, API calls per cycle and the ratio,
all measured in this one run.

    python benchmarks/cycle_latency.py [--rtt-ms 20] [--cycles 6]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import attrs

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.execution import NO_WAIT
from xlp_core.models import MarketRules, Order, OrderRequest, PoolSnapshot
from xlp_core.ports import Exchange, ExchangeDefaults

T = TypeVar("T")


class Serialised(ExchangeDefaults):
    """Every call waits for the previous one: the sequential baseline."""

    def __init__(self, inner: Exchange) -> None:
        self.inner = inner
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.inner.name

    async def _one(self, call: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:
            return await call()

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return await self._one(lambda: self.inner.markets(symbols))

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self._one(lambda: self.inner.prices(symbols))

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self._one(lambda: self.inner.positions(symbols))

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self._one(lambda: self.inner.open_orders(symbols))

    async def place_order(self, request: OrderRequest) -> Order:
        return await self._one(lambda: self.inner.place_order(request))

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return await self._one(lambda: self.inner.get_order(symbol, client_order_id))

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return await self._one(lambda: self.inner.cancel_order(symbol, client_order_id))

    async def cancel_all_orders(self, symbol: str) -> int:
        return await self._one(lambda: self.inner.cancel_all_orders(symbol))

    async def close(self) -> None:
        await self.inner.close()


@attrs.define
class DriftingPool:
    """One LP token exposed to 0.1 of every symbol, drifting each fetch."""

    symbols: list[str]
    rtt: float
    step: int = 0

    @property
    def name(self) -> str:
        return "BENCH"

    async def fetch(self) -> PoolSnapshot:
        await asyncio.sleep(self.rtt)
        self.step += 1
        drift = 0.1 * (1.02 + 0.01 * (self.step % 5))
        return PoolSnapshot("BENCH", dict.fromkeys(self.symbols, drift))


async def measure(n: int, rtt: float, cycles: int, sequential: bool) -> tuple[float, float]:
    symbols = [f"S{i:02d}" for i in range(n)]
    rules = {s: MarketRules(s, 0.001, 0.01, min_notional=10.0) for s in symbols}
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def clock() -> datetime:
        return now

    paper = PaperExchange(
        rules,
        prices=dict.fromkeys(symbols, 100.0),
        positions=dict.fromkeys(symbols, -100.0),
        clock=clock,
        latency=rtt,
    )
    exchange: Exchange = Serialised(paper) if sequential else paper
    config = HedgeConfig.from_mapping(
        {
            "pools": {"BENCH": 1000.0},
            "symbols": symbols,
            "threshold_min_usd": 50.0,
            "threshold_max_usd": 5000.0,
            "threshold_step_usd": 20.0,
            "cooldown_after_fill_minutes": 0.0,
            "max_cycle_notional_usd": 1e9,
        }
    )
    pool = DriftingPool(symbols, rtt)
    store, audit = MemoryStateStore(), MemoryAuditSink()
    elapsed = 0.0
    for i in range(cycles + 1):
        t0 = time.perf_counter()
        await run_hedge_cycle(
            exchange=exchange, pools=[pool], store=store, audit=audit, config=config,
            clock=clock, policy=NO_WAIT,
        )  # fmt: skip
        if i > 0:  # the first cycle has no orders to cancel: warm-up
            elapsed += time.perf_counter() - t0
        now += timedelta(minutes=1)
    first_calls = sum(paper.calls.values())
    return elapsed / cycles * 1000, first_calls / (cycles + 1)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    ap.add_argument("--cycles", type=int, default=6)
    args = ap.parse_args()
    rtt = args.rtt_ms / 1000
    print(f"injected RTT {args.rtt_ms:.0f} ms per venue call, {args.cycles} cycles each")
    head = ("symbols", "concurrent ms", "sequential ms", "speed-up", "calls/cycle")
    print(f"{head[0]:>8} {head[1]:>14} {head[2]:>14} {head[3]:>9} {head[4]:>12}")
    for n in (4, 20, 50):
        conc, calls = await measure(n, rtt, args.cycles, sequential=False)
        seq, _ = await measure(n, rtt, args.cycles, sequential=True)
        print(f"{n:>8} {conc:>14.1f} {seq:>14.1f} {seq / conc:>8.1f}x {calls:>12.1f}")


if __name__ == "__main__":
    asyncio.run(main())
