"""A custom exchange adapter: subclass ``ExchangeDefaults`` and implement the port.

``DryRunExchange`` reads everything from a real venue but never sends an
order: it records what it would have sent and answers as a venue that
rejected it. Point it at your live venue to watch what the hedger *would*
do. It is also a template for wrapping any venue SDK: map its errors onto
the ``xlp_core`` errors and its sizes onto base tokens, and the core does
the rest.

``ExchangeDefaults`` supplies correct (if unbatched) ``place_orders``,
``cancel_orders`` and ``get_orders``, no dead-man switch and unit request
weights; ``@override`` makes mypy check each method against the port, so a
renamed port method is caught. ``Hedger`` puts the safety stack around it.

Run it: ``python examples/custom_exchange.py``
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from typing_extensions import override

import xlp_core as xlp
from xlp_adapters import MemoryAuditSink, MemoryStateStore, PaperExchange, StaticPoolSource
from xlp_core import ExchangeDefaults, MarketRules, Order, OrderRejectedError, OrderRequest


class DryRunExchange(ExchangeDefaults, xlp.Exchange):
    def __init__(self, inner: xlp.Exchange) -> None:
        self.inner = inner
        self.would_send: list[OrderRequest] = []

    @property
    @override
    def name(self) -> str:
        return f"dry-run({self.inner.name})"

    @override
    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return await self.inner.markets(symbols)

    @override
    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.prices(symbols)

    @override
    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return await self.inner.positions(symbols)

    @override
    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self.inner.open_orders(symbols)

    @override
    async def place_order(self, request: OrderRequest) -> Order:
        self.would_send.append(request)
        raise OrderRejectedError("dry run: not sent")

    @override
    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return await self.inner.get_order(symbol, client_order_id)

    @override
    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return False

    @override
    async def cancel_all_orders(self, symbol: str) -> int:
        return 0

    @override
    async def close(self) -> None:
        await self.inner.close()


async def main() -> None:
    def clock() -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    venue = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -100.0}, clock=clock)
    exchange = DryRunExchange(venue)
    assert isinstance(exchange, xlp.Exchange)  # structural check, at runtime too
    config = xlp.HedgeConfig.from_mapping(
        {"pools": {"JLP": 1000.0}, "threshold_min_usd": 100, "threshold_max_usd": 1000,
         "threshold_step_usd": 50}
    )  # fmt: skip
    async with xlp.Hedger(
        config, exchange, [StaticPoolSource("JLP", {"SOL": 0.102})],
        store=MemoryStateStore(), audit=MemoryAuditSink(), clock=clock, policy=xlp.NO_WAIT,
    ) as hedger:  # fmt: skip
        await hedger.run_cycle()
    for request in exchange.would_send:
        print(f"would {request.side} {request.size} {request.symbol} @ {request.price}")
    await exchange.close()


if __name__ == "__main__":
    asyncio.run(main())
