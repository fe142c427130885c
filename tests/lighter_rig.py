"""Shared set-up for the Lighter tests: the venue simulator plus a connected adapter."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from xlp_adapters.lighter import LighterCredentials, LighterExchange
from xlp_adapters.lighter.sim import LighterSim
from xlp_core.models import OrderRequest, OrderType, Side

# The Go signer keeps one client per (api key index, account index) per process:
# every test gets its own account so clients never replace each other.
ACCOUNTS = itertools.count(7000)


@asynccontextmanager
async def lighter_rig(**options: Any) -> AsyncIterator[tuple[LighterSim, LighterExchange, int]]:
    async with LighterSim() as sim:
        account, key = sim.new_account(next(ACCOUNTS))
        # Generous: a loaded CI machine must not turn a plain answer into a
        # timeout; tests of timeouts pass their own short one.
        options.setdefault("request_timeout", 5.0)
        ex = await LighterExchange.connect(
            LighterCredentials(key, account, 3), base_url=sim.url, chain_id=300, **options
        )
        try:
            yield sim, ex, account
        finally:
            await ex.close()


def limit(cid: int, side: Side, size: float, price: float, **kw: Any) -> OrderRequest:
    return OrderRequest(cid, "SOL", side, OrderType.LIMIT, size, price, **kw)


def sent(sim: LighterSim, tx_type: int) -> list[dict[str, Any]]:
    return [t for t in sim.txs if t["type"] == tx_type]
