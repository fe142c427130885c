"""JLP (Jupiter Perpetuals) exposure per LP token, read on chain.

One ``getMultipleAccounts`` per refresh reads the pool, every custody the
pool lists and the JLP mint at one slot. The custody list comes from the
pool account (it grows: a sixth, stable custody appeared in 2026); it is
learnt on the first refresh and re-checked in every later one.

Per non-stable custody the pool's token delta is ``owned + debt - locked +
globalShortSizes / globalShortAveragePrices`` (the price derivative of
Jupiter's AUM formula); divided by the JLP supply it is the exposure of one
JLP token. Each custody's own mint and decimals must match the symbol table.
Every refresh the custodies are valued at current prices (from the injected
``prices`` provider, normally the venue's) and compared with the pool's own
``aumUsd``: a layout drift is refused, not hedged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from typing_extensions import override

from xlp_adapters.pools.errors import CustodyMismatchError, PoolDataError
from xlp_adapters.pools.exposure import PriceProvider, check_drift, checked_price, snapshot
from xlp_adapters.pools.jlp_layout import JlpCustody, JlpPool, decode_jlp_custody, decode_jlp_pool
from xlp_adapters.pools.layouts import decode_mint
from xlp_adapters.pools.rpc import Account, SolanaRpc
from xlp_core.errors import ConfigError
from xlp_core.models import PoolSnapshot
from xlp_core.ports import PoolSource

PERPS_PROGRAM = "PERPHjGBqRHArX4DySjwM6UJHiR3sWAatqfdBS2qQJu"
TOKEN_PROGRAMS = frozenset(
    {"TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"}
)
JLP_POOL = "5BUwFW4nRbftYTDMbgxykoFWqWHPzahFSNAaaaJtVKsq"
JLP_MINT = "27G8MtK7VtTcCHkpASjSDdkWWYfoqT6ggEuKidVJidD4"
MINT_SYMBOLS: Mapping[str, str] = {
    "So11111111111111111111111111111111111111112": "SOL",
    "7vfCXTUXx5WJV5JADk17DUJ4ksgau7utNKj4b963voxs": "ETH",
    "3NZ9JMVBmGAqocybic2c7LQCJScmgsAZ6vQqTDzcqmJh": "BTC",  # WBTC, priced as BTC
}
MINT_DECIMALS: Mapping[str, int] = {
    "So11111111111111111111111111111111111111112": 9,
    "7vfCXTUXx5WJV5JADk17DUJ4ksgau7utNKj4b963voxs": 8,
    "3NZ9JMVBmGAqocybic2c7LQCJScmgsAZ6vQqTDzcqmJh": 8,
}
STABLE_PRICE = 1.0  # Jupiter values a stable custody at max(1, price)


def _owned_by(account: Account | None, key: str, programs: frozenset[str]) -> Account:
    if account is None:
        raise PoolDataError(f"{key}: account not found")
    if account.owner not in programs:
        raise PoolDataError(f"{key}: owned by {account.owner}, not {sorted(programs)}")
    return account


class JlpPoolSource(PoolSource):
    """JLP exposure; ``prices`` feeds the layout-drift check (on by default).

    Pass ``prices=exchange.prices`` (any ``async (symbols) -> {symbol: usd}``)
    or turn the check off explicitly with ``drift_tolerance_pct=None``.
    """

    def __init__(
        self,
        *,
        rpc_url: str | None = None,
        rpc: SolanaRpc | None = None,
        pool: str = JLP_POOL,
        mint: str = JLP_MINT,
        mint_symbols: Mapping[str, str] = MINT_SYMBOLS,
        mint_decimals: Mapping[str, int] = MINT_DECIMALS,
        prices: PriceProvider | None = None,
        drift_tolerance_pct: float | None = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if prices is None and drift_tolerance_pct is not None:
            raise ConfigError(
                "pools.JLP",
                "the layout-drift check needs current prices: pass prices= "
                "(e.g. the exchange's prices) or drift_tolerance_pct=None",
            )
        self._rpc = rpc or (SolanaRpc(rpc_url) if rpc_url else SolanaRpc())
        self.pool = pool
        self.mint = mint
        self.mint_symbols = dict(mint_symbols)
        self.mint_decimals = dict(mint_decimals)
        self.drift_tolerance_pct = drift_tolerance_pct
        self._prices = prices
        self._clock = clock
        self._custodies: tuple[str, ...] | None = None

    @property
    @override
    def name(self) -> str:
        return "JLP"

    def _read_pool(self, account: Account | None) -> JlpPool:
        acct = _owned_by(account, self.pool, frozenset({PERPS_PROGRAM}))
        return decode_jlp_pool(acct.data, f"pool {self.pool}")

    @override
    async def fetch(self) -> PoolSnapshot:
        if self._custodies is None:
            _, (pool_acct,) = await self._rpc.get_multiple_accounts([self.pool])
            self._custodies = self._read_pool(pool_acct).custodies
        for _ in range(2):
            keys = [self.pool, *self._custodies, self.mint]
            slot, accounts = await self._rpc.get_multiple_accounts(keys)
            pool = self._read_pool(accounts[0])
            if pool.custodies == self._custodies:
                return await self._snapshot(pool, accounts[1:-1], accounts[-1], slot)
            self._custodies = pool.custodies  # the pool changed under us: read again
        raise PoolDataError(f"pool {self.pool}: custody list keeps changing")

    def _hedged(self, key: str, custody: JlpCustody) -> str:
        """The venue symbol of a volatile custody, after checking its own bytes."""
        symbol = self.mint_symbols.get(custody.mint)
        if symbol is None:
            raise CustodyMismatchError(key, "mint", sorted(self.mint_symbols), custody.mint)
        expected = self.mint_decimals.get(custody.mint)
        if expected is not None and custody.decimals != expected:
            raise CustodyMismatchError(key, "decimals", expected, custody.decimals)
        if custody.locked > custody.owned:
            raise PoolDataError(f"custody {key}: locked {custody.locked} > owned {custody.owned}")
        return symbol

    async def _snapshot(
        self, pool: JlpPool, custody_accounts: list[Account | None], mint: Account | None, slot: int
    ) -> PoolSnapshot:
        supply_raw, mint_decimals = decode_mint(
            _owned_by(mint, self.mint, TOKEN_PROGRAMS).data, f"mint {self.mint}"
        )
        if supply_raw == 0:
            raise PoolDataError(f"mint {self.mint}: supply is 0")
        supply = supply_raw / 10**mint_decimals
        custodies: list[tuple[str | None, JlpCustody]] = []
        for key, account in zip(pool.custodies, custody_accounts, strict=True):
            data = _owned_by(account, key, frozenset({PERPS_PROGRAM})).data
            custody = decode_jlp_custody(data, f"custody {key}")
            custodies.append((None if custody.is_stable else self._hedged(key, custody), custody))
        per_token: dict[str, float] = {}
        for symbol, custody in custodies:
            if symbol is None:
                continue
            delta = custody.delta_tokens()
            if delta < 0:
                raise PoolDataError(f"{symbol} custody: negative token delta {delta}")
            per_token[symbol] = per_token.get(symbol, 0.0) + delta / supply
        prices: dict[str, float] = {}
        if self._prices is not None:
            quoted = await self._prices(sorted(per_token))
            prices = {s: checked_price("JLP", s, quoted) for s in per_token}
        aum = pool.aum_usd / 1e6
        if self.drift_tolerance_pct is not None:
            decoded = sum(
                c.value_usd(STABLE_PRICE if s is None else prices[s]) for s, c in custodies
            )
            check_drift(
                "JLP", decoded_usd=decoded, onchain_usd=aum, tolerance_pct=self.drift_tolerance_pct
            )
        return snapshot(
            "JLP",
            per_token,
            prices=prices,
            lp_price_usd=aum / supply if aum > 0 else None,
            observed_at=self._clock(),
            slot=slot,
        )

    async def close(self) -> None:
        await self._rpc.close()
