"""Pure decoders for the on-chain accounts (bytes in, values out).

Every decoder checks the length before reading an offset and the Anchor
discriminator (``sha256("account:<Name>")[:8]``); callers also check the
owner program, because Jupiter and Adrena share the ``Custody`` name.
Offsets are from the protocols' published layouts (see docs/adapters.md);
the protocol-specific decoders live in :mod:`.jlp_layout` and
:mod:`.adrena_layout`, this module holds what they share.
"""

from __future__ import annotations

import hashlib
import struct

from xlp_adapters.pools.errors import PoolDataError


def discriminator(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


CUSTODY_DISC = discriminator("Custody")
POOL_DISC = discriminator("Pool")
ORACLE_DISC = discriminator("Oracle")


def need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise PoolDataError(f"{what}: {len(data)} bytes, need at least {size}")


def check_disc(data: bytes, expected: bytes, what: str) -> None:
    need(data, 8, what)
    if data[:8] != expected:
        raise PoolDataError(f"{what}: wrong account type (discriminator {data[:8].hex()})")


def u64(data: bytes, offset: int) -> int:
    return int(struct.unpack_from("<Q", data, offset)[0])


def u128(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 16], "little")


def u128_split(data: bytes, offset: int) -> int:
    """Adrena's ``U128Split``: two u64, the HIGH word first."""
    high, low = struct.unpack_from("<QQ", data, offset)
    return (int(high) << 64) | int(low)


# --- SPL token mint ---------------------------------------------------------------

MINT_SIZE = 82


def decode_mint(data: bytes, what: str = "mint") -> tuple[int, int]:
    """``(raw supply, decimals)`` of an SPL mint."""
    if len(data) != MINT_SIZE:
        raise PoolDataError(f"{what}: {len(data)} bytes, an SPL mint has {MINT_SIZE}")
    return u64(data, 36), data[44]
