"""JLP (Jupiter Perpetuals) exposure per LP token, read on chain.

One ``getMultipleAccounts`` per refresh reads the pool, every custody the
pool lists and the JLP mint at one slot. The custody list comes from the
pool account (it grows: a sixth, stable custody appeared in 2026); it is
learnt on the first refresh and re-checked in every later one.

Per non-stable custody the pool's token delta is ``owned + debt - locked +
globalShortSizes / globalShortAveragePrices`` (the price derivative of
Jupiter's AUM formula); divided by the JLP supply it is the exposure of one
JLP token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from xlp_adapters.pools.errors import PoolDataError
from xlp_adapters.pools.layouts import decode_jlp_custody, decode_jlp_pool, decode_mint
from xlp_adapters.pools.rpc import Account, SolanaRpc
from xlp_core.models import PoolSnapshot

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


def _owned_by(account: Account | None, key: str, programs: frozenset[str]) -> Account:
    if account is None:
        raise PoolDataError(f"{key}: account not found")
    if account.owner not in programs:
        raise PoolDataError(f"{key}: owned by {account.owner}, not {sorted(programs)}")
    return account


class JlpPoolSource:
    def __init__(
        self,
        *,
        rpc_url: str | None = None,
        rpc: SolanaRpc | None = None,
        pool: str = JLP_POOL,
        mint: str = JLP_MINT,
        mint_symbols: Mapping[str, str] = MINT_SYMBOLS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._rpc = rpc or (SolanaRpc(rpc_url) if rpc_url else SolanaRpc())
        self.pool = pool
        self.mint = mint
        self.mint_symbols = dict(mint_symbols)
        self._clock = clock
        self._custodies: list[str] | None = None

    @property
    def name(self) -> str:
        return "JLP"

    async def fetch(self) -> PoolSnapshot:
        if self._custodies is None:
            _, (pool_acct,) = await self._rpc.get_multiple_accounts([self.pool])
            acct = _owned_by(pool_acct, self.pool, frozenset({PERPS_PROGRAM}))
            self._custodies = decode_jlp_pool(acct.data, f"pool {self.pool}")
        keys = [self.pool, *self._custodies, self.mint]
        slot, accounts = await self._rpc.get_multiple_accounts(keys)
        pool_acct = _owned_by(accounts[0], self.pool, frozenset({PERPS_PROGRAM}))
        listed = decode_jlp_pool(pool_acct.data, f"pool {self.pool}")
        if listed != self._custodies:
            # The pool changed under us: learn the new list and read again.
            self._custodies = listed
            return await self.fetch()
        mint_acct = _owned_by(accounts[-1], self.mint, TOKEN_PROGRAMS)
        supply_raw, mint_decimals = decode_mint(mint_acct.data, f"mint {self.mint}")
        if supply_raw == 0:
            raise PoolDataError(f"mint {self.mint}: supply is 0")
        supply = supply_raw / 10**mint_decimals
        per_token: dict[str, float] = {}
        for key, account in zip(self._custodies, accounts[1:-1], strict=True):
            custody = decode_jlp_custody(
                _owned_by(account, key, frozenset({PERPS_PROGRAM})).data, f"custody {key}"
            )
            if custody.is_stable:
                continue
            symbol = self.mint_symbols.get(custody.mint, custody.mint)
            delta = custody.delta_tokens()
            if delta < 0:
                raise PoolDataError(f"custody {key}: negative token delta {delta}")
            per_token[symbol] = per_token.get(symbol, 0.0) + delta / supply
        return PoolSnapshot("JLP", per_token, observed_at=self._clock(), slot=slot)

    async def close(self) -> None:
        await self._rpc.close()
