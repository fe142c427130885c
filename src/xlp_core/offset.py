"""Offset and cost basis, per the reference bot's algorithm, made total.

``offset = actual - ideal``: positive means long exposure (the hedge is too
small, so we sell); negative means short exposure (we buy).

The cost basis keeps ``offset * cost`` equal to the USD paid for the current
exposure: a break-even price that folds realised PnL into what is left. It is
not an average entry price, and it can go negative after a profitable
reduction; :func:`update_offset_and_cost` turns that case into a rebase to
the current price instead of halting every later cycle.
"""

from __future__ import annotations

import math

import attrs

from xlp_core.errors import InvalidInputError, InvalidPriceError, NegativeCostBasisError

EPSILON = 1e-8


def calculate_offset_and_cost(
    ideal: float, actual: float, price: float, old_offset: float, old_cost: float
) -> tuple[float, float]:
    """Return ``(new_offset, new_cost)``; raise on bad input or a negative cost."""
    # One test covers the common case (this runs per symbol per cycle);
    # ``_check_inputs`` names the bad input otherwise.
    total = ideal + actual + price + old_offset + old_cost
    if not (price > 0 and old_cost >= 0 and math.isfinite(total)):
        _check_inputs(ideal, actual, price, old_offset, old_cost)
    new_offset = actual - ideal
    delta = new_offset - old_offset
    if abs(delta) < EPSILON:
        return new_offset, old_cost
    if abs(new_offset) < EPSILON:
        return 0.0, 0.0
    if abs(old_offset) < EPSILON:
        return new_offset, price
    new_cost = (old_offset * old_cost + delta * price) / new_offset
    if new_cost < 0:
        raise NegativeCostBasisError(new_cost)
    return new_offset, new_cost


def _check_inputs(
    ideal: float, actual: float, price: float, old_offset: float, old_cost: float
) -> None:
    """Raise the error naming the first bad input (none if all are good)."""
    if not math.isnan(price) and price <= 0:
        raise InvalidPriceError(f"price must be > 0, got {price!r}")
    if not math.isnan(old_cost) and old_cost < 0:
        raise InvalidInputError(f"old cost basis must be >= 0, got {old_cost!r}")
    for name, value in (
        ("ideal", ideal),
        ("actual", actual),
        ("price", price),
        ("old_offset", old_offset),
        ("old_cost", old_cost),
    ):
        if not math.isfinite(value):
            cls = InvalidPriceError if name == "price" else InvalidInputError
            raise cls(f"{name} must be finite, got {value!r}")


@attrs.frozen
class OffsetUpdate:
    offset: float
    cost_basis: float
    rebased: bool = False
    rejected_cost: float | None = None


def update_offset_and_cost(
    ideal: float, actual: float, price: float, old_offset: float, old_cost: float
) -> OffsetUpdate:
    """Like :func:`calculate_offset_and_cost`, but a negative cost rebases to ``price``.

    A negative break-even means the exposure left is already paid for by
    realised profit; anchoring limit prices on it would be absurd, and
    raising would halt the symbol forever, so we restart the basis at the
    market and report it (the caller audits ``cost_rebased``).
    """
    try:
        offset, cost = calculate_offset_and_cost(ideal, actual, price, old_offset, old_cost)
    except NegativeCostBasisError as exc:
        return rebase(exc, ideal, actual, price)
    return OffsetUpdate(offset, cost)


def rebase(exc: NegativeCostBasisError, ideal: float, actual: float, price: float) -> OffsetUpdate:
    """The update when :func:`calculate_offset_and_cost` refused a negative cost."""
    return OffsetUpdate(actual - ideal, price, rebased=True, rejected_cost=exc.cost)
