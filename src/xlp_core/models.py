"""Value types exchanged between the core and the adapters.

Sizes are signed or unsigned floats in base units (tokens, never "1000BONK"
lots: adapters convert); prices are USD per token.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import datetime

import attrs

from xlp_core.errors import InvalidInputError, InvalidPriceError


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


def check_price(value: float, what: str = "price") -> float:
    """Return ``value`` if it is a finite positive number, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPriceError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidPriceError(f"{what} must be finite and > 0, got {value!r}")
    return float(value)


def check_finite(value: float, what: str) -> float:
    """Return ``value`` if it is a finite number, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InvalidInputError(f"{what} must be finite, got {value!r}")
    return float(value)


def _positive_size(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_finite(value, attribute.name)
    if value <= 0:
        raise InvalidInputError(f"{attribute.name} must be > 0, got {value!r}")


def _optional_price(
    instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None:
        check_price(value, attribute.name)


@attrs.frozen
class OrderRequest:
    """An order as the core wants it placed.

    ``client_order_id`` is deterministic (see :mod:`xlp_core.ids`) so that a
    retry is recognised by the venue instead of doubling the order. For a
    market order ``price`` is the worst acceptable price (slippage cap).
    """

    client_order_id: int
    symbol: str
    side: Side
    order_type: OrderType
    size: float = attrs.field(validator=_positive_size)
    price: float | None = attrs.field(default=None, validator=_optional_price)
    reduce_only: bool = False
    post_only: bool = False
    expires_at: datetime | None = None
    """When a resting order must vanish from the book (``None``: venue default).

    Set from ``order_timeout x order_expiry_multiple`` by the cycle, so an
    order of a dead process does not rest for the venue's 28-day default."""

    def __attrs_post_init__(self) -> None:
        if self.client_order_id < 0:
            raise InvalidInputError("client_order_id must be >= 0")
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise InvalidInputError("a limit order needs a price")
        if self.post_only and self.order_type is not OrderType.LIMIT:
            raise InvalidInputError("post_only applies to limit orders only")

    @property
    def notional(self) -> float:
        """USD value at the order's price (0 for an uncapped market order)."""
        return self.size * (self.price or 0.0)


@attrs.frozen
class Order:
    """An order as the venue reports it."""

    client_order_id: int
    symbol: str
    side: Side
    order_type: OrderType
    size: float
    price: float | None
    status: OrderStatus
    filled_size: float = 0.0
    avg_fill_price: float | None = None
    fee: float = 0.0
    reduce_only: bool = False
    exchange_order_id: str | None = None
    created_at: datetime | None = None

    @property
    def remaining(self) -> float:
        return max(self.size - self.filled_size, 0.0)

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@attrs.frozen
class MarketRules:
    """Trading constraints of one market, in base units and USD."""

    symbol: str
    size_increment: float
    price_increment: float
    min_size: float = 0.0
    min_notional: float = 0.0

    def round_size(self, size: float) -> float:
        """Round a size down to the increment (never up: never over-trade)."""
        steps = _steps(size, self.size_increment, "size")
        return math.floor(steps + 1e-9) * self.size_increment

    def round_price(self, price: float, side: Side) -> float:
        """Round a price to the tick toward the passive side."""
        ticks = _steps(price, self.price_increment, "price")
        ticks = math.floor(ticks + 1e-9) if side is Side.BUY else math.ceil(ticks - 1e-9)
        return ticks * self.price_increment


def _steps(value: float, increment: float, what: str) -> float:
    """``value`` in increments; a finite value too large to count raises a typed error."""
    steps = value / increment
    if not math.isfinite(steps):
        raise InvalidInputError(f"{what} {value!r} is out of range for increment {increment!r}")
    return steps


@attrs.frozen
class PoolSnapshot:
    """Exposure of one LP token to each asset, as read from a pool.

    ``per_token`` maps a normalised symbol (``BTC``, ``SOL``) to the number of
    base tokens one LP token is exposed to (positive = long exposure).

    On-chain sources also say what that is worth, so a user can check it
    against the pool's published composition: ``usd_per_token`` (exposure of
    one LP token in USD at the prices used), ``share`` (that as a fraction of
    the LP token's value) and ``lp_price_usd`` (on-chain AUM / supply). They
    are empty / ``None`` for sources that do not know prices.
    """

    pool: str
    per_token: Mapping[str, float]
    observed_at: datetime | None = None
    slot: int | None = None
    usd_per_token: Mapping[str, float] = attrs.field(factory=dict, kw_only=True)
    share: Mapping[str, float] = attrs.field(factory=dict, kw_only=True)
    lp_price_usd: float | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class MarketSnapshot:
    """What the exchange said in one cycle."""

    prices: Mapping[str, float]
    positions: Mapping[str, float]
    open_orders: tuple[Order, ...] = ()
