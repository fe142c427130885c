"""Integer scaling between the core's units and Lighter's, with range checks.

The core speaks base tokens and USD per token. Lighter speaks integers scaled
by each market's decimals, and lists some assets per 1000 tokens (``1000BONK``):
sizes are divided and prices multiplied by that multiplier on the way in. The
signer silently wraps prices >= 2**32 and refuses sizes >= 2**48, so both are
checked here, before anything is signed.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

import attrs

from xlp_core.errors import InvalidInputError, OrderRejectedError
from xlp_core.models import MarketRules, Side

MAX_PRICE_INT = 2**32 - 1
MAX_BASE_INT = 2**48 - 1
VENUE_MIN_NOTIONAL = 10.0
"""Orders under about $10 are acknowledged but never reach the chain (xLP history)."""


def dec(text: object, what: str) -> Decimal:
    """Parse a venue decimal string strictly (finite)."""
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInputError(f"{what}: not a decimal: {text!r}") from exc
    if not value.is_finite():
        raise InvalidInputError(f"{what}: not finite: {text!r}")
    return value


@attrs.frozen
class MarketSpec:
    symbol: str
    """Core symbol (``BONK``)."""
    venue_symbol: str
    """Lighter symbol (``1000BONK``)."""
    market_id: int
    size_decimals: int
    price_decimals: int
    min_base_amount: Decimal
    min_quote_amount: Decimal
    multiplier: int = 1

    def rules(self) -> MarketRules:
        m = self.multiplier
        return MarketRules(
            symbol=self.symbol,
            size_increment=10.0**-self.size_decimals * m,
            price_increment=10.0**-self.price_decimals / m,
            min_size=float(self.min_base_amount) * m,
            min_notional=max(float(self.min_quote_amount), VENUE_MIN_NOTIONAL),
        )


def core_symbol(venue_symbol: str, multiplier: int) -> str:
    """``1000BONK`` with the market's own multiplier 1000 -> ``BONK``.

    The multiplier comes from the market row, never from the name: a listing
    named ``1000X`` with multiplier 1 stays ``1000X``.
    """
    prefix = str(multiplier)
    if multiplier > 1 and venue_symbol.startswith(prefix) and len(venue_symbol) > len(prefix):
        return venue_symbol[len(prefix) :]
    return venue_symbol


def base_amount(size_tokens: float, spec: MarketSpec) -> int:
    """Tokens -> venue integer size, rounded down (never trade more than asked)."""
    if not math.isfinite(size_tokens) or size_tokens <= 0:
        raise InvalidInputError(f"{spec.symbol}: size must be finite and > 0, got {size_tokens}")
    lots = Decimal(repr(size_tokens)) / spec.multiplier
    scaled = (lots * (Decimal(10) ** spec.size_decimals)).to_integral_value(ROUND_FLOOR)
    n = int(scaled)
    if n < 1:
        raise OrderRejectedError(f"{spec.symbol}: size {size_tokens} rounds to 0 on the venue")
    if n > MAX_BASE_INT:
        raise OrderRejectedError(f"{spec.symbol}: size {size_tokens} exceeds the venue range")
    if lots < spec.min_base_amount:
        raise OrderRejectedError(
            f"{spec.symbol}: size {size_tokens} below venue minimum "
            f"{spec.min_base_amount * spec.multiplier}"
        )
    return n


def price_int(price_usd: float, spec: MarketSpec, side: Side) -> int:
    """USD per token -> venue integer price, rounded toward the passive side.

    A buy rounds down and a sell up, so a limit never becomes more aggressive
    and a market order's worst-price cap never becomes looser.
    """
    if not math.isfinite(price_usd) or price_usd <= 0:
        raise InvalidInputError(f"{spec.symbol}: price must be finite and > 0, got {price_usd}")
    per_lot = Decimal(repr(price_usd)) * spec.multiplier
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    n = int((per_lot * (Decimal(10) ** spec.price_decimals)).to_integral_value(rounding))
    if n < 1:
        raise OrderRejectedError(f"{spec.symbol}: price {price_usd} rounds to 0 on the venue")
    if n > MAX_PRICE_INT:
        # The signer would wrap this modulo 2**32 into a tiny, absurd price.
        raise OrderRejectedError(f"{spec.symbol}: price {price_usd} exceeds the signer's range")
    return n


def size_from_venue(text: object, spec: MarketSpec) -> float:
    return float(dec(text, f"{spec.symbol} size") * spec.multiplier)


def price_from_venue(text: object, spec: MarketSpec) -> float:
    return float(dec(text, f"{spec.symbol} price") / spec.multiplier)


def price_from_int(n: int, spec: MarketSpec) -> float:
    return float(Decimal(n) / (Decimal(10) ** spec.price_decimals) / spec.multiplier)


def size_from_int(n: int, spec: MarketSpec) -> float:
    return float(Decimal(n) / (Decimal(10) ** spec.size_decimals) * spec.multiplier)
