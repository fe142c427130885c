"""Jupiter Perpetuals accounts (``Custody``, ``Pool``) and their valuation.

Offsets include the 8-byte discriminator and follow the published IDL
(Borsh, no padding); live custodies are 2,000 bytes, the IDL describes the
first 1,060. The maths is Jupiter's documented AUM per custody and its
derivative in the token price (docs/adapters.md gives the sources).
"""

from __future__ import annotations

import struct

import attrs

from xlp_adapters.pools.base58 import b58encode
from xlp_adapters.pools.errors import PoolDataError
from xlp_adapters.pools.layouts import CUSTODY_DISC, POOL_DISC, check_disc, need, u128

JLP_CUSTODY_MIN = 1060  # end of the published struct; live accounts are 2000 bytes
DEBT_POWER = 10**9
USD = 1e6  # USD amounts and average prices are stored x 1e6


@attrs.frozen
class JlpCustody:
    mint: str
    decimals: int
    is_stable: bool
    target_ratio_bps: int
    fees_reserves: int
    owned: int
    locked: int
    guaranteed_usd: int
    global_short_sizes: int
    global_short_average_prices: int
    debt: int
    interests_accrued: int

    @property
    def scale(self) -> float:
        """Native units per token."""
        return float(10**self.decimals)

    def debt_tokens(self) -> int:
        """Tokens lent out (still owned by the pool): ceil(max(debt - accrued, 0) / 1e9)."""
        excess = max(self.debt - self.interests_accrued, 0)
        return -(-excess // DEBT_POWER)

    def delta_tokens(self) -> float:
        """d(AUM)/d(price), in tokens: owned + debt - locked + shorts' size / average price."""
        tokens: float = (self.owned + self.debt_tokens() - self.locked) / self.scale
        if self.global_short_average_prices > 0:
            tokens += self.global_short_sizes / self.global_short_average_prices
        return tokens

    def value_usd(self, price: float) -> float:
        """This custody's share of the pool AUM at ``price`` (Jupiter's formula).

        Stable: ``(owned + debt) * max(1, price)``. Otherwise ``guaranteedUsd +
        max(0, owned + debt - locked) * price`` plus the traders' short PnL
        booked against the pool, ``size * (price - avg) / avg``.
        """
        tokens = (self.owned + self.debt_tokens()) / self.scale
        if self.is_stable:
            return tokens * max(1.0, price)
        free = max(0.0, tokens - self.locked / self.scale)
        value = self.guaranteed_usd / USD + free * price
        if self.global_short_average_prices > 0:
            avg = self.global_short_average_prices / USD
            value += self.global_short_sizes / USD * (price - avg) / avg
        return value


def decode_jlp_custody(data: bytes, what: str = "custody") -> JlpCustody:
    """Decode only; sanity checks that depend on use (``locked > owned``) are the caller's."""
    check_disc(data, CUSTODY_DISC, what)
    need(data, JLP_CUSTODY_MIN, what)
    if data[105] > 1:
        raise PoolDataError(f"{what}: isStable byte is {data[105]}, not a bool")
    target = struct.unpack_from("<Q", data, 206)[0]
    fees, owned, locked, guaranteed, gss, gsap = struct.unpack_from("<6Q", data, 214)
    return JlpCustody(
        mint=b58encode(data[40:72]),
        decimals=data[104],
        is_stable=bool(data[105]),
        target_ratio_bps=target,
        fees_reserves=fees,
        owned=owned,
        locked=locked,
        guaranteed_usd=guaranteed,
        global_short_sizes=gss,
        global_short_average_prices=gsap,
        debt=u128(data, 1004),  # u128, scaled by DEBT_POWER
        interests_accrued=u128(data, 1020),
    )


@attrs.frozen
class JlpPool:
    custodies: tuple[str, ...]
    aum_usd: int
    """The pool's own cached AUM, USD x 1e6 (refreshed by the program)."""


def decode_jlp_pool(data: bytes, what: str = "pool") -> JlpPool:
    """The pool's custody addresses (the list grows: never hard-code it) and its AUM."""
    check_disc(data, POOL_DISC, what)
    need(data, 12, what)
    name_len = struct.unpack_from("<I", data, 8)[0]
    at = 12 + name_len
    need(data, at + 4, what)
    n = struct.unpack_from("<I", data, at)[0]
    at += 4
    if n > 64:
        raise PoolDataError(f"{what}: implausible custody count {n}")
    need(data, at + 32 * n + 16, what)
    keys = tuple(b58encode(data[at + 32 * i : at + 32 * (i + 1)]) for i in range(n))
    return JlpPool(keys, u128(data, at + 32 * n))
