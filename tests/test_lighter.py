"""The Lighter adapter's pure parts: scaling, credentials, market-row parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlp_adapters.lighter.credentials import LighterCredentials
from xlp_adapters.lighter.parse import parse_markets, parse_prices
from xlp_adapters.lighter.scaling import (
    MarketSpec,
    base_amount,
    core_symbol,
    price_from_int,
    price_int,
    size_from_int,
)
from xlp_adapters.lighter.sim import mainnet_markets
from xlp_core.errors import ConfigError, OrderRejectedError
from xlp_core.models import Side

BONK = MarketSpec("BONK", "1000BONK", 18, 0, 6, Decimal("500"), Decimal("10"), 1000)
SOL = MarketSpec("SOL", "SOL", 2, 3, 3, Decimal("0.050"), Decimal("10"), 1)
KEY = "0x" + "ab" * 40


def test_core_symbol_uses_the_markets_own_multiplier() -> None:
    assert core_symbol("1000BONK", 1000) == "BONK"
    assert core_symbol("1000BONK", 1) == "1000BONK"  # the name alone proves nothing
    assert core_symbol("SOL", 1) == "SOL"


def test_bonk_is_traded_per_thousand() -> None:
    # 1,000,000 BONK at $0.00002 = $20: 1000 lots at $0.02 per lot.
    assert base_amount(1_000_000, BONK) == 1000
    assert price_int(0.00002, BONK, Side.BUY) == 20000
    assert size_from_int(1000, BONK) == 1_000_000
    assert price_from_int(20000, BONK) == pytest.approx(0.00002)
    assert BONK.rules().size_increment == 1000
    assert BONK.rules().min_notional == 10


def test_rounding_is_safe() -> None:
    assert base_amount(0.2999, SOL) == 299  # down, never more than asked
    assert price_int(150.0004, SOL, Side.BUY) == 150000  # buy rounds down
    assert price_int(150.0004, SOL, Side.SELL) == 150001  # sell rounds up


def test_range_checks() -> None:
    with pytest.raises(OrderRejectedError, match="signer"):
        price_int(5_000_000.0, SOL, Side.SELL)  # 5e9 >= 2**32: would wrap silently
    with pytest.raises(OrderRejectedError, match="rounds to 0"):
        base_amount(0.0004, SOL)
    with pytest.raises(OrderRejectedError, match="minimum"):
        base_amount(0.01, SOL)


@given(st.floats(min_value=0.05, max_value=1e5), st.floats(min_value=0.01, max_value=4e6))
def test_scaling_round_trip(size: float, price: float) -> None:
    n = base_amount(size, SOL)
    assert size_from_int(n, SOL) <= size + 1e-9
    assert size - size_from_int(n, SOL) < 0.001 + 1e-9
    p = price_int(price, SOL, Side.BUY)
    assert price_from_int(p, SOL) <= price + 1e-9


def test_credentials_hidden_and_validated() -> None:
    creds = LighterCredentials(KEY, 42, 3)
    assert "ab" * 5 not in repr(creds)
    assert "ab" * 5 not in str(creds)
    with pytest.raises(ConfigError) as info:
        LighterCredentials("0x1234", 42, 3)
    assert "1234" not in str(info.value)
    with pytest.raises(ConfigError):
        LighterCredentials(KEY, 42, 255)
    env = {"XLP_LIGHTER_PRIVATE_KEY": KEY, "XLP_LIGHTER_ACCOUNT_INDEX": "42",
           "XLP_LIGHTER_API_KEY_INDEX": "3"}  # fmt: skip
    assert LighterCredentials.from_env(env).account_index == 42
    with pytest.raises(ConfigError):
        LighterCredentials.from_env({})


@pytest.mark.parametrize("index", [0, 1, 2])
def test_lighters_own_key_indices_are_refused(index: int) -> None:
    with pytest.raises(ConfigError, match="Lighter's own"):
        LighterCredentials(KEY, 42, index)


def test_market_rows_parsed_one_by_one() -> None:
    rows = mainnet_markets()
    rows.append({"symbol": "BROKEN", "market_id": 77, "status": "active", "market_type": "perp"})
    bad: dict[str, str] = {}
    specs = parse_markets({"code": 200, "order_book_details": rows}, bad)
    assert set(specs) == {"ETH", "BTC", "SOL", "DOGE", "BONK"}  # perps we can scale
    assert specs["BONK"].multiplier == 1000  # from the row's own field
    assert specs["SOL"].size_decimals == 2
    assert specs["SOL"].price_decimals == 4
    assert set(bad) == {"XAU", "BROKEN"}  # supported decimals differ; missing fields
    assert "TRUMPWIN" not in bad  # binary options are not ours: skipped quietly
    prices = parse_prices({"code": 200, "order_book_details": rows}, specs)
    assert prices["SOL"] == 150.0
    assert prices["BONK"] == pytest.approx(2e-5)


def test_a_bad_price_on_one_row_leaves_the_others() -> None:
    rows = mainnet_markets()
    rows[0]["mark_price"] = "NaN"
    body = {"code": 200, "order_book_details": rows}
    prices = parse_prices(body, parse_markets(body))
    assert "ETH" not in prices
    assert prices["SOL"] == 150.0


def test_default_order_expiry_follows_the_config() -> None:
    pytest.importorskip("lighter")
    from xlp_adapters.lighter.exchange import default_order_expiry
    from xlp_core.config import HedgeConfig

    config = HedgeConfig.from_mapping(
        {"pools": {"JLP": 1.0}, "order_timeout_minutes": 10, "order_expiry_multiple": 3}
    )
    assert default_order_expiry(config) == 1800.0
