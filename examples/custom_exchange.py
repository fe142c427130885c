"""A custom exchange adapter: ports are Protocols, so any class with the right
methods is an :class:`~xlp_core.ports.Exchange` — no base class to inherit.

``DryRunExchange`` reads everything from a real venue but never sends an
order: it records what it would have sent and answers as a venue that
rejected it. Point it at your live venue to watch what the hedger *would*
do. It is also a template for wrapping any venue SDK: map its errors onto
``xlp_core.errors`` and its sizes onto base tokens, and the core does the rest.

Run it: ``python examples/custom_exchange.py``
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.pools import StaticPoolSource
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.errors import OrderRejectedError
from xlp_core.execution import NO_WAIT
from xlp_core.models import MarketRules, Order, OrderRequest
from xlp_core.ports import Exchange, ExchangeDefaults


class DryRunExchange(ExchangeDefaults):
    def __init__(self, inner: Exchange) -> None:
        self.inner = inner
        self.would_send: list[OrderRequest] = []

    @property
    def name(self) -> str:
        return f"dry-run({self.inner.name})"

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return await self.inner.markets(symbols)

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.prices(symbols)

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.positions(symbols)

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self.inner.open_orders(symbols)

    async def place_order(self, request: OrderRequest) -> Order:
        self.would_send.append(request)
        raise OrderRejectedError("dry run: not sent")

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return await self.inner.get_order(symbol, client_order_id)

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return False

    async def cancel_all_orders(self, symbol: str) -> int:
        return 0

    async def close(self) -> None:
        await self.inner.close()


async def main() -> None:
    def clock() -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    venue = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -100.0}, clock=clock)
    exchange = DryRunExchange(venue)
    assert isinstance(exchange, Exchange)  # structural check, at runtime too
    config = HedgeConfig.from_mapping(
        {"pools": {"JLP": 1000.0}, "threshold_min_usd": 100, "threshold_max_usd": 1000,
         "threshold_step_usd": 50}
    )  # fmt: skip
    await run_hedge_cycle(
        exchange=exchange, pools=[StaticPoolSource("JLP", {"SOL": 0.102})],
        store=MemoryStateStore(), audit=MemoryAuditSink(), config=config, clock=clock,
        policy=NO_WAIT,
    )  # fmt: skip
    for request in exchange.would_send:
        print(f"would {request.side} {request.size} {request.symbol} @ {request.price}")


if __name__ == "__main__":
    asyncio.run(main())
