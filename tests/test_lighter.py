"""The Lighter adapter: pure scaling and parsing, then against a fake server on 127.0.0.1."""

from __future__ import annotations

import importlib
import itertools
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("lighter")

from lighter_fake import FakeLighter, FakeServer
from xlp_adapters.lighter import LighterCredentials, LighterExchange, MarketSpec
from xlp_adapters.lighter.scaling import (
    base_amount,
    core_symbol,
    price_from_int,
    price_int,
    size_from_int,
)
from xlp_core.errors import (
    ConfigError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitedError,
    TransientExchangeError,
)
from xlp_core.models import OrderRequest, OrderStatus, OrderType, Side

BONK = MarketSpec("BONK", "1000BONK", 3, 0, 6, Decimal("500"), Decimal("10"), 1000)
SOL = MarketSpec("SOL", "SOL", 2, 3, 3, Decimal("0.050"), Decimal("10"), 1)
ACCOUNTS = itertools.count(7000)


def test_core_symbol() -> None:
    assert core_symbol("1000BONK") == ("BONK", 1000)
    assert core_symbol("SOL") == ("SOL", 1)


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


KEY = "0x" + "ab" * 40


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


@pytest.fixture
async def rig() -> AsyncIterator[tuple[FakeLighter, LighterExchange]]:
    signer_client: Any = importlib.import_module("lighter.signer_client")
    priv, _pub, err = signer_client.create_api_key()
    assert err is None
    account = next(ACCOUNTS)
    fake = FakeLighter(account)
    async with FakeServer(fake) as server:
        ex = await LighterExchange.connect(
            LighterCredentials(priv, account, 3), base_url=server.url, chain_id=300,
            request_timeout=0.5,
        )  # fmt: skip
        try:
            yield fake, ex
        finally:
            await ex.close()


def limit(cid: int, side: Side, size: float, price: float, **kw: bool) -> OrderRequest:
    return OrderRequest(cid, "SOL", side, OrderType.LIMIT, size, price, **kw)  # type: ignore[arg-type]


async def test_markets_prices_positions_in_few_calls(
    rig: tuple[FakeLighter, LighterExchange],
) -> None:
    fake, ex = rig
    fake.positions = {2: (-1, "12.500"), 3: (-1, "20000")}
    rules = await ex.markets(["SOL", "BONK", "DOGE"])
    assert set(rules) == {"SOL", "BONK"}
    prices = await ex.prices(["SOL", "ETH", "BTC", "BONK"])
    assert prices == pytest.approx({"SOL": 150.0, "ETH": 3000.0, "BTC": 60000.0, "BONK": 2e-5})
    positions = await ex.positions(["SOL", "ETH", "BTC", "BONK"])
    assert positions == {"SOL": -12.5, "ETH": 0.0, "BTC": 0.0, "BONK": -20_000_000.0}
    paths = [r["path"] for r in fake.requests]
    assert paths.count("/api/v1/account") == 1
    assert paths.count("/api/v1/orderBookDetails") == 2  # markets cached, prices fresh


async def test_limit_post_only_and_market_orders_sign_the_right_fields(
    rig: tuple[FakeLighter, LighterExchange],
) -> None:
    fake, ex = rig
    order = await ex.place_order(limit(11, Side.SELL, 0.5, 150.3004))
    assert order.status is OrderStatus.OPEN
    await ex.place_order(limit(12, Side.BUY, 0.5, 149.5, post_only=True))
    await ex.place_order(
        OrderRequest(13, "BONK", Side.SELL, OrderType.MARKET, 1_000_000.0, 0.0000198)
    )
    create = [t for t in fake.txs if t["type"] == 14]
    a, b, c = create
    assert (a["MarketIndex"], a["ClientOrderIndex"], a["BaseAmount"], a["Price"]) == (
        2,
        11,
        500,
        150301,
    )
    assert (a["IsAsk"], a["Type"], a["TimeInForce"], a["ReduceOnly"]) == (1, 0, 1, 0)
    assert (b["IsAsk"], b["TimeInForce"], b["Price"]) == (0, 2, 149500)
    assert (c["MarketIndex"], c["BaseAmount"], c["Price"], c["Type"], c["TimeInForce"]) == (
        3, 1000, 19800, 1, 0,
    )  # fmt: skip
    assert [t["Nonce"] for t in fake.txs] == [100, 101, 102]
    got = await ex.get_order("BONK", 13)
    assert got is not None
    assert got.status is OrderStatus.FILLED
    assert got.filled_size == pytest.approx(1_000_000)


async def test_min_notional_refused_before_sending(
    rig: tuple[FakeLighter, LighterExchange],
) -> None:
    fake, ex = rig
    with pytest.raises(OrderRejectedError, match="minimum"):
        await ex.place_order(limit(20, Side.SELL, 0.06, 150.0))  # $9
    assert not any(r["path"] == "/api/v1/sendTx" for r in fake.requests)


async def test_rate_limit_and_server_errors(rig: tuple[FakeLighter, LighterExchange]) -> None:
    fake, ex = rig
    fake.fail_next("/api/v1/account", "429")
    with pytest.raises(RateLimitedError) as info:
        await ex.positions(["SOL"])
    assert info.value.retry_after == 3.0
    fake.fail_next("/api/v1/account", "500")
    with pytest.raises(TransientExchangeError):
        await ex.positions(["SOL"])
    fake.fail_next("/api/v1/orderBookDetails", "code")
    with pytest.raises(Exception, match="21500"):
        await ex.prices(["SOL"])


async def test_http_200_error_code_on_send_rejects_and_refreshes_nonce(
    rig: tuple[FakeLighter, LighterExchange],
) -> None:
    fake, ex = rig
    await ex.place_order(limit(30, Side.SELL, 0.5, 151.0))
    fake.fail_next("/api/v1/sendTx", "code")
    with pytest.raises(OrderRejectedError, match="21500"):
        await ex.place_order(limit(31, Side.SELL, 0.5, 151.0))
    fake.nonce += 5  # the venue moved on (another client of the key)
    await ex.place_order(limit(32, Side.SELL, 0.5, 151.0))
    nonce_calls = [r for r in fake.requests if r["path"] == "/api/v1/nextNonce"]
    assert len(nonce_calls) == 2


async def test_timeout_after_accept_is_unknown_then_found(
    rig: tuple[FakeLighter, LighterExchange],
) -> None:
    fake, ex = rig
    fake.slow_seconds = 1.0
    fake.fail_next("/api/v1/sendTx", "accept_slow")
    with pytest.raises(OrderOutcomeUnknownError) as info:
        await ex.place_order(limit(40, Side.SELL, 0.5, 151.0))
    assert info.value.client_order_id == 40
    found = await ex.get_order("SOL", 40)
    assert found is not None
    assert found.status is OrderStatus.OPEN
    await ex.place_order(limit(41, Side.SELL, 0.5, 152.0))  # nonce re-fetched, not drifted


async def test_open_orders_and_cancel_all(rig: tuple[FakeLighter, LighterExchange]) -> None:
    fake, ex = rig
    await ex.place_order(limit(50, Side.SELL, 0.5, 151.0))
    await ex.place_order(limit(51, Side.SELL, 0.5, 152.0))
    assert {o.client_order_id for o in await ex.open_orders(["SOL"])} == {50, 51}
    assert await ex.cancel_all_orders("SOL") == 2
    assert await ex.open_orders(["SOL"]) == []
    assert [t["type"] for t in fake.txs].count(15) == 2
    auth = [r["headers"].get("Authorization") for r in fake.requests if "Orders" in r["path"]]
    assert auth
    assert all(a and a.count(":") == 3 for a in auth), auth


async def test_credentials_never_logged(
    rig: tuple[FakeLighter, LighterExchange], caplog: pytest.LogCaptureFixture
) -> None:
    fake, ex = rig
    caplog.set_level(logging.DEBUG)
    await ex.place_order(limit(60, Side.SELL, 0.5, 151.0))
    key = ex._creds.key_hex
    assert key not in caplog.text
    assert key not in repr(ex)
    for r in fake.requests:
        assert key not in str(r)


async def test_send_5xx_is_unknown_and_nonce_refetched(
    rig: tuple[FakeLighter, LighterExchange],
) -> None:
    fake, ex = rig
    fake.fail_next("/api/v1/sendTx", "500")
    with pytest.raises(OrderOutcomeUnknownError):
        await ex.place_order(limit(70, Side.SELL, 0.5, 151.0))
    assert await ex.get_order("SOL", 70) is None  # it never landed
    await ex.place_order(limit(71, Side.SELL, 0.5, 151.0))
    assert [r["path"] for r in fake.requests].count("/api/v1/nextNonce") == 2


async def test_slow_read_is_transient(rig: tuple[FakeLighter, LighterExchange]) -> None:
    fake, ex = rig
    fake.slow_seconds = 1.0
    fake.fail_next("/api/v1/account", "slow")
    with pytest.raises(TransientExchangeError):
        await ex.positions(["SOL"])


async def test_full_cycle_on_fake_lighter(rig: tuple[FakeLighter, LighterExchange]) -> None:
    """The real cycle, wrapped in the safety stack, against the fake venue."""
    from datetime import UTC, datetime

    from xlp_adapters.audit import MemoryAuditSink
    from xlp_adapters.pools import StaticPoolSource
    from xlp_adapters.stores import MemoryStateStore
    from xlp_core import audit as A
    from xlp_core.config import HedgeConfig
    from xlp_core.cycle import run_hedge_cycle
    from xlp_core.safety import wrap_exchange

    fake, ex = rig
    fake.positions = {2: (-1, "98.000")}  # short 98 SOL; ideal -100 -> +2 SOL = $300
    config = HedgeConfig.from_mapping(
        {"pools": {"JLP": 1000.0}, "threshold_min_usd": 100, "threshold_max_usd": 1000,
         "threshold_step_usd": 50, "exchange": "lighter", "mode": "live"}
    )  # fmt: skip
    audit = MemoryAuditSink()
    report = await run_hedge_cycle(
        exchange=wrap_exchange(ex, config), pools=[StaticPoolSource("JLP", {"SOL": 0.1})],
        store=MemoryStateStore(), audit=audit, config=config,
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert report.ok, report
    (act,) = report.symbols["SOL"].actions
    assert act.outcome == "accepted"
    (tx,) = [t for t in fake.txs if t["type"] == 14]
    assert tx["ClientOrderIndex"] == act.client_order_id
    assert tx["IsAsk"] == 1
    assert tx["BaseAmount"] == 800  # 40% of 2 SOL, 3 size decimals
    assert tx["Price"] == 150300  # cost 150 + 0.2%
    kinds = [e.kind for e in audit.events()]
    assert kinds.index(A.ORDER_INTENT) < kinds.index(A.ORDER_RESULT)


async def test_public_price_feed_for_paper_trading() -> None:
    from xlp_adapters.lighter.feed import LighterPriceFeed

    fake = FakeLighter(next(ACCOUNTS))
    async with FakeServer(fake) as server:
        feed = LighterPriceFeed(server.url, timeout=0.5)
        prices = await feed.prices(["SOL", "BONK", "DOGE"])
        assert prices == pytest.approx({"SOL": 150.0, "BONK": 2e-5})
        fake.fail_next("/api/v1/orderBookDetails", "429")
        with pytest.raises(RateLimitedError):
            await feed.prices(["SOL"])
        fake.fail_next("/api/v1/orderBookDetails", "500")
        with pytest.raises(TransientExchangeError):
            await feed.prices(["SOL"])
        await feed.close()
    assert all("Authorization" not in r["headers"] for r in fake.requests)
