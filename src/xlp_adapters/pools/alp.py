"""ALP (Adrena) exposure per LP token, read on chain.

One ``getMultipleAccounts`` per refresh reads the pool, every custody it
lists, the oracle and the ALP mint at one slot. The pool's custody slots are
scanned whole (a removed custody leaves a zeroed gap) and checked against the
symbol table: a custody the table cannot price and that is not a known
stablecoin custody is an error, never silently unhedged. Each custody's own
mint (byte 48), decimals and stable flag must match the table. The custody
layout is chosen by account length (release/37 vs 39).

Per custody the price delta is ``owned + collateral - locked`` tokens plus
the shorts' quantity at their average entry price; JITOSOL is folded into SOL
at the oracle price ratio; WBTC is BTC. Oracle prices are picked by feed id
(each feed appears under three providers since release/39), newest first,
and refused past ``max_price_age_s``. The custodies valued at those prices
must match the pool's own ``aum_usd`` within ``drift_tolerance_pct``.
Lower confidence than JLP (see docs/adapters.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import attrs
from typing_extensions import override

from xlp_adapters.pools.adrena_layout import (
    AdrenaCustody,
    AdrenaPool,
    OraclePrice,
    decode_adrena_custody,
    decode_adrena_pool,
    decode_adrena_prices,
)
from xlp_adapters.pools.errors import CustodyMismatchError, PoolDataError, PoolPriceError
from xlp_adapters.pools.exposure import check_drift, snapshot
from xlp_adapters.pools.jlp import TOKEN_PROGRAMS, _owned_by
from xlp_adapters.pools.layouts import decode_mint
from xlp_adapters.pools.rpc import Account, SolanaRpc
from xlp_core.models import PoolSnapshot
from xlp_core.ports import PoolSource

log = logging.getLogger("xlp_adapters.pools")

ADRENA_PROGRAM = "13gDzEXCdocbj8iAiqrScGo47NiSuYENGsRqi3SEAwet"
ALP_MINT = "4yCLi5yWGzpTWMQ1iWHG5CrGYAdBkhyEdsuSugjDUqwj"
ADRENA_ORACLE = "GEm9TZP7BL8rTz1JDy6X74PL595zr1putA9BXC8ehDmU"
ADRENA_POOL = "4bQRutgDJs6vuh6ZcWaPVXiQaBzbHketjbCDjL4oRN34"
STABLE_CUSTODIES = frozenset({"Dk523LZeDQbZtUwPEBjFXCd2Au1tD7mWZBJJmcgHktNk"})  # USDC
STABLE_PRICE = 1.0


@attrs.frozen
class OracleFeed:
    """A price feed: its name and the feed ids it may be published under."""

    name: str
    ids: tuple[int, ...]

    @classmethod
    def crypto(cls, name: str, index: int) -> OracleFeed:
        """Crypto block ``index`` (0 SOL .. 5 USDC) under ChaosLabs, Autonom, Switchboard."""
        return cls(name, (index, 30 + index, 142 + index))


SOL_FEED = OracleFeed.crypto("SOLUSD", 0)
JITOSOL_FEED = OracleFeed.crypto("JITOSOLUSD", 1)
WBTC_FEED = OracleFeed.crypto("WBTCUSD", 3)
BONK_FEED = OracleFeed.crypto("BONKUSD", 4)


@attrs.frozen(kw_only=True)
class AdrenaCustodySpec:
    address: str
    symbol: str
    mint: str
    decimals: int
    feed: OracleFeed
    fold_into: str | None = None
    """Venue symbol to fold into at the oracle price ratio (JITOSOL -> SOL)."""
    fold_feed: OracleFeed | None = None


MAINNET_CUSTODIES: tuple[AdrenaCustodySpec, ...] = (
    AdrenaCustodySpec(
        address="8aJuzsgjxBnvRhDcfQBD7z4CUj7QoPEpaNwVd7KqsSk5", symbol="BONK",
        mint="DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", decimals=5, feed=BONK_FEED,
    ),
    AdrenaCustodySpec(
        address="GZ9XfWwgTRhkma2Y91Q9r1XKotNXYjBnKKabj19rhT71", symbol="JITOSOL",
        mint="J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn", decimals=9, feed=JITOSOL_FEED,
        fold_into="SOL", fold_feed=SOL_FEED,
    ),
    AdrenaCustodySpec(
        address="GFu3qS22mo6bAjg4Lr5R7L8pPgHq6GvbjJPKEHkbbs2c", symbol="BTC",
        mint="3NZ9JMVBmGAqocybic2c7LQCJScmgsAZ6vQqTDzcqmJh", decimals=8, feed=WBTC_FEED,
    ),
)  # fmt: skip


def pick_price(
    prices: Sequence[OraclePrice], feed: OracleFeed, *, now: datetime, max_age_s: float
) -> float:
    """The newest slot of ``feed`` among its feed ids; refused when missing or stale."""
    slots = [p for p in prices if p.name == feed.name and p.feed_id in feed.ids]
    if not slots:
        raise PoolPriceError(f"ALP oracle: no {feed.name} price (feed ids {list(feed.ids)})")
    newest = max(slots, key=lambda p: p.timestamp)
    age = now.timestamp() - newest.timestamp
    if age > max_age_s:
        raise PoolPriceError(
            f"ALP oracle: {feed.name} price is {age:.0f} s old (limit {max_age_s:.0f} s)"
        )
    return newest.price


class AlpPoolSource(PoolSource):
    def __init__(
        self,
        *,
        rpc_url: str | None = None,
        rpc: SolanaRpc | None = None,
        custodies: Sequence[AdrenaCustodySpec] = MAINNET_CUSTODIES,
        oracle: str = ADRENA_ORACLE,
        mint: str = ALP_MINT,
        pool: str = ADRENA_POOL,
        stable_custodies: frozenset[str] = STABLE_CUSTODIES,
        drift_tolerance_pct: float | None = 2.0,
        max_price_age_s: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._rpc = rpc or (SolanaRpc(rpc_url) if rpc_url else SolanaRpc())
        self.custodies = {c.address: c for c in custodies}
        self.oracle = oracle
        self.mint = mint
        self.pool = pool
        self.stable_custodies = stable_custodies
        self.drift_tolerance_pct = drift_tolerance_pct
        self.max_price_age_s = max_price_age_s
        self._clock = clock
        self._listed: tuple[str, ...] | None = None

    @property
    @override
    def name(self) -> str:
        return "ALP"

    def _read_pool(self, account: Account | None) -> AdrenaPool:
        acct = _owned_by(account, self.pool, frozenset({ADRENA_PROGRAM}))
        pool = decode_adrena_pool(acct.data, f"pool {self.pool}")
        unknown = [
            c for c in pool.custodies if c not in self.custodies and c not in self.stable_custodies
        ]
        if unknown:
            raise PoolDataError(
                f"pool {self.pool} lists custodies {unknown} this source cannot price: "
                "add them to `custodies` (or `stable_custodies`)"
            )
        missing = [c for c in self.custodies if c not in pool.custodies]
        if missing:
            raise PoolDataError(f"pool {self.pool} no longer lists custodies {missing}")
        if pool.registered != len(pool.custodies):
            log.warning(
                "pool %s: %d custody slots in use but registered_custody_count is %d",
                self.pool, len(pool.custodies), pool.registered,
            )  # fmt: skip
        return pool

    @override
    async def fetch(self) -> PoolSnapshot:
        if self._listed is None:
            _, (pool_acct,) = await self._rpc.get_multiple_accounts([self.pool])
            self._listed = self._read_pool(pool_acct).custodies
        for _ in range(2):
            keys = [self.pool, *self._listed, self.oracle, self.mint]
            slot, accounts = await self._rpc.get_multiple_accounts(keys)
            pool = self._read_pool(accounts[0])
            if pool.custodies == self._listed:
                return self._snapshot(pool, accounts, slot)
            self._listed = pool.custodies  # the pool changed under us: read again
        raise PoolDataError(f"pool {self.pool}: custody list keeps changing")

    def _custody(self, key: str, account: Account | None) -> AdrenaCustody:
        data = _owned_by(account, key, frozenset({ADRENA_PROGRAM})).data
        custody = decode_adrena_custody(data, f"custody {key}")
        spec = self.custodies.get(key)
        if spec is None:  # a stable custody: only its flag is checked
            if not custody.is_stable:
                raise CustodyMismatchError(key, "is_stable", True, custody.is_stable)
            return custody
        for field, expected, found in (
            ("mint", spec.mint, custody.mint),
            ("decimals", spec.decimals, custody.decimals),
            ("is_stable", False, custody.is_stable),
        ):
            if expected != found:
                raise CustodyMismatchError(key, field, expected, found)
        if custody.locked > custody.owned:
            raise PoolDataError(f"custody {key}: locked {custody.locked} > owned {custody.owned}")
        by_quantity, by_average = custody.short_tokens_by_quantity(), custody.short_tokens()
        if abs(by_quantity - by_average) > 0.01 * max(by_quantity, by_average):
            log.warning(
                "custody %s: shorts are %.6g tokens by average entry but %.6g by quantity",
                key, by_average, by_quantity,
            )  # fmt: skip
        return custody

    def _snapshot(
        self, pool: AdrenaPool, accounts: list[Account | None], slot: int
    ) -> PoolSnapshot:
        now = self._clock()
        oracle = decode_adrena_prices(
            _owned_by(accounts[-2], self.oracle, frozenset({ADRENA_PROGRAM})).data,
            f"oracle {self.oracle}",
        )
        supply_raw, decimals = decode_mint(
            _owned_by(accounts[-1], self.mint, TOKEN_PROGRAMS).data, f"mint {self.mint}"
        )
        if supply_raw == 0:
            raise PoolDataError(f"mint {self.mint}: supply is 0")
        supply = supply_raw / 10**decimals

        def price(feed: OracleFeed) -> float:
            return pick_price(oracle, feed, now=now, max_age_s=self.max_price_age_s)

        per_token: dict[str, float] = {}
        symbol_prices: dict[str, float] = {}
        decoded_usd = 0.0
        for key, account in zip(pool.custodies, accounts[1:-2], strict=True):
            custody = self._custody(key, account)
            spec = self.custodies.get(key)
            if spec is None:
                decoded_usd += custody.value_usd(STABLE_PRICE)
                continue
            p = price(spec.feed)
            decoded_usd += custody.value_usd(p)
            tokens, symbol = custody.delta_tokens(), spec.symbol
            if spec.fold_into is not None and spec.fold_feed is not None:
                fold_price = price(spec.fold_feed)
                tokens, symbol, p = tokens * p / fold_price, spec.fold_into, fold_price
            if tokens < 0:
                raise PoolDataError(f"custody {key}: negative token delta {tokens}")
            per_token[symbol] = per_token.get(symbol, 0.0) + tokens / supply
            symbol_prices[symbol] = p
        aum = pool.aum_usd / 1e6
        check_drift(
            "ALP", decoded_usd=decoded_usd, onchain_usd=aum, tolerance_pct=self.drift_tolerance_pct
        )
        return snapshot(
            "ALP",
            per_token,
            prices=symbol_prices,
            lp_price_usd=aum / supply if aum > 0 else None,
            observed_at=now,
            slot=slot,
        )

    async def close(self) -> None:
        await self._rpc.close()
