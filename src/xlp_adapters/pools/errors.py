"""Pool-source errors: transport trouble is transient, bad bytes are bad input."""

from __future__ import annotations

from xlp_core.errors import InvalidInputError, TransientExchangeError


class PoolRpcError(TransientExchangeError):
    """The RPC endpoint failed (HTTP error, JSON-RPC error, timeout): try next cycle."""


class PoolDataError(InvalidInputError):
    """An account is missing, owned by the wrong program, or does not decode.

    Never papered over with a zero: a wrong exposure would trade real money.
    """


class CustodyMismatchError(PoolDataError):
    """A custody's own bytes (mint, decimals, stable flag) contradict the symbol table.

    Hedging it anyway would short the wrong asset or the wrong amount.
    """

    def __init__(self, custody: str, field: str, expected: object, found: object) -> None:
        super().__init__(f"custody {custody}: {field} is {found!r}, expected {expected!r}")
        self.custody = custody
        self.field = field
        self.expected = expected
        self.found = found


class PoolPriceError(PoolDataError):
    """A price the pool source needs is missing, not finite and positive, or too old."""


class PoolDriftError(PoolDataError):
    """The decoded custodies do not add up to the pool's own on-chain AUM.

    The signature of a program upgrade that moved a field: the snapshot is
    refused rather than hedged.
    """

    def __init__(self, pool: str, decoded_usd: float, onchain_usd: float, tolerance_pct: float):
        gap = abs(decoded_usd - onchain_usd) / onchain_usd * 100 if onchain_usd else float("inf")
        super().__init__(
            f"{pool}: decoded custodies value to ${decoded_usd:,.0f} but the pool's on-chain "
            f"AUM is ${onchain_usd:,.0f} ({gap:.2f}% apart, tolerance {tolerance_pct}%): "
            "layout drift? snapshot refused"
        )
        self.pool = pool
        self.decoded_usd = decoded_usd
        self.onchain_usd = onchain_usd
        self.tolerance_pct = tolerance_pct
