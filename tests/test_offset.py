"""The reference bot's cost scenarios, as acceptance cases (spec section 9.3)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlp_core.errors import InvalidInputError, InvalidPriceError, NegativeCostBasisError
from xlp_core.offset import calculate_offset_and_cost, update_offset_and_cost

Step = tuple[float, float, float, float, float]  # ideal, actual, price, offset, cost

TEN_STEPS: list[Step] = [
    (-100, -50, 200, 50, 200),
    (-105, -50, 205, 55, 200.454545),
    (-110, -50, 210, 60, 201.25),
    (-110, -70, 208, 40, 197.875),
    (-110, -85, 215, 25, 187.6),
    (-110, -110, 220, 0, 0),
    (-110, -115, 218, -5, 218),
    (-110, -120, 212, -10, 215),
    (-110, -115, 215, -5, 215),
    (-110, -110, 210, 0, 0),
]
COST_TRACKING: list[Step] = [
    (-100, -50, 200, 50, 200),
    (-105, -50, 210, 55, 200.909091),
    (-110, -50, 220, 60, 202.5),
    (-110, -80, 225, 30, 180.0),
    (-110, -100, 230, 10, 80.0),
    (-110, -110, 235, 0, 0),
    (-110, -120, 240, -10, 240),
    (-110, -125, 235, -15, 238.333333),
    (-110, -130, 230, -20, 236.25),
    (-110, -115, 225, -5, 270.0),
    (-110, -110, 220, 0, 0),
    (-115, -110, 215, 5, 215),
]
OSCILLATION: list[Step] = [
    (-100, -50, 200, 50, 200),
    (-100, -110, 210, -10, 260),
    (-100, -80, 220, 20, 200),
    (-100, -120, 230, -20, 260),
    (-100, -100, 240, 0, 0),
]
DETAILED_1: list[Step] = [
    (-100, -50, 200, 50, 200),
    (-100, -50, 210, 50, 200),
    (-110, -50, 220, 60, 203.333333),
    (-110, -70, 215, 40, 197.5),
    (-110, -90, 205, 20, 190.0),
    (-110, -110, 200, 0, 0),
]
DETAILED_2: list[Step] = [
    (-100, -120, 200, -20, 200),
    (-100, -125, 190, -25, 198),
    (-100, -130, 180, -30, 195),
    (-100, -120, 185, -20, 200),
    (-100, -110, 195, -10, 205),
    (-100, -100, 200, 0, 0),
]
DETAILED_3: list[Step] = [(-100, 0, 100, 100, 100), (-100, -50, 50, 50, 150)]
DETAILED_4: list[Step] = [
    (-100, -50, 200, 50, 200),
    (-100, -80, 210, 20, 185),
    (-100, -110, 220, -10, 290),
    (-100, -120, 215, -20, 252.5),
    (-100, -90, 205, 10, 110),
]
CONSTANT = [(-100, -50, p, 50, 100) for p in (100, 500, 50, 1000, 10)]


@pytest.mark.parametrize(
    "steps",
    [
        TEN_STEPS,
        COST_TRACKING,
        OSCILLATION,
        DETAILED_1,
        DETAILED_2,
        DETAILED_3,
        DETAILED_4,
        CONSTANT,
    ],
    ids=["10-steps", "cost-tracking", "oscillation", "case1", "case2", "case3", "case4", "const"],
)
def test_reference_scenarios(steps: list[Step]) -> None:
    offset, cost = 0.0, 0.0
    for i, (ideal, actual, price, want_offset, want_cost) in enumerate(steps, 1):
        offset, cost = calculate_offset_and_cost(ideal, actual, price, offset, cost)
        assert offset == pytest.approx(want_offset, abs=1e-9), f"step {i}"
        assert cost == pytest.approx(want_cost, rel=1e-6, abs=1e-9), f"step {i}"


def test_tiny_delta_keeps_cost() -> None:
    first = calculate_offset_and_cost(-100, -99.999999, 200, 0, 0)
    assert first[0] == pytest.approx(9.99999997e-07)
    assert first[1] == 200
    assert calculate_offset_and_cost(-100, -99.999999, 200, *first) == first


def test_zero_offset_is_exact_zero() -> None:
    assert calculate_offset_and_cost(-110, -110, 220, 25, 187.6) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("args", "cost"),
    [
        ((-110, -105, 300, 10, 100), -100),
        ((-100, -102, 200, 20, 250), -300),
        ((-1.0, -0.9999, 181, 0.05, 180), -319),
    ],
)
def test_negative_cost_raises(args: tuple[float, ...], cost: float) -> None:
    with pytest.raises(NegativeCostBasisError) as info:
        calculate_offset_and_cost(*args)
    assert info.value.cost == pytest.approx(cost, rel=1e-6)
    assert isinstance(info.value, ValueError)


def test_near_zero_residual_at_lower_price() -> None:
    offset, cost = calculate_offset_and_cost(-1.0, -0.9999, 179, 0.05, 180)
    assert offset == pytest.approx(1e-4)
    assert cost == pytest.approx(679, rel=1e-6)


def test_negative_cost_rebases_in_wrapper() -> None:
    up = update_offset_and_cost(-110, -105, 300, 10, 100)
    assert up.rebased
    assert up.offset == 5
    assert up.cost_basis == 300
    assert up.rejected_cost == pytest.approx(-100)


@pytest.mark.parametrize("price", [0.0, -1.0, -math.inf, math.nan, math.inf])
def test_bad_price(price: float) -> None:
    with pytest.raises(InvalidPriceError):
        calculate_offset_and_cost(-100, -50, price, 0, 0)


@pytest.mark.parametrize(
    "args",
    [
        (math.nan, -50, 100, 0, 0),
        (-100, math.inf, 100, 0, 0),
        (-100, -50, 100, math.nan, 0),
        (-100, -50, 100, 0, math.inf),
        (-100, -50, 100, 0, -1),
    ],
)
def test_bad_inputs(args: tuple[float, ...]) -> None:
    with pytest.raises(InvalidInputError):
        calculate_offset_and_cost(*args)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
prices = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)


@given(st.lists(st.tuples(finite, finite, prices), min_size=1, max_size=30))
def test_wrapper_is_total_and_offset_exact(steps: list[tuple[float, float, float]]) -> None:
    """Any finite path: never raises, cost >= 0 and finite, offset = actual - ideal."""
    offset, cost = 0.0, 0.0
    for ideal, actual, price in steps:
        up = update_offset_and_cost(ideal, actual, price, offset, cost)
        assert math.isfinite(up.cost_basis)
        assert up.cost_basis >= 0
        if up.offset != 0.0:
            assert up.offset == pytest.approx(actual - ideal, abs=1e-8)
        offset, cost = up.offset, up.cost_basis


@given(finite, prices)
def test_first_exposure_costs_the_price(offset_target: float, price: float) -> None:
    if abs(offset_target) < 1e-6:
        return
    offset, cost = calculate_offset_and_cost(0.0, offset_target, price, 0.0, 0.0)
    assert offset == offset_target
    assert cost == price
