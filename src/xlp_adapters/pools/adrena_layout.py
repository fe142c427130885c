"""Adrena accounts (``Custody``, ``Pool``, ``Oracle``) and their valuation.

Zero-copy ``repr(C)`` structs; offsets include the 8-byte discriminator and
come from Adrena's published ABI (release/37 "deployed binary" and
release/39), tabulated in docs/adapters.md. The custody layout is chosen by
account length: release/39 inserted a u64 in the pricing parameters, which
moved every field after byte 200 by 8.
"""

from __future__ import annotations

import struct

import attrs

from xlp_adapters.pools.base58 import b58encode
from xlp_adapters.pools.errors import PoolDataError
from xlp_adapters.pools.layouts import (
    CUSTODY_DISC,
    ORACLE_DISC,
    POOL_DISC,
    check_disc,
    need,
    u64,
    u128_split,
)

USD = 1e6  # USD_DECIMALS 6
PRICE = 1e10  # PRICE_DECIMALS 10 (average entry prices)
QUANTITY = 1e4  # total_quantity / 1e4 = tokens (see AdrenaCustody.short_tokens_by_quantity)


@attrs.frozen
class CustodyOffsets:
    length: int
    collateral: int  # then owned, locked
    long_positions: int  # PositionsAccounting; short_positions follow 200 bytes later
    long_collateral_usd: int | None  # release/39 only (was padding before)


R37 = CustodyOffsets(824, 368, 392, None)
R39 = CustodyOffsets(1168, 376, 400, 400 + 72)
LAYOUTS = {"r37": R37, "r39": R39}
ADRENA_R37_SIZE, ADRENA_R39_SIZE = R37.length, R39.length


@attrs.frozen
class Side:
    """One side's ``PositionsAccounting`` aggregate."""

    size_usd: int  # USD x 1e6
    weighted_price: int  # sum of price (x 1e10) * quantity (x 1e4)
    total_quantity: int  # tokens x 1e4

    def average_price(self) -> float:
        """Collective entry price in USD (0 when the side is empty)."""
        if self.total_quantity == 0:
            return 0.0
        return self.weighted_price / self.total_quantity / PRICE


@attrs.frozen
class AdrenaCustody:
    layout: str
    mint: str
    decimals: int
    is_stable: bool
    collateral: int
    owned: int
    locked: int
    longs: Side
    shorts: Side
    long_collateral_usd: int | None = None

    @property
    def scale(self) -> float:
        """Native units per token."""
        return float(10**self.decimals)

    @property
    def short_size_usd(self) -> int:
        return self.shorts.size_usd

    def short_tokens(self) -> float:
        """Shorts at their average entry price: ``size_usd / (weighted_price / total_quantity)``."""
        avg = self.shorts.average_price()
        return self.shorts.size_usd / USD / avg if avg > 0 else 0.0

    def short_tokens_by_quantity(self) -> float:
        """The same quantity read directly: ``total_quantity / 1e4``.

        Equal to :meth:`short_tokens` whenever ``size_usd = weighted_price /
        1e8`` (each position's size is its entry price times its quantity);
        kept as a cross-check of the scaling.
        """
        return self.shorts.total_quantity / QUANTITY

    def delta_tokens(self) -> float:
        """Price delta in tokens: ``owned + collateral - locked + short quantity``."""
        raw = self.owned + self.collateral - self.locked
        return raw / self.scale + self.short_tokens()

    def value_usd(self, price: float) -> float:
        """This custody's contribution to the pool's AUM at ``price``.

        Stable: ``owned * price``. Otherwise the value whose price derivative
        is :meth:`delta_tokens`: ``(owned + collateral - locked) * price`` plus
        what longs owe back in USD (``size - collateral``, collateral valued at
        ``price`` where release/37 does not record it) plus the shorts' PnL
        booked against the pool, ``size * (price - avg) / avg``.
        """
        scale = self.scale
        if self.is_stable:
            return self.owned / scale * price
        value = (self.owned + self.collateral - self.locked) / scale * price
        long_collateral = (
            self.long_collateral_usd / USD
            if self.long_collateral_usd is not None
            else self.collateral / scale * price
        )
        value += self.longs.size_usd / USD - long_collateral
        avg = self.shorts.average_price()
        if avg > 0:
            value += self.shorts.size_usd / USD * (price - avg) / avg
        return value


def _side(data: bytes, at: int) -> Side:
    return Side(u64(data, at + 8), u128_split(data, at + 32), u128_split(data, at + 48))


def decode_adrena_custody(data: bytes, what: str = "custody") -> AdrenaCustody:
    """Dispatch on the account length; any other length is refused."""
    check_disc(data, CUSTODY_DISC, what)
    name = next((n for n, o in LAYOUTS.items() if o.length == len(data)), None)
    if name is None:
        raise PoolDataError(
            f"{what}: unknown Adrena custody layout ({len(data)} bytes; "
            f"know {ADRENA_R37_SIZE} and {ADRENA_R39_SIZE})"
        )
    o = LAYOUTS[name]
    collateral, owned, locked = struct.unpack_from("<3Q", data, o.collateral)
    return AdrenaCustody(
        layout=name,
        mint=b58encode(data[48:80]),
        decimals=data[12],
        is_stable=bool(data[13]),
        collateral=collateral,
        owned=owned,
        locked=locked,
        longs=_side(data, o.long_positions),
        shorts=_side(data, o.long_positions + 200),
        long_collateral_usd=None
        if o.long_collateral_usd is None
        else u64(data, o.long_collateral_usd),
    )


ADRENA_MAX_CUSTODIES = 8
ADRENA_POOL_COUNT_AT = 15  # registered_custody_count, after 7 one-byte flags
ADRENA_POOL_CUSTODIES_AT = 48  # after the 32-byte LimitedString name
ADRENA_POOL_LP_PRICE_AT = 328  # lp_token_price_usd u64, USD x 1e6
ADRENA_POOL_AUM_UPDATED_AT = 432  # last_aum_and_lp_token_price_usd_update i64
ADRENA_POOL_AUM_AT = 448  # aum_usd U128Split, USD x 1e6
_ZERO_KEY = bytes(32)


@attrs.frozen
class AdrenaPool:
    custodies: tuple[str, ...]
    registered: int
    """The pool's own ``registered_custody_count`` (the non-zero slots should match)."""
    aum_usd: int
    lp_token_price_usd: int
    aum_updated_at: int


def decode_adrena_pool(data: bytes, what: str = "pool") -> AdrenaPool:
    """Every non-zero custody slot (removing a custody zeroes its slot: gaps happen)."""
    check_disc(data, POOL_DISC, what)
    need(data, ADRENA_POOL_AUM_AT + 16, what)
    at = ADRENA_POOL_CUSTODIES_AT
    slots = [data[at + 32 * i : at + 32 * (i + 1)] for i in range(ADRENA_MAX_CUSTODIES)]
    return AdrenaPool(
        custodies=tuple(b58encode(s) for s in slots if s != _ZERO_KEY),
        registered=data[ADRENA_POOL_COUNT_AT],
        aum_usd=u128_split(data, ADRENA_POOL_AUM_AT),
        lp_token_price_usd=u64(data, ADRENA_POOL_LP_PRICE_AT),
        aum_updated_at=struct.unpack_from("<q", data, ADRENA_POOL_AUM_UPDATED_AT)[0],
    )


ORACLE_PRICES_AT = 24
ORACLE_SLOT = 64


@attrs.frozen
class OraclePrice:
    name: str
    feed_id: int
    price: float
    timestamp: int  # unix seconds


def decode_adrena_prices(data: bytes, what: str = "oracle") -> list[OraclePrice]:
    """Every named slot with a positive price, scaled by its own stored exponent."""
    check_disc(data, ORACLE_DISC, what)
    need(data, ORACLE_PRICES_AT + ORACLE_SLOT, what)
    out: list[OraclePrice] = []
    for at in range(ORACLE_PRICES_AT, len(data) - ORACLE_SLOT + 1, ORACLE_SLOT):
        length = data[at + 63]
        if length == 0 or length > 31:
            continue
        price, _, timestamp, exponent, feed_id = struct.unpack_from("<QQqiB", data, at)
        if price > 0 and -30 <= exponent <= 0:
            name = data[at + 32 : at + 32 + length].decode("ascii", "replace")
            out.append(OraclePrice(name, feed_id, price * 10.0**exponent, timestamp))
    return out
