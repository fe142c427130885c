"""PaperExchange: matching, accounting, rules, faults."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlp_adapters.paper import Fault, FaultInjector, PaperExchange
from xlp_core.errors import (
    DuplicateOrderError,
    InvalidInputError,
    InvalidPriceError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitedError,
    TransientExchangeError,
)
from xlp_core.models import OrderRequest, OrderStatus, OrderType, Side
from xlp_core.ports import Exchange

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ex(**kw: object) -> PaperExchange:
    return PaperExchange(prices={"SOL": 100.0, "BTC": 60000.0}, clock=lambda: T0, **kw)  # type: ignore[arg-type]


def limit(cid: int, side: Side, size: float, price: float, **kw: bool) -> OrderRequest:
    return OrderRequest(cid, "SOL", side, OrderType.LIMIT, size, price, **kw)  # type: ignore[arg-type]


def market(cid: int, side: Side, size: float, cap: float | None = None) -> OrderRequest:
    return OrderRequest(cid, "SOL", side, OrderType.MARKET, size, cap)


def test_is_an_exchange() -> None:
    assert isinstance(ex(), Exchange)


async def test_resting_limits_fill_on_cross_as_maker() -> None:
    p = ex()
    sell = await p.place_order(limit(1, Side.SELL, 1.0, 101.0))
    buy = await p.place_order(limit(2, Side.BUY, 0.5, 99.0))
    assert sell.status is buy.status is OrderStatus.OPEN
    p.set_price("SOL", 100.5)
    assert p.fills == []
    p.set_price("SOL", 101.2)
    (fill,) = p.fills
    assert (fill.side, fill.price, fill.maker) == (Side.SELL, 101.0, True)
    assert fill.fee == pytest.approx(101.0 * 0.0002)
    p.set_price("SOL", 98.0)
    assert p.fills[-1].price == 99.0
    assert (await p.positions(["SOL"]))["SOL"] == pytest.approx(-0.5)
    assert await p.open_orders(["SOL"]) == []
    got = await p.get_order("SOL", 1)
    assert got is not None
    assert got.status is OrderStatus.FILLED


async def test_crossing_limit_fills_as_taker_at_market_and_post_only_rejects() -> None:
    p = ex()
    order = await p.place_order(limit(1, Side.SELL, 1.0, 99.0))
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == 100.0
    assert not p.fills[0].maker
    with pytest.raises(OrderRejectedError, match="post-only"):
        await p.place_order(limit(2, Side.SELL, 1.0, 99.0, post_only=True))


async def test_market_slippage_and_cap() -> None:
    p = ex(slippage=0.01)
    order = await p.place_order(market(1, Side.BUY, 1.0, cap=102.0))
    assert order.avg_fill_price == pytest.approx(101.0)
    assert order.fee == pytest.approx(101.0 * 0.0005)
    with pytest.raises(OrderRejectedError, match="slippage"):
        await p.place_order(market(2, Side.BUY, 1.0, cap=100.5))


async def test_venue_rules() -> None:
    p = ex()
    with pytest.raises(OrderRejectedError, match="multiple"):
        await p.place_order(limit(1, Side.SELL, 0.1234, 150))
    with pytest.raises(OrderRejectedError, match="notional"):
        await p.place_order(limit(2, Side.SELL, 0.05, 150))
    with pytest.raises(OrderRejectedError, match="unknown market"):
        await p.place_order(OrderRequest(3, "DOGE", Side.BUY, OrderType.MARKET, 1.0))
    with pytest.raises(DuplicateOrderError):
        await p.place_order(limit(1, Side.SELL, 1.0, 150))  # a rejected id stays used


async def test_reduce_only_clips_and_rejects() -> None:
    p = ex(positions={"SOL": -0.5})
    order = await p.place_order(
        OrderRequest(1, "SOL", Side.BUY, OrderType.MARKET, 1.0, reduce_only=True)
    )
    assert order.filled_size == pytest.approx(0.5)
    assert (await p.positions(["SOL"]))["SOL"] == pytest.approx(0.0)
    with pytest.raises(OrderRejectedError, match="reduce"):
        await p.place_order(
            OrderRequest(2, "SOL", Side.BUY, OrderType.MARKET, 1.0, reduce_only=True)
        )


async def test_partial_fills() -> None:
    p = ex(max_fill_per_update=0.3)
    await p.place_order(limit(1, Side.BUY, 1.0, 99.0))
    p.set_price("SOL", 98.0)
    o = await p.get_order("SOL", 1)
    assert o is not None
    assert o.status is OrderStatus.PARTIALLY_FILLED
    assert o.remaining == pytest.approx(0.7)
    assert await p.cancel_all_orders("SOL") == 1
    assert (await p.positions(["SOL"]))["SOL"] == pytest.approx(0.3)


async def test_pnl_across_a_flip_and_funding() -> None:
    p = ex(taker_fee=0.0, slippage=0.0)
    await p.place_order(market(1, Side.BUY, 1.0))
    p.set_price("SOL", 110.0)
    await p.place_order(market(2, Side.SELL, 3.0))  # close 1 long at +10, open 2 short
    assert p.realised_pnl("SOL") == pytest.approx(10.0)
    assert (await p.positions(["SOL"]))["SOL"] == pytest.approx(-2.0)
    p.set_price("SOL", 100.0)
    assert p.unrealised_pnl("SOL") == pytest.approx(20.0)
    paid = p.apply_funding("SOL", 0.001)  # shorts receive when rate > 0
    assert paid == pytest.approx(-0.2)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, 0.0])
def test_bad_prices_rejected(bad: float) -> None:
    with pytest.raises(InvalidPriceError):
        ex().set_price("SOL", bad)


def test_bad_settings() -> None:
    with pytest.raises(InvalidInputError):
        ex(taker_fee=-0.1)
    with pytest.raises(InvalidInputError):
        ex(latency=float("nan"))


async def test_fault_effects() -> None:
    faults = FaultInjector()
    p = ex(faults=faults)
    faults.script("place_order", Fault.TIMEOUT_AFTER_ACCEPT)
    with pytest.raises(OrderOutcomeUnknownError):
        await p.place_order(limit(1, Side.SELL, 1.0, 150))
    assert await p.get_order("SOL", 1) is not None  # it did get placed
    for fault, exc in (
        (Fault.TIMEOUT_BEFORE_SEND, OrderOutcomeUnknownError),
        (Fault.RATE_LIMITED, RateLimitedError),
        (Fault.SERVER_ERROR, TransientExchangeError),
        (Fault.REJECT, OrderRejectedError),
    ):
        faults.script("place_order", fault)
        with pytest.raises(exc):
            await p.place_order(limit(2, Side.SELL, 1.0, 150))
        assert await p.get_order("SOL", 2) is None  # nothing happened
    faults.script("cancel_all_orders", Fault.DROPPED_RESPONSE)
    with pytest.raises(TransientExchangeError):
        await p.cancel_all_orders("SOL")
    assert await p.open_orders(["SOL"]) == []  # ...but the cancel was applied
    faults.script("positions", Fault.RATE_LIMITED)
    with pytest.raises(RateLimitedError):
        await p.positions(["SOL"])
    assert faults.counts[Fault.RATE_LIMITED] == 2


def test_seeded_faults_are_deterministic() -> None:
    rates = {"prices": {Fault.SERVER_ERROR: 0.3, Fault.RATE_LIMITED: 0.2}}
    a, b = FaultInjector(7, rates), FaultInjector(7, rates)
    assert [a.draw("prices") for _ in range(50)] == [b.draw("prices") for _ in range(50)]
    with pytest.raises(ValueError, match="sum"):
        FaultInjector(rates={"prices": {Fault.SERVER_ERROR: 0.9, Fault.REJECT: 0.2}})


async def test_latency_uses_injected_sleep() -> None:
    slept: list[float] = []

    async def sleep(dt: float) -> None:
        slept.append(dt)

    p = ex(latency=0.05, sleep=sleep)
    await p.prices(["SOL"])
    await p.positions(["SOL"])
    assert slept == [0.05, 0.05]
    assert p.calls["prices"] == 1


sides = st.sampled_from([Side.BUY, Side.SELL])
ops = st.lists(
    st.one_of(
        st.tuples(st.just("price"), st.floats(50, 150)),
        st.tuples(
            st.just("limit"),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(1, 50),
            st.floats(50, 150),
        ),
        st.tuples(st.just("market"), st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 50)),
        st.tuples(st.just("cancel")),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops)
async def test_accounting_invariants(steps: list[tuple[object, ...]]) -> None:
    p = ex()
    for cid, step in enumerate(steps, 1):
        try:
            if step[0] == "price":
                p.set_price("SOL", float(step[1]))  # type: ignore[arg-type]
            elif step[0] == "limit":
                side, lots, px = step[1], step[2], step[3]
                await p.place_order(limit(cid, side, lots * 0.1, px))  # type: ignore[arg-type,operator]
            elif step[0] == "market":
                side, lots = step[1], step[2]
                await p.place_order(market(cid, side, lots * 0.1))  # type: ignore[arg-type,operator]
            else:
                await p.cancel_all_orders("SOL")
        except OrderRejectedError:
            pass
    signed = sum(f.size * f.side.sign for f in p.fills)
    assert (await p.positions(["SOL"]))["SOL"] == pytest.approx(signed, abs=1e-9)
    assert p.fees_paid >= 0
    assert all(o.remaining >= 0 for o in p.all_orders())
    assert len({o.client_order_id for o in p.all_orders()}) == p.placed_count


async def test_snapshot_round_trip_keeps_account_and_orders() -> None:
    p = ex(positions={"SOL": -2.0})
    await p.place_order(limit(1, Side.SELL, 1.0, 101.0))
    await p.place_order(market(2, Side.BUY, 0.5))
    q = ex()
    q.restore(p.snapshot())
    assert await q.positions(["SOL"]) == await p.positions(["SOL"])
    assert [o.client_order_id for o in await q.open_orders(["SOL"])] == [1]
    with pytest.raises(DuplicateOrderError):
        await q.place_order(limit(2, Side.SELL, 1.0, 150.0))  # ids survive too
    q.set_price("SOL", 101.5)
    assert q.fills[-1].client_order_id == 1
    before = q.snapshot()
    with pytest.raises(InvalidInputError):
        q.restore({"version": 1, "prices": {"SOL": float("nan")}})
    assert q.snapshot() == before  # a bad snapshot changes nothing
