"""The simulator refuses what the venue refuses: a lenient double would make green tests lie."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("lighter")

from lighter_rig import lighter_rig, limit
from xlp_core.errors import OrderRejectedError
from xlp_core.models import OrderRequest, OrderStatus, OrderType, Side


async def test_pending_order_caps_per_market() -> None:
    async with lighter_rig() as (_sim, ex, _account):
        outcomes = await ex.place_orders(
            [limit(100 + i, Side.SELL, 0.5, 151.0 + i * 0.01) for i in range(17)]
        )
        assert all(o.order is not None for o in outcomes[:16])
        assert isinstance(outcomes[16].error, OrderRejectedError)
        assert "21506" in str(outcomes[16].error)
        await ex.place_order(OrderRequest(200, "ETH", Side.SELL, OrderType.LIMIT, 0.01, 3010.0))


async def test_minimums_expiry_and_market_order_shape_are_enforced() -> None:
    async with lighter_rig() as (sim, ex, _account):
        await ex.markets(["SOL"])  # the adapter's rules are read before the venue's change
        sim.market("SOL")["min_quote_amount"] = "100"
        with pytest.raises(OrderRejectedError, match="21706"):
            await ex.place_order(limit(1, Side.SELL, 0.5, 151.0))  # $75 < the venue's $100
        sim.market("SOL")["min_quote_amount"] = "10"
        far = datetime.now(UTC) + timedelta(days=60)  # the adapter caps at 28 days: accepted
        await ex.place_order(limit(2, Side.SELL, 0.5, 151.0, expires_at=far))
        with pytest.raises(OrderRejectedError, match="past"):
            await ex.place_order(
                limit(3, Side.SELL, 0.5, 151.0, expires_at=datetime.now(UTC) - timedelta(1))
            )


async def test_post_only_that_would_cross_is_cancelled_not_filled() -> None:
    async with lighter_rig() as (sim, ex, account):
        await ex.place_order(limit(10, Side.BUY, 0.5, 150.5, post_only=True))
        got = await ex.get_order("SOL", 10)
        assert got is not None
        assert got.status is OrderStatus.CANCELLED
        assert sim.accounts[account].positions.get(2) is None  # nothing traded


async def test_resting_order_fills_when_the_mark_crosses_it() -> None:
    async with lighter_rig() as (sim, ex, _account):
        await ex.place_order(limit(20, Side.SELL, 0.5, 151.0))
        sim.set_mark("SOL", 151.5)
        got = await ex.get_order("SOL", 20)
        assert got is not None
        assert (got.status, got.filled_size, got.avg_fill_price) == (OrderStatus.FILLED, 0.5, 151.0)
        assert await ex.positions(["SOL"]) == {"SOL": -0.5}


async def test_reads_are_refused_beyond_the_venues_limits() -> None:
    import aiohttp

    async with lighter_rig() as (sim, ex, account):
        token = ex._auth()
        ids = ",".join(str(i) for i in range(1, 22))
        url = f"{sim.url}/api/v1/accountOrders?account_index={account}&client_order_indexes={ids}"
        async with aiohttp.ClientSession() as http:
            async with http.get(url, headers={"authorization": token}) as resp:
                assert resp.status == 400  # at most 20 ids a request
            other = f"{sim.url}/api/v1/accountActiveOrders?account_index={account + 1}"
            async with http.get(other, headers={"authorization": token}) as resp:
                assert resp.status == 400  # a token is good for its own account only


async def test_a_refused_transaction_does_not_consume_the_nonce() -> None:
    async with lighter_rig() as (sim, ex, account):
        with pytest.raises(OrderRejectedError):
            await ex.place_order(limit(30, Side.BUY, 1.0, 170.0))
        assert sim.accounts[account].nonces[3] == 100
        await ex.place_order(limit(31, Side.SELL, 0.5, 151.0))
        assert sim.accounts[account].nonces[3] == 101


def test_sync_start_stop() -> None:
    from xlp_adapters.lighter.sim import LighterSim

    sim = LighterSim()
    url = sim.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        time.sleep(0)
    finally:
        sim.stop()


async def test_pending_order_cap_per_account_and_active_orders_by_market() -> None:
    from xlp_adapters.lighter.sim import SimOrder

    async with lighter_rig() as (sim, ex, account):
        await ex.place_order(limit(1, Side.SELL, 0.5, 151.0))
        token = ex._auth()
        import aiohttp

        async with aiohttp.ClientSession() as http:
            base = f"{sim.url}/api/v1/accountActiveOrders?account_index={account}"
            for market, count in (("&market_id=2", 1), ("&market_id=0", 0), ("", 1)):
                async with http.get(base + market, headers={"authorization": token}) as resp:
                    assert len((await resp.json())["orders"]) == count
        far = int(time.time() * 1000) + 3_600_000
        sim.accounts[account].orders.extend(
            SimOrder(10**9 + i, 10**6 + i, 90 + i % 3, True, 1, 1, "limit", "good-till-time",
                     False, far, 0, 0)
            for i in range(499)
        )  # fmt: skip
        with pytest.raises(OrderRejectedError, match="21506"):
            await ex.place_order(OrderRequest(2, "ETH", Side.SELL, OrderType.LIMIT, 0.01, 3010.0))


async def test_margin_counts_every_earlier_order_of_the_same_batch() -> None:
    """Orders of one batch add up against the margin; a cancel-all earlier in it frees some."""
    from decimal import Decimal

    async with lighter_rig() as (sim, ex, account):
        # SOL at 150: each 1.0 SOL ask is $150 of exposure; 10x leverage on $45 = $450.
        sim.accounts[account].collateral = Decimal(45)
        outs = await ex.place_orders([limit(300 + i, Side.SELL, 1.0, 151.0) for i in range(4)])
        assert [o.order is not None for o in outs] == [True, True, True, False]
        assert "21739" in str(outs[3].error)
        out = await ex.replace_orders(
            ["SOL"], [limit(310 + i, Side.SELL, 1.0, 151.0) for i in range(4)]
        )  # the cancel-all frees $450: three fit again, the fourth does not
        assert [p.order is not None for p in out.places] == [True, True, True, False]
        live = [o.client_order_index for o in sim.orders(account) if o.live]
        assert live == [310, 311, 312]
