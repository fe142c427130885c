"""Order side, size and limit price for closing part of an exposure."""

from __future__ import annotations

import math

import attrs

from xlp_core.errors import InvalidInputError
from xlp_core.models import MarketRules, Side, check_price


def side_for(offset: float) -> Side:
    """Long exposure (offset > 0) is closed by selling; short by buying."""
    return Side.SELL if offset > 0 else Side.BUY


def close_size(offset: float, close_ratio_pct: float) -> float:
    """``|offset| * ratio``: the reference bot closes a fixed share per order."""
    if not math.isfinite(offset):
        raise InvalidInputError(f"offset must be finite, got {offset!r}")
    if not 0 < close_ratio_pct <= 100:
        raise InvalidInputError(f"close ratio must be in (0, 100], got {close_ratio_pct!r}")
    return abs(offset) * close_ratio_pct / 100.0


def limit_price(
    cost_basis: float,
    offset: float,
    price_offset_pct: float,
    market_price: float,
    max_deviation_pct: float,
) -> float:
    """Cost basis +/- the configured offset, clamped to a band around the market.

    Anchoring on the break-even cost is the reference behaviour; the clamp
    stops a degenerate cost (679 for SOL at 179) from producing an absurd
    order. A cost of 0 (no basis yet) anchors on the market.
    """
    market_price = check_price(market_price, "market price")
    anchor = cost_basis if cost_basis > 0 else market_price
    sign = 1.0 if offset > 0 else -1.0
    raw = anchor * (1.0 + sign * price_offset_pct / 100.0)
    low = market_price * (1.0 - max_deviation_pct / 100.0)
    high = market_price * (1.0 + max_deviation_pct / 100.0)
    return min(max(raw, low), high)


@attrs.frozen
class SizedOrder:
    side: Side
    size: float
    price: float | None
    bumped_to_minimum: bool = False


def fit_to_market(
    side: Side,
    size: float,
    price: float | None,
    *,
    reference_price: float,
    max_size: float,
    rules: MarketRules | None,
    min_notional: float,
) -> SizedOrder | None:
    """Round to the venue's increments and respect its minimums, or give up.

    A close that is below the venue minimum is raised to the minimum when the
    whole exposure allows it (the reference defaults otherwise never trade on
    Lighter). The minimum is checked at the lower of the market and the
    order's own price, as a venue may value a limit at its limit. ``None``
    means no valid order exists for this exposure (also when the price
    rounds to zero ticks); non-finite input raises ``InvalidInputError``.
    """
    for what, value in (("size", size), ("max size", max_size), ("min notional", min_notional)):
        if not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"{what} must be finite and >= 0, got {value!r}")
    reference_price = check_price(reference_price, "reference price")
    if price is not None:
        price = check_price(price, "order price")
    if rules is not None and price is not None:
        price = rules.round_price(price, side)
        if not price > 0:
            return None  # below one tick: no valid limit price
    value_price = min(reference_price, price) if price is not None else reference_price
    venue_min = max(min_notional, rules.min_notional if rules else 0.0)
    tolerance = 1 - 1e-9
    bumped = False
    if size * value_price < venue_min:
        size = venue_min / value_price
        bumped = True
        if not math.isfinite(size):
            return None  # a minimum no finite size reaches at this price
    if rules is None:
        size = min(size, max_size)
    else:
        if size < rules.min_size:
            size = rules.min_size
            bumped = True
        cap = rules.round_size(max_size)
        steps = size / rules.size_increment
        if not math.isfinite(steps):
            return None  # absurd size: no order
        size = math.floor(steps + 1e-9) * rules.size_increment
        if size * value_price < venue_min * tolerance or size < rules.min_size:
            size = math.ceil(steps - 1e-9) * rules.size_increment  # up: rounding cost the minimum
            bumped = True
        size = min(size, cap)
        if size < rules.min_size:
            return None
    if size <= 0 or size * value_price < venue_min * tolerance:
        return None
    return SizedOrder(side, size, price, bumped)
