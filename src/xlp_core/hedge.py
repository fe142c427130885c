"""Ideal hedges: what short position the LP holdings call for.

A pool reports, per LP token, how many base tokens of each asset it is exposed
to. Holding ``n`` LP tokens is therefore long ``n * per_token`` of each asset,
and the ideal hedge is the opposite: a short of the same size.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping

from xlp_core.errors import InvalidInputError, MissingSymbolError
from xlp_core.models import PoolSnapshot

# Wrapped or staked variants priced like the asset the venue lists. JITOSOL is
# folded into SOL by the pool source (it needs an oracle price ratio); here a
# bare rename is only correct for 1:1 wrappers.
SYMBOL_ALIASES: Mapping[str, str] = {
    "WBTC": "BTC",
    "CBBTC": "BTC",
    "WETH": "ETH",
    "WSOL": "SOL",
}

STABLECOINS: frozenset[str] = frozenset({"USDC", "USDT", "USD"})


def _is_number(value: object) -> bool:
    if type(value) is float:  # the usual case, per token per cycle
        return True
    return isinstance(value, int | float) and not isinstance(value, bool)


@functools.lru_cache(maxsize=1024)  # a pool names the same few tokens every cycle
def normalise_symbol(symbol: str) -> str:
    """Map a pool's token name to the venue symbol (``WBTC`` -> ``BTC``)."""
    upper = symbol.strip().upper()
    if not upper:
        raise InvalidInputError("empty symbol")
    return SYMBOL_ALIASES.get(upper, upper)


def ideal_hedges(
    holdings: Mapping[str, float], snapshots: Iterable[PoolSnapshot]
) -> dict[str, float]:
    """Sum ``-holding * per_token`` per venue symbol across all pools.

    ``holdings`` maps pool name to LP token count. Every pool with a non-zero
    holding must have a snapshot; a missing one is an error, never a zero
    hedge (which would read as "sell everything").
    """
    by_pool = {snap.pool: snap for snap in snapshots}
    result: dict[str, float] = {}
    for pool, amount in holdings.items():
        if not _is_number(amount) or not math.isfinite(amount) or amount < 0:
            raise InvalidInputError(f"holding of {pool} must be finite and >= 0, got {amount!r}")
        if amount == 0:
            continue
        snap = by_pool.get(pool)
        if snap is None:
            raise MissingSymbolError(pool, "pool snapshot")
        for raw_symbol, per_token in snap.per_token.items():
            if not _is_number(per_token) or not math.isfinite(per_token) or per_token < 0:
                raise InvalidInputError(
                    f"{pool}.{raw_symbol} exposure must be finite and >= 0, got {per_token!r}"
                )
            symbol = normalise_symbol(raw_symbol)
            if symbol in STABLECOINS:
                continue
            result[symbol] = result.get(symbol, 0.0) - amount * per_token
    return result
