"""Base58 (Bitcoin alphabet), enough for Solana public keys."""

from __future__ import annotations

from xlp_adapters.pools.errors import PoolDataError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(ALPHABET[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str, length: int | None = 32) -> bytes:
    n = 0
    for c in text:
        if c not in _INDEX:
            raise PoolDataError(f"not base58: {text!r}")
        n = n * 58 + _INDEX[c]
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    raw = b"\0" * pad + body
    if length is not None and len(raw) != length:
        raise PoolDataError(f"{text!r} decodes to {len(raw)} bytes, expected {length}")
    return raw
