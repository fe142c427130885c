"""ALP (Adrena) exposure per LP token, read on chain.

One ``getMultipleAccounts`` per refresh reads the pool, the volatile
custodies, the oracle and the ALP mint at one slot. The pool's registered
custody list is checked against the custody table (address, symbol,
decimals, oracle feed: configuration with the mainnet defaults, because the
custody account's mint is not at a documented offset): a custody the pool
lists that is neither in the table nor a known stablecoin custody is an
error, never silently unhedged. The custody layout is chosen by account
length (release/37 vs 39).

Per custody: ``owned - locked`` tokens plus shorts' USD size at the oracle
price; JITOSOL is folded into SOL at the oracle price ratio; WBTC is BTC.
Lower confidence than JLP (see docs/adapters.md): cross-check before sizing
a large hedge on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import attrs

from xlp_adapters.pools.errors import PoolDataError
from xlp_adapters.pools.jlp import TOKEN_PROGRAMS, _owned_by
from xlp_adapters.pools.layouts import (
    decode_adrena_custody,
    decode_adrena_pool,
    decode_adrena_prices,
    decode_mint,
)
from xlp_adapters.pools.rpc import SolanaRpc
from xlp_core.models import PoolSnapshot

ADRENA_PROGRAM = "13gDzEXCdocbj8iAiqrScGo47NiSuYENGsRqi3SEAwet"
ALP_MINT = "4yCLi5yWGzpTWMQ1iWHG5CrGYAdBkhyEdsuSugjDUqwj"
ADRENA_ORACLE = "GEm9TZP7BL8rTz1JDy6X74PL595zr1putA9BXC8ehDmU"
ADRENA_POOL = "4bQRutgDJs6vuh6ZcWaPVXiQaBzbHketjbCDjL4oRN34"
STABLE_CUSTODIES = frozenset({"Dk523LZeDQbZtUwPEBjFXCd2Au1tD7mWZBJJmcgHktNk"})  # USDC


@attrs.frozen
class AdrenaCustodySpec:
    address: str
    symbol: str
    decimals: int
    feed: str
    """Oracle feed name of the custody token (``JITOSOLUSD``)."""
    fold_into: str | None = None
    """Venue symbol to fold into at the oracle price ratio (JITOSOL -> SOL)."""
    fold_feed: str | None = None


MAINNET_CUSTODIES: tuple[AdrenaCustodySpec, ...] = (
    AdrenaCustodySpec("8aJuzsgjxBnvRhDcfQBD7z4CUj7QoPEpaNwVd7KqsSk5", "BONK", 5, "BONKUSD"),
    AdrenaCustodySpec(
        "GZ9XfWwgTRhkma2Y91Q9r1XKotNXYjBnKKabj19rhT71", "JITOSOL", 9, "JITOSOLUSD", "SOL", "SOLUSD"
    ),
    AdrenaCustodySpec("GFu3qS22mo6bAjg4Lr5R7L8pPgHq6GvbjJPKEHkbbs2c", "BTC", 8, "WBTCUSD"),
)


class AlpPoolSource:
    def __init__(
        self,
        *,
        rpc_url: str | None = None,
        rpc: SolanaRpc | None = None,
        custodies: Sequence[AdrenaCustodySpec] = MAINNET_CUSTODIES,
        oracle: str = ADRENA_ORACLE,
        mint: str = ALP_MINT,
        pool: str | None = ADRENA_POOL,
        stable_custodies: frozenset[str] = STABLE_CUSTODIES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._rpc = rpc or (SolanaRpc(rpc_url) if rpc_url else SolanaRpc())
        self.custodies = tuple(custodies)
        self.oracle = oracle
        self.mint = mint
        self.pool = pool
        self.stable_custodies = stable_custodies
        self._clock = clock

    @property
    def name(self) -> str:
        return "ALP"

    async def fetch(self) -> PoolSnapshot:
        keys = [c.address for c in self.custodies] + [self.oracle, self.mint]
        if self.pool is not None:
            keys.append(self.pool)
        slot, accounts = await self._rpc.get_multiple_accounts(keys)
        adrena = frozenset({ADRENA_PROGRAM})
        if self.pool is not None:
            listed = decode_adrena_pool(_owned_by(accounts.pop(), self.pool, adrena).data)
            known = {c.address for c in self.custodies} | self.stable_custodies
            unknown = [c for c in listed if c not in known]
            if unknown:
                raise PoolDataError(
                    f"pool {self.pool} lists custodies {unknown} this source cannot price: "
                    "add them to `custodies` (or `stable_custodies`)"
                )
            missing = [spec.address for spec in self.custodies if spec.address not in listed]
            if missing:
                raise PoolDataError(f"pool {self.pool} no longer lists custodies {missing}")
        prices = decode_adrena_prices(_owned_by(accounts[-2], self.oracle, adrena).data)
        supply_raw, decimals = decode_mint(_owned_by(accounts[-1], self.mint, TOKEN_PROGRAMS).data)
        if supply_raw == 0:
            raise PoolDataError(f"mint {self.mint}: supply is 0")
        supply = supply_raw / 10**decimals

        def price(feed: str) -> float:
            if feed not in prices:
                raise PoolDataError(f"oracle {self.oracle}: no {feed} price")
            return prices[feed]

        per_token: dict[str, float] = {}
        for spec, account in zip(self.custodies, accounts[:-2], strict=True):
            custody = decode_adrena_custody(
                _owned_by(account, spec.address, adrena).data, f"custody {spec.address}"
            )
            p = price(spec.feed)
            tokens = (custody.owned - custody.locked) / 10**spec.decimals
            tokens += custody.short_size_usd / 1e6 / p
            symbol = spec.symbol
            if spec.fold_into is not None and spec.fold_feed is not None:
                tokens *= p / price(spec.fold_feed)
                symbol = spec.fold_into
            per_token[symbol] = per_token.get(symbol, 0.0) + tokens / supply
        return PoolSnapshot("ALP", per_token, observed_at=self._clock(), slot=slot)

    async def close(self) -> None:
        await self._rpc.close()
