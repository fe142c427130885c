"""Pool-source errors: transport trouble is transient, bad bytes are bad input."""

from __future__ import annotations

from xlp_core.errors import InvalidInputError, TransientExchangeError


class PoolRpcError(TransientExchangeError):
    """The RPC endpoint failed (HTTP error, JSON-RPC error, timeout): try next cycle."""


class PoolDataError(InvalidInputError):
    """An account is missing, owned by the wrong program, or does not decode.

    Never papered over with a zero: a wrong exposure would trade real money.
    """
