"""Pure decoders for the on-chain accounts (bytes in, values out).

Every decoder checks the length before reading an offset and the Anchor
discriminator (``sha256("account:<Name>")[:8]``); callers also check the
owner program, because Jupiter and Adrena share the ``Custody`` name.
Offsets are from the protocols' published layouts (see docs/adapters.md).
"""

from __future__ import annotations

import hashlib
import struct

import attrs

from xlp_adapters.pools.base58 import b58encode
from xlp_adapters.pools.errors import PoolDataError


def discriminator(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


CUSTODY_DISC = discriminator("Custody")
POOL_DISC = discriminator("Pool")
ORACLE_DISC = discriminator("Oracle")


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise PoolDataError(f"{what}: {len(data)} bytes, need at least {size}")


def _disc(data: bytes, expected: bytes, what: str) -> None:
    _need(data, 8, what)
    if data[:8] != expected:
        raise PoolDataError(f"{what}: wrong account type (discriminator {data[:8].hex()})")


def _u64(data: bytes, offset: int) -> int:
    return int(struct.unpack_from("<Q", data, offset)[0])


def _u128(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 16], "little")


# --- SPL token mint ---------------------------------------------------------------

MINT_SIZE = 82


def decode_mint(data: bytes, what: str = "mint") -> tuple[int, int]:
    """``(raw supply, decimals)`` of an SPL mint."""
    if len(data) != MINT_SIZE:
        raise PoolDataError(f"{what}: {len(data)} bytes, an SPL mint has {MINT_SIZE}")
    return _u64(data, 36), data[44]


# --- Jupiter Perpetuals (JLP) ----------------------------------------------------------

JLP_CUSTODY_MIN = 1060  # end of the published struct; live accounts are 2000 bytes
DEBT_POWER = 10**9


@attrs.frozen
class JlpCustody:
    mint: str
    decimals: int
    is_stable: bool
    fees_reserves: int
    owned: int
    locked: int
    guaranteed_usd: int
    global_short_sizes: int
    global_short_average_prices: int
    debt: int
    interests_accrued: int

    def debt_tokens(self) -> int:
        """Tokens lent out (still owned by the pool): ceil(max(debt - accrued, 0) / 1e9)."""
        excess = max(self.debt - self.interests_accrued, 0)
        return -(-excess // DEBT_POWER)

    def delta_tokens(self) -> float:
        """d(AUM)/d(price), in tokens: owned + debt - locked + shorts' size / average price."""
        scale = 10**self.decimals
        tokens: float = (self.owned + self.debt_tokens() - self.locked) / scale
        if self.global_short_average_prices > 0:
            tokens += self.global_short_sizes / self.global_short_average_prices
        return tokens


def decode_jlp_custody(data: bytes, what: str = "custody") -> JlpCustody:
    _disc(data, CUSTODY_DISC, what)
    _need(data, JLP_CUSTODY_MIN, what)
    fees, owned, locked, guaranteed, gss, gsap = struct.unpack_from("<6Q", data, 214)
    if locked > owned:
        raise PoolDataError(f"{what}: locked {locked} > owned {owned}")
    return JlpCustody(
        mint=b58encode(data[40:72]),
        decimals=data[104],
        is_stable=bool(data[105]),
        fees_reserves=fees,
        owned=owned,
        locked=locked,
        guaranteed_usd=guaranteed,
        global_short_sizes=gss,
        global_short_average_prices=gsap,
        debt=_u128(data, 1004),  # u128, scaled by DEBT_POWER
        interests_accrued=_u128(data, 1020),
    )


def decode_jlp_pool(data: bytes, what: str = "pool") -> list[str]:
    """The pool's custody addresses (the list grows: never hard-code it)."""
    _disc(data, POOL_DISC, what)
    _need(data, 12, what)
    name_len = struct.unpack_from("<I", data, 8)[0]
    at = 12 + name_len
    _need(data, at + 4, what)
    n = struct.unpack_from("<I", data, at)[0]
    at += 4
    if n > 64:
        raise PoolDataError(f"{what}: implausible custody count {n}")
    _need(data, at + 32 * n, what)
    return [b58encode(data[at + 32 * i : at + 32 * (i + 1)]) for i in range(n)]


# --- Adrena (ALP) ---------------------------------------------------------------------

ADRENA_R37_SIZE = 824
ADRENA_R39_SIZE = 1168


@attrs.frozen
class AdrenaCustody:
    layout: str
    owned: int
    locked: int
    short_size_usd: int  # USD x 1e6


def decode_adrena_custody(data: bytes, what: str = "custody") -> AdrenaCustody:
    """Dispatch on the account length: release/39 shifted every field after 200 by 8."""
    _disc(data, CUSTODY_DISC, what)
    if len(data) == ADRENA_R37_SIZE:
        layout, owned_at, short_at = "r37", 376, 600
    elif len(data) == ADRENA_R39_SIZE:
        layout, owned_at, short_at = "r39", 384, 608
    else:
        raise PoolDataError(
            f"{what}: unknown Adrena custody layout ({len(data)} bytes; "
            f"know {ADRENA_R37_SIZE} and {ADRENA_R39_SIZE})"
        )
    owned, locked = struct.unpack_from("<2Q", data, owned_at)
    if locked > owned:
        raise PoolDataError(f"{what}: locked {locked} > owned {owned}")
    return AdrenaCustody(layout, owned, locked, _u64(data, short_at))


ADRENA_MAX_CUSTODIES = 8
ADRENA_POOL_COUNT_AT = 15  # registered_custody_count, after 7 one-byte flags
ADRENA_POOL_CUSTODIES_AT = 48  # after the 32-byte LimitedString name


def decode_adrena_pool(data: bytes, what: str = "pool") -> list[str]:
    """The custodies the Adrena pool has registered (zero-copy ``Pool``)."""
    _disc(data, POOL_DISC, what)
    _need(data, ADRENA_POOL_CUSTODIES_AT + 32 * ADRENA_MAX_CUSTODIES, what)
    n = data[ADRENA_POOL_COUNT_AT]
    if n > ADRENA_MAX_CUSTODIES:
        raise PoolDataError(f"{what}: implausible custody count {n}")
    at = ADRENA_POOL_CUSTODIES_AT
    return [b58encode(data[at + 32 * i : at + 32 * (i + 1)]) for i in range(n)]


ORACLE_PRICES_AT = 24
ORACLE_SLOT = 64


def decode_adrena_prices(data: bytes, what: str = "oracle") -> dict[str, float]:
    """Prices by feed name (``SOLUSD``), each scaled by its own stored exponent."""
    _disc(data, ORACLE_DISC, what)
    _need(data, ORACLE_PRICES_AT + ORACLE_SLOT, what)
    out: dict[str, float] = {}
    for at in range(ORACLE_PRICES_AT, len(data) - ORACLE_SLOT + 1, ORACLE_SLOT):
        length = data[at + 63]
        if length == 0 or length > 31:
            continue
        name = data[at + 32 : at + 32 + length].decode("ascii", "replace")
        price = _u64(data, at)
        exponent = struct.unpack_from("<i", data, at + 24)[0]
        if price > 0 and -30 <= exponent <= 0:
            out[name] = price * 10.0**exponent
    return out
