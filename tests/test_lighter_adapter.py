"""The Lighter adapter against the venue simulator on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("lighter")

from lighter_rig import ACCOUNTS, lighter_rig, limit, sent
from xlp_adapters.lighter import LighterCredentials, LighterExchange
from xlp_adapters.lighter.sim import LighterSim
from xlp_core.errors import (
    ConfigError,
    DuplicateOrderError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitedError,
    TransientExchangeError,
)
from xlp_core.models import OrderRequest, OrderStatus, OrderType, Side


async def test_markets_prices_positions_share_one_details_read() -> None:
    async with lighter_rig() as (sim, ex, account):
        sim.set_position(account, "SOL", -12.5)
        sim.set_position(account, "1000BONK", -20000)
        rules = await ex.markets(["SOL", "BONK", "XAU", "DOGE2"])
        assert set(rules) == {"SOL", "BONK"}
        prices = await ex.prices(["SOL", "ETH", "BTC", "BONK"])
        assert prices == pytest.approx({"SOL": 150.0, "ETH": 3000.0, "BTC": 60000.0, "BONK": 2e-5})
        positions = await ex.positions(["SOL", "ETH", "BTC", "BONK"])
        assert positions == {"SOL": -12.5, "ETH": 0.0, "BTC": 0.0, "BONK": -20_000_000.0}
        assert sim.counts["orderBookDetails"] == 1
        assert sim.counts["account"] == 1


async def test_a_bad_market_row_fails_only_its_own_symbol(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with lighter_rig() as (sim, ex, _account):
        caplog.set_level(logging.WARNING, "xlp_adapters.lighter")
        sim.market("SOL")["price_decimals"] = None  # SOL's own row breaks
        assert set(await ex.prices(["SOL", "ETH"])) == {"ETH"}
        assert "SOL" in caplog.text
        assert "XAU" in caplog.text  # supported decimals differ: named, skipped
        assert await ex.positions(["SOL", "ETH"]) == {"ETH": 0.0}  # SOL absent, never 0
        with pytest.raises(OrderRejectedError, match="SOL: market row unusable"):
            await ex.place_order(limit(5, Side.SELL, 0.5, 151.0))


async def test_orders_sign_the_right_fields_with_an_expiry() -> None:
    async with lighter_rig() as (sim, ex, _account):
        expires = datetime.now(UTC) + timedelta(minutes=10)
        order = await ex.place_order(limit(11, Side.SELL, 0.5, 150.3004, expires_at=expires))
        assert order.status is OrderStatus.OPEN
        await ex.place_order(limit(12, Side.BUY, 0.5, 149.5, post_only=True))
        await ex.place_order(
            OrderRequest(13, "BONK", Side.SELL, OrderType.MARKET, 1_000_000.0, 0.0000198)
        )
        a, b, c = sent(sim, 14)
        assert (a["MarketIndex"], a["ClientOrderIndex"], a["BaseAmount"], a["Price"]) == (
            2, 11, 50, 1503004,
        )  # fmt: skip
        assert (a["IsAsk"], a["Type"], a["TimeInForce"], a["ReduceOnly"]) == (1, 0, 1, 0)
        assert a["OrderExpiry"] == int(expires.timestamp() * 1000)
        # No expires_at: the adapter's default (15 min), never the SDK's 28 days.
        now_ms = datetime.now(UTC).timestamp() * 1000
        assert now_ms < b["OrderExpiry"] <= now_ms + 15 * 60 * 1000
        assert (b["IsAsk"], b["TimeInForce"], b["Price"]) == (0, 2, 1495000)
        assert (c["MarketIndex"], c["BaseAmount"], c["Price"], c["Type"], c["TimeInForce"]) == (
            18, 1000, 19800, 1, 0,
        )  # fmt: skip
        assert c["OrderExpiry"] == 0
        assert [t["Nonce"] for t in sim.txs] == [100, 101, 102]
        # The venue wants 5 minutes at least: a shorter expiry is lifted, not refused.
        soon = datetime.now(UTC) + timedelta(minutes=1)
        await ex.place_order(limit(14, Side.SELL, 0.5, 151.0, expires_at=soon))
        assert sent(sim, 14)[-1]["OrderExpiry"] >= (soon + timedelta(minutes=4)).timestamp() * 1000


async def test_market_order_executes_later_within_its_cap() -> None:
    async with lighter_rig() as (sim, ex, _account):
        sim.fill_delay = 0.2
        await ex.place_order(OrderRequest(13, "BONK", Side.SELL, OrderType.MARKET, 1_000_000.0))
        got = await ex.get_order("BONK", 13)
        assert got is not None
        assert got.status is OrderStatus.OPEN  # accepted, not executed yet
        sim.clock = lambda: __import__("time").time() + 1
        got = await ex.get_order("BONK", 13)
        assert got is not None
        assert got.status is OrderStatus.FILLED
        assert got.filled_size == pytest.approx(1_000_000)
        assert got.avg_fill_price == pytest.approx(2e-5)


async def test_market_order_partly_filled_or_capped() -> None:
    from decimal import Decimal

    async with lighter_rig() as (sim, ex, _account):
        sim.fill_delay = 0
        sim.liquidity[2] = Decimal("0.3")
        await ex.place_order(OrderRequest(21, "SOL", Side.BUY, OrderType.MARKET, 0.5, 151.0))
        got = await ex.get_order("SOL", 21)
        assert got is not None
        assert got.status is OrderStatus.CANCELLED
        assert got.filled_size == pytest.approx(0.3)
        sim.slippage[2] = Decimal("0.02")  # 153 average > the 151 cap: nothing fills
        await ex.place_order(OrderRequest(22, "SOL", Side.BUY, OrderType.MARKET, 0.1, 151.0))
        got = await ex.get_order("SOL", 22)
        assert got is not None
        assert (got.status, got.filled_size) == (OrderStatus.CANCELLED, 0.0)


async def test_duplicate_client_order_index_is_a_duplicate_not_a_rejection() -> None:
    async with lighter_rig() as (_sim, ex, _account):
        await ex.place_order(limit(30, Side.SELL, 0.5, 151.0))
        with pytest.raises(DuplicateOrderError) as info:
            await ex.place_order(limit(30, Side.SELL, 0.5, 151.0))
        assert info.value.client_order_id == 30
        assert str(info.value).count("place SOL") == 1  # said once
        live = await ex.open_orders(["SOL"])
        assert [o.client_order_id for o in live] == [30]  # the first stays, no second
        await ex.place_order(limit(31, Side.SELL, 0.5, 151.0))  # nonce not burnt


async def test_invalid_nonce_is_re_signed_once() -> None:
    async with lighter_rig() as (sim, ex, account):
        await ex.place_order(limit(40, Side.SELL, 0.5, 151.0))
        sim.accounts[account].nonces[3] += 5  # another client of the key moved on
        await ex.place_order(limit(41, Side.SELL, 0.5, 151.0))
        assert sim.counts["nextNonce"] == 2
        assert sim.counts["sendTx"] == 3
        sim.fail_next("sendTx", "400:21104", "400:21104")
        with pytest.raises(OrderRejectedError, match="21104"):
            await ex.place_order(limit(42, Side.SELL, 0.5, 151.0))
        assert sim.counts["sendTx"] == 5  # one re-sign, not more


async def test_other_refusals_are_not_retried() -> None:
    async with lighter_rig() as (sim, ex, _account):
        with pytest.raises(OrderRejectedError, match="21734") as info:
            await ex.place_order(limit(50, Side.BUY, 1.0, 170.0))  # far through the mark
        assert str(info.value).count("place SOL") == 1
        with pytest.raises(OrderRejectedError, match="21733"):
            await ex.place_order(limit(51, Side.SELL, 1.0, 400.0))
        sim.accounts[_account].collateral = __import__("decimal").Decimal(10)
        with pytest.raises(OrderRejectedError, match="21739"):
            await ex.place_order(limit(52, Side.SELL, 1.0, 151.0))
        assert sim.counts["sendTx"] == 3


async def test_rate_limit_and_server_errors() -> None:
    async with lighter_rig() as (sim, ex, _account):
        sim.fail_next("account", "429")
        with pytest.raises(RateLimitedError) as info:
            await ex.positions(["SOL"])
        assert info.value.retry_after == 3.0
        sim.fail_next("account", "500")
        with pytest.raises(TransientExchangeError):
            await ex.positions(["SOL"])
        sim.fail_next("sendTx", "429")
        with pytest.raises(RateLimitedError):
            await ex.place_order(limit(60, Side.SELL, 0.5, 151.0))


async def test_timeout_after_accept_is_unknown_then_found() -> None:
    # Generous margins: a loaded CI machine can stall a 0.5 s connect to 127.0.0.1.
    async with lighter_rig(request_timeout=1.5) as (sim, ex, _account):
        sim.slow_seconds = 3.0
        sim.fail_next("sendTx", "accept_slow")
        with pytest.raises(OrderOutcomeUnknownError) as info:
            await ex.place_order(limit(70, Side.SELL, 0.5, 151.0))
        assert info.value.client_order_id == 70
        found = await ex.get_order("SOL", 70)
        assert found is not None
        assert found.status is OrderStatus.OPEN
        await ex.place_order(limit(71, Side.SELL, 0.5, 152.0))  # nonce re-fetched, not drifted


async def test_dropped_answer_is_unknown_and_the_order_is_found() -> None:
    async with lighter_rig() as (sim, ex, _account):
        sim.fail_next("sendTx", "drop")
        with pytest.raises(OrderOutcomeUnknownError):
            await ex.place_order(limit(75, Side.SELL, 0.5, 151.0))
        found = await ex.get_order("SOL", 75)
        assert found is not None
        assert found.is_open
        with pytest.raises(DuplicateOrderError):  # a blind resend would be refused
            await ex.place_order(limit(75, Side.SELL, 0.5, 151.0))


async def test_send_5xx_is_unknown_and_nonce_refetched() -> None:
    async with lighter_rig() as (sim, ex, _account):
        sim.fail_next("sendTx", "500")
        with pytest.raises(OrderOutcomeUnknownError):
            await ex.place_order(limit(80, Side.SELL, 0.5, 151.0))
        assert await ex.get_order("SOL", 80) is None  # it never landed
        await ex.place_order(limit(81, Side.SELL, 0.5, 151.0))
        assert sim.counts["nextNonce"] == 2


async def test_auth_token_remade_after_an_auth_error() -> None:
    async with lighter_rig() as (sim, ex, _account):
        await ex.open_orders(())
        first = sim.requests[-1]["headers"]["Authorization"]
        sim.fail_next("accountActiveOrders", "401")
        __import__("time").sleep(1.01)  # the new token differs in its expiry second
        assert await ex.open_orders(()) == []
        assert sim.counts["accountActiveOrders"] == 3
        assert sim.requests[-1]["headers"]["Authorization"] != first


async def test_account_endpoints_need_a_valid_token() -> None:
    import aiohttp

    async with LighterSim() as sim:
        account, _key = sim.new_account(next(ACCOUNTS))
        async with aiohttp.ClientSession() as http:
            url = f"{sim.url}/api/v1/accountActiveOrders?account_index={account}"
            for token in (None, "garbage", f"1:{account}:3:ab"):
                headers = {"authorization": token} if token else {}
                async with http.get(url, headers=headers) as resp:
                    assert resp.status == 400
                    assert (await resp.json())["code"] == 20013


async def test_open_orders_one_read_and_cancel_in_one_transaction() -> None:
    async with lighter_rig() as (sim, ex, _account):
        await ex.place_order(limit(90, Side.SELL, 0.5, 151.0))
        await ex.place_order(limit(91, Side.SELL, 0.5, 152.0))
        await ex.place_order(OrderRequest(92, "ETH", Side.SELL, OrderType.LIMIT, 0.01, 3010.0))
        assert {o.client_order_id for o in await ex.open_orders(["SOL"])} == {90, 91}
        assert len(await ex.open_orders(())) == 3  # () = every market, one request
        assert await ex.cancel_all_orders("SOL") == 2
        assert [o.symbol for o in await ex.open_orders(())] == ["ETH"]
        (cancel,) = sent(sim, 16)
        assert cancel["L2TxAttributes"] == {"5": 2}  # that market only
        assert sim.counts["accountActiveOrders"] == 3


async def test_cancel_one_order_by_client_index() -> None:
    async with lighter_rig() as (_sim, ex, _account):
        await ex.place_order(limit(95, Side.SELL, 0.5, 151.0))
        assert await ex.cancel_order("SOL", 95) is True
        assert await ex.cancel_order("SOL", 95) is False
        got = await ex.get_order("SOL", 95)
        assert got is not None
        assert got.status is OrderStatus.CANCELLED


async def test_resting_orders_expire_on_the_venue() -> None:
    async with lighter_rig() as (sim, ex, _account):
        expires = datetime.now(UTC) + timedelta(minutes=6)
        await ex.place_order(limit(100, Side.SELL, 0.5, 151.0, expires_at=expires))
        sim.clock = lambda: __import__("time").time() + 361
        assert await ex.open_orders(()) == []
        got = await ex.get_order("SOL", 100)
        assert got is not None
        assert got.status is OrderStatus.EXPIRED


async def test_dead_man_switch_cancels_everything_when_not_refreshed() -> None:
    async with lighter_rig() as (sim, ex, account):
        await ex.place_order(limit(110, Side.SELL, 0.5, 151.0))
        now = datetime.now(UTC)
        assert await ex.arm_dead_man_switch(now + timedelta(minutes=10)) is True
        assert sim.accounts[account].cancel_all_ms == int((now.timestamp() + 600) * 1000)
        # Renewed each cycle: the venue keeps one schedule, so abort + schedule in one batch.
        await ex.arm_dead_man_switch(now + timedelta(minutes=11))
        assert sim.accounts[account].cancel_all_ms == int((now.timestamp() + 660) * 1000)
        assert sim.counts["sendTxBatch"] == 1
        assert await ex.arm_dead_man_switch(None) is True
        assert sim.accounts[account].cancel_all_ms == 0
        await ex.arm_dead_man_switch(now + timedelta(seconds=30))  # lifted to >= 5 minutes
        assert sim.accounts[account].cancel_all_ms >= (now.timestamp() + 300) * 1000
        sim.clock = lambda: __import__("time").time() + 340
        assert await ex.open_orders(()) == []  # the process "died": the venue cancelled


async def test_dead_man_switch_replaces_one_left_by_an_earlier_process() -> None:
    async with lighter_rig() as (sim, ex, account):
        left = int((datetime.now(UTC).timestamp() + 3600) * 1000)
        sim.accounts[account].cancel_all_ms = left
        at = datetime.now(UTC) + timedelta(minutes=10)
        assert await ex.arm_dead_man_switch(at) is True  # 21712, then abort + schedule
        assert sim.accounts[account].cancel_all_ms == int(at.timestamp() * 1000)


async def test_connect_checks_the_key_and_the_chain() -> None:
    async with LighterSim() as sim:
        account, _key = sim.new_account(next(ACCOUNTS))
        _other_account, other_key = sim.new_account(next(ACCOUNTS))
        with pytest.raises(ConfigError, match="does not know this key") as info:
            await LighterExchange.connect(
                LighterCredentials(other_key, account, 3), base_url=sim.url, chain_id=300
            )
        assert other_key.removeprefix("0x")[:20] not in str(info.value)
    for url, chain in (("https://mainnet.zklighter.elliot.ai", 300),
                       ("https://testnet.zklighter.elliot.ai", 304)):  # fmt: skip
        with pytest.raises(ConfigError, match="chain id"):
            await LighterExchange.connect(
                LighterCredentials("0x" + "ab" * 40, 1, 3), base_url=url, chain_id=chain
            )


async def test_credentials_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    async with lighter_rig() as (sim, ex, _account):
        caplog.set_level(logging.DEBUG)
        await ex.place_order(limit(120, Side.SELL, 0.5, 151.0))
        key = ex._creds.key_hex
        assert key not in caplog.text
        assert key not in repr(ex)
        for r in sim.requests:
            assert key not in str(r)


async def test_slow_read_is_transient() -> None:
    async with lighter_rig(request_timeout=0.5) as (sim, ex, _account):
        sim.slow_seconds = 1.0
        sim.fail_next("account", "slow")
        with pytest.raises(TransientExchangeError):
            await ex.positions(["SOL"])


async def test_single_sends_share_the_one_retry_bound() -> None:
    """cancel_order and the dead-man switch go through the same sender: two posts at most."""
    async with lighter_rig() as (sim, ex, account):
        await ex.place_order(limit(120, Side.SELL, 0.5, 151.0))
        sim.fail_next("sendTx", "400:21104")
        assert await ex.cancel_order("SOL", 120) is True  # re-signed once, then ran
        at = datetime.now(UTC) + timedelta(minutes=10)
        posts = sim.counts["sendTx"]
        sim.fail_next("sendTx", "400:21104", "400:21104")
        with pytest.raises(OrderRejectedError, match="21104"):
            await ex.arm_dead_man_switch(at)
        assert sim.counts["sendTx"] == posts + 2
        assert sim.accounts[account].cancel_all_ms == 0  # nothing ran
        assert await ex.arm_dead_man_switch(at) is True  # the nonce re-fetched
        assert sim.accounts[account].cancel_all_ms == int(at.timestamp() * 1000)
