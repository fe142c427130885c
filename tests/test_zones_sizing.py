from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xlp_core.errors import ConfigError, InvalidInputError
from xlp_core.models import MarketRules, Side
from xlp_core.sizing import close_size, fit_to_market, limit_price, side_for
from xlp_core.zones import MAX_ZONE, Thresholds, zone_for

T = Thresholds()


def kw(
    reference_price: float, max_size: float, rules: MarketRules | None, min_notional: float = 10
) -> dict[str, Any]:
    return {
        "reference_price": reference_price,
        "max_size": max_size,
        "rules": rules,
        "min_notional": min_notional,
    }


@pytest.mark.parametrize(
    ("usd", "zone"),
    [
        (0, None),
        (4.999, None),
        (5, 0),
        (7.49, 0),
        (7.5, 1),
        (-9.99, 1),
        (17.5, 5),
        (19.99, 5),
        (20.0, 6),
        (20.01, MAX_ZONE),
        (-25, MAX_ZONE),
    ],
)
def test_zone_table(usd: float, zone: int | None) -> None:
    assert zone_for(usd, T) == zone


def test_zone_rejects_nan() -> None:
    with pytest.raises(InvalidInputError):
        zone_for(math.nan, T)


@pytest.mark.parametrize(
    ("lo", "hi", "step"), [(20, 5, 1), (5, 5, 1), (0, 10, 1), (5, 20, 0), (5, math.inf, 1)]
)
def test_bad_thresholds(lo: float, hi: float, step: float) -> None:
    with pytest.raises(ConfigError):
        Thresholds(lo, hi, step)


@given(st.floats(min_value=-1e9, max_value=1e9), st.floats(min_value=-1e9, max_value=1e9))
def test_zone_monotone_in_size(a: float, b: float) -> None:
    """A larger exposure never lands in a smaller zone (max counts as largest)."""
    big, small = (a, b) if abs(a) >= abs(b) else (b, a)
    zb, zs = zone_for(big, T), zone_for(small, T)

    def rank(z: int | None) -> int:
        return -1 if z is None else (10**9 if z == MAX_ZONE else z)

    assert rank(zb) >= rank(zs)


def test_sizing_reference() -> None:
    assert side_for(0.06) is Side.SELL
    assert side_for(-0.06) is Side.BUY
    assert close_size(-0.06, 40) == pytest.approx(0.024)
    # Long exposure sells above cost; short exposure buys below cost.
    assert limit_price(150, 1, 0.2, 150, 5) == pytest.approx(150.3)
    assert limit_price(150, -1, 0.2, 150, 5) == pytest.approx(149.7)


def test_limit_price_clamped_to_market_band() -> None:
    # The reference's degenerate cost 679 for SOL at 179 is clamped to +5%.
    assert limit_price(679, 1e-4, 0.2, 179, 5) == pytest.approx(179 * 1.05)
    assert limit_price(0, 1, 0.2, 100, 5) == pytest.approx(100.2)


def test_fit_raises_to_minimum_and_rounds() -> None:
    rules = MarketRules("SOL", size_increment=0.001, price_increment=0.01, min_notional=10)
    sized = fit_to_market(Side.SELL, 0.04, 150.305, **kw(150, 0.1, rules))
    assert sized is not None
    assert sized.bumped_to_minimum
    assert sized.size == pytest.approx(0.067)  # 10 / 150 rounded up to the increment
    capped = fit_to_market(Side.SELL, 0.024, 150.305, **kw(150, 0.0668, rules))
    assert capped is None  # meeting the minimum would over-trade the exposure
    assert sized.price == pytest.approx(150.31)  # sells round up (passive)
    assert fit_to_market(Side.SELL, 0.01, 150, **kw(150, 0.05, rules)) is None  # $7.5 total


@given(
    st.floats(min_value=1e-6, max_value=1e4),
    st.floats(min_value=1e-3, max_value=1e5),
    st.floats(min_value=0, max_value=100),
)
def test_fit_never_exceeds_exposure_or_goes_below_minimum(
    offset: float, price: float, min_notional: float
) -> None:
    rules = MarketRules("X", size_increment=1e-4, price_increment=1e-4)
    sized = fit_to_market(Side.BUY, offset * 0.4, price, **kw(price, offset, rules, min_notional))
    if sized is not None:
        assert sized.size <= offset + 1e-12
        assert sized.size * price >= min_notional * (1 - 1e-9)
        assert sized.size > 0


def test_rounding_down_below_minimum_rounds_up_instead() -> None:
    # 0.003466 ETH is $10.04 at 2897; flooring to 0.0034 ($9.85) would lose the order.
    rules = MarketRules("ETH", size_increment=0.0001, price_increment=0.01, min_notional=10)
    sized = fit_to_market(Side.SELL, 0.003466, None, **kw(2897.0, 0.01, rules))
    assert sized is not None
    assert sized.size == pytest.approx(0.0035)


def test_minimum_checked_at_the_limit_price_for_buys() -> None:
    # A buy limit below the market is worth less at its own price: size for that.
    rules = MarketRules("SOL", size_increment=0.001, price_increment=0.01, min_notional=10)
    sized = fit_to_market(Side.BUY, 0.01, 95.0, **kw(100.0, 1.0, rules))
    assert sized is not None
    assert sized.size * 95.0 >= 10


def test_price_rounding_to_zero_ticks_gives_none_not_zero_division() -> None:
    rules = MarketRules("X", 1.0, 0.01)
    assert fit_to_market(Side.BUY, 400.0, 0.0095, **kw(0.01, 1000.0, rules)) is None


def test_fit_to_market_is_keyword_only_past_three() -> None:
    with pytest.raises(TypeError):
        fit_to_market(Side.BUY, 1.0, 1.0, 1.0, 1.0, None, 10.0)  # type: ignore[call-arg]


@given(
    side=st.sampled_from(Side),
    size=st.floats(allow_nan=True, allow_infinity=True),
    price=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    ref=st.floats(allow_nan=True, allow_infinity=True),
    max_size=st.floats(min_value=0, max_value=1e9),
    tick=st.sampled_from([1e-6, 0.01, 1.0, 100.0]),
    inc=st.sampled_from([1e-5, 0.001, 1.0]),
    min_notional=st.floats(min_value=0, max_value=1e6),
)
@example(  # a finite price too large to count in ticks (found by CI): was OverflowError
    side=Side.BUY, size=0.0, price=1.797693134862316e302, ref=1.0, max_size=0.0,
    tick=1e-6, inc=1e-5, min_notional=0.0,
)  # fmt: skip
def test_fit_to_market_returns_order_or_none_or_typed_error(
    side: Side,
    size: float,
    price: float | None,
    ref: float,
    max_size: float,
    tick: float,
    inc: float,
    min_notional: float,
) -> None:
    rules = MarketRules("X", inc, tick)
    try:
        sized = fit_to_market(side, size, price, **kw(ref, max_size, rules, min_notional))
    except InvalidInputError:
        return
    if sized is not None:
        assert sized.size > 0
        assert math.isfinite(sized.size)


def test_minimum_unreachable_at_a_denormal_price_gives_none() -> None:
    rules = MarketRules("X", 1e-5, 1e-6)
    with pytest.raises(InvalidInputError):
        fit_to_market(Side.BUY, math.inf, None, **kw(5e-324, 0.0, rules, 1.0))
    assert fit_to_market(Side.BUY, 1.0, None, **kw(5e-324, 0.0, rules, 1.0)) is None
