"""Batched Lighter calls, the duplicate-adopt path and request weights, on the simulator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("lighter")

from lighter_rig import lighter_rig, limit, sent
from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.lighter.batches import Refused
from xlp_core.errors import DuplicateOrderError, OrderRejectedError
from xlp_core.execution import SubmitOutcome, submit_order
from xlp_core.models import OrderRequest, OrderType, Side

SYMBOLS = ["SOL", "ETH", "BTC", "DOGE", "BONK"]
SIZES = {"SOL": 0.5, "ETH": 0.01, "BTC": 0.001, "DOGE": 100.0, "BONK": 1_000_000.0}
MARKS = {"SOL": 150.0, "ETH": 3000.0, "BTC": 60000.0, "DOGE": 0.15, "BONK": 2e-5}


def ask(cid: int, symbol: str) -> OrderRequest:
    price = MARKS[symbol] * 1.01
    return OrderRequest(cid, symbol, Side.SELL, OrderType.LIMIT, SIZES[symbol], price)


async def test_place_orders_in_one_batch_of_up_to_fifty() -> None:
    async with lighter_rig() as (sim, ex, _account):
        requests = [ask(1000 + i, SYMBOLS[i % 5]) for i in range(20)]
        outcomes = await ex.place_orders(requests)
        assert [o.request for o in outcomes] == requests
        assert all(o.order is not None and o.error is None for o in outcomes)
        assert sim.counts["sendTxBatch"] == 1  # 20 <= 50
        assert sim.counts["nextNonce"] == 1
        assert [t["Nonce"] for t in sent(sim, 14)] == list(range(100, 120))
        # Signed on threads: every tx still carries its own order's fields.
        by_cid = {t["ClientOrderIndex"]: t for t in sent(sim, 14)}
        for r in requests:
            assert by_cid[r.client_order_id]["MarketIndex"] == ex._specs[r.symbol].market_id
        found = await ex.get_orders([(r.symbol, r.client_order_id) for r in requests])
        assert set(found) == {r.client_order_id for r in requests}
        assert sim.counts["accountOrders"] == 1  # 20 ids, one request


async def test_smaller_batches_go_out_together_and_all_land() -> None:
    async with lighter_rig(batch_size=6) as (sim, ex, _account):
        requests = [ask(2000 + i, SYMBOLS[i % 5]) for i in range(20)]
        outcomes = await ex.place_orders(requests)
        assert all(o.order is not None and o.error is None for o in outcomes)
        assert sim.counts["sendTxBatch"] >= 4  # 6 + 6 + 6 + 2, plus any re-sent in order
        assert sorted(t["Nonce"] for t in sent(sim, 14)) == list(range(100, 120))
        assert {t["ClientOrderIndex"] for t in sent(sim, 14)} == {
            r.client_order_id for r in requests
        }
        assert len(await ex.open_orders(())) == 20
        counts = await ex.cancel_orders(SYMBOLS)
        assert counts == dict.fromkeys(SYMBOLS, 4)
        assert not [o for o in sim.orders(_account) if o.live]


async def test_a_batch_after_a_refused_one_is_sent_again_with_a_fresh_nonce() -> None:
    async with lighter_rig(batch_size=2) as (sim, ex, _account):
        await ex.place_orders([ask(2999, "SOL")])  # nonce known
        sim.fail_next("sendTxBatch", "400:21739")  # the first batch is refused whole
        requests = [ask(3000 + i, SYMBOLS[i % 5]) for i in range(4)]
        outcomes = await ex.place_orders(requests)
        placed = [o for o in outcomes if o.order is not None]
        refused = [o for o in outcomes if isinstance(o.error, OrderRejectedError)]
        assert len(placed) + len(refused) == 4  # every order has one outcome
        assert refused
        live = {o.client_order_index for o in sim.orders(_account) if o.live}
        assert live == {2999} | {o.request.client_order_id for o in placed}


async def test_a_refused_order_in_a_batch_gets_its_own_outcome() -> None:
    async with lighter_rig() as (_sim, ex, _account):
        await ex.place_order(ask(2001, "ETH"))  # already on the book
        bad_price = OrderRequest(2003, "SOL", Side.BUY, OrderType.LIMIT, 0.5, 170.0)
        tiny = OrderRequest(2004, "SOL", Side.SELL, OrderType.LIMIT, 0.01, 150.0)
        outcomes = await ex.place_orders([ask(2000, "SOL"), ask(2001, "ETH"), ask(2002, "BTC"),
                                          bad_price, tiny])  # fmt: skip
        first, dup, third, far, small = outcomes
        assert first.order is not None  # executed before the refused one
        assert dup.order is not None  # the live earlier order, adopted
        assert isinstance(third.error, OrderRejectedError)  # after the refusal: not run
        assert isinstance(far.error, OrderRejectedError)
        assert isinstance(small.error, OrderRejectedError)  # refused locally, never sent
        assert "minimum" in str(small.error)
        live = sorted(o.client_order_id for o in await ex.open_orders(()))
        assert live == [2000, 2001]  # no duplicate of 2001


async def test_duplicate_is_looked_up_and_adopted_by_the_core() -> None:
    async with lighter_rig() as (sim, ex, _account):
        request = limit(3000, Side.SELL, 0.5, 151.0)
        await ex.place_order(request)  # an earlier send got through, its answer was lost
        with pytest.raises(DuplicateOrderError):
            await ex.place_order(request)
        result = await submit_order(
            ex, MemoryAuditSink(), request, cycle=1, now=lambda: datetime.now(UTC)
        )
        assert result.outcome is SubmitOutcome.ACCEPTED  # not a false REJECTED
        assert result.order is not None
        assert len(sent(sim, 14)) == 1  # and never a second order


async def test_cancel_orders_one_batch_no_reads() -> None:
    async with lighter_rig() as (sim, ex, _account):
        await ex.place_orders([ask(4000 + i, s) for i, s in enumerate(SYMBOLS)])
        assert len(await ex.open_orders(())) == 5
        reads = sim.counts["accountActiveOrders"]
        counts = await ex.cancel_orders(["SOL", "ETH", "BTC"])
        assert counts == {"SOL": 1, "ETH": 1, "BTC": 1}
        assert sim.counts["accountActiveOrders"] == reads  # nothing read first
        assert sim.counts["sendTxBatch"] == 2  # the place batch and the cancel batch
        assert sorted(o.symbol for o in await ex.open_orders(())) == ["BONK", "DOGE"]


async def test_request_weights_match_requests_sent() -> None:
    async with lighter_rig() as (sim, ex, _account):
        await ex.prices(["SOL"])  # warm: market rules and nonce known
        await ex.place_order(ask(5000, "SOL"))
        ex._details_at = -1e18  # the cycle's one details read is due again
        weights = ex.request_weights
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "prices": lambda: ex.prices(SYMBOLS),
            "markets": lambda: ex.markets(SYMBOLS),
            "positions": lambda: ex.positions(SYMBOLS),
            "open_orders": lambda: ex.open_orders(()),
            "get_order": lambda: ex.get_order("SOL", 5000),
            "get_orders": lambda: ex.get_orders([("SOL", 5000 + i) for i in range(20)]),
            "place_order": lambda: ex.place_order(ask(5001, "ETH")),
            "place_orders": lambda: ex.place_orders([ask(5100 + i, "DOGE") for i in range(15)]),
            "cancel_order": lambda: ex.cancel_order("SOL", 5000),
            "cancel_all_orders": lambda: ex.cancel_all_orders("ETH"),
            "cancel_orders": lambda: ex.cancel_orders(SYMBOLS),
            "replace_orders": lambda: ex.replace_orders(
                SYMBOLS, [ask(5200 + i, SYMBOLS[i % 5]) for i in range(15)]
            ),
            "arm_dead_man_switch": lambda: ex.arm_dead_man_switch(None),
        }
        for method, call in calls.items():
            before = sum(sim.counts.values())
            if method == "markets":
                ex._details_at = -1e18
            await call()
            assert sum(sim.counts.values()) - before == weights[method], method


async def test_full_cycle_on_the_simulator() -> None:
    """The real cycle, wrapped in the safety stack, against the simulated venue."""
    from xlp_adapters.pools import StaticPoolSource
    from xlp_adapters.stores import MemoryStateStore
    from xlp_core import audit as A
    from xlp_core.config import HedgeConfig
    from xlp_core.cycle import run_hedge_cycle
    from xlp_core.safety import wrap_exchange

    async with lighter_rig() as (sim, ex, account):
        sim.set_position(account, "SOL", -98)  # ideal -100 -> sell 2 SOL = $300
        config = HedgeConfig.from_mapping(
            {"pools": {"JLP": 1000.0}, "threshold_min_usd": 100, "threshold_max_usd": 1000,
             "threshold_step_usd": 50, "exchange": "lighter", "mode": "live"}
        )  # fmt: skip
        audit = MemoryAuditSink()
        report = await run_hedge_cycle(
            exchange=wrap_exchange(ex, config), pools=[StaticPoolSource("JLP", {"SOL": 0.1})],
            store=MemoryStateStore(), audit=audit, config=config,
            clock=lambda: datetime.now(UTC),
        )  # fmt: skip
        assert report.ok, report
        (act,) = report.symbols["SOL"].actions
        assert act.outcome == "accepted"
        (tx,) = sent(sim, 14)
        assert tx["ClientOrderIndex"] == act.client_order_id
        assert tx["IsAsk"] == 1
        assert tx["BaseAmount"] == 80  # 40% of 2 SOL, 2 size decimals
        assert tx["Price"] == 1503000  # cost 150 + 0.2%, 4 price decimals
        assert tx["OrderExpiry"] > 0
        kinds = [e.kind for e in audit.events()]
        assert kinds.index(A.ORDER_INTENT) < kinds.index(A.ORDER_RESULT)


async def test_a_bad_market_row_stops_only_its_symbol_in_a_cycle() -> None:
    from xlp_adapters.pools import StaticPoolSource
    from xlp_adapters.stores import MemoryStateStore
    from xlp_core.config import HedgeConfig
    from xlp_core.cycle import run_hedge_cycle
    from xlp_core.safety import wrap_exchange

    async with lighter_rig() as (sim, ex, account):
        sim.market("SOL")["supported_price_decimals"] = 3  # SOL's row can no longer be scaled
        sim.set_position(account, "ETH", -0.9)  # ideal -1 ETH -> sell 0.1 ETH = $300
        config = HedgeConfig.from_mapping(
            {"pools": {"JLP": 1000.0}, "threshold_min_usd": 100, "threshold_max_usd": 1000,
             "threshold_step_usd": 50, "exchange": "lighter", "mode": "live"}
        )  # fmt: skip
        report = await run_hedge_cycle(
            exchange=wrap_exchange(ex, config),
            pools=[StaticPoolSource("JLP", {"SOL": 0.1, "ETH": 0.001})],
            store=MemoryStateStore(), audit=MemoryAuditSink(), config=config,
            clock=lambda: datetime.now(UTC),
        )  # fmt: skip
        assert report.symbols["ETH"].actions  # ETH hedged
        assert not report.symbols["SOL"].actions  # SOL alone stopped
        assert [t["MarketIndex"] for t in sent(sim, 14)] == [0]


async def test_every_batch_is_posted_at_most_twice_after_invalid_nonce() -> None:
    """The re-signing bound (NONCE_RETRIES = 1) holds for each of several batches (none
    raced: the first met a stale nonce, so each is re-signed, once)."""
    from xlp_adapters.lighter.batches import NONCE_RETRIES

    assert NONCE_RETRIES == 1
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await ex.place_orders([ask(5999, "SOL")])  # nonce known
        posts = sim.counts["sendTxBatch"]
        sim.fail_next("sendTxBatch", *["400:21104"] * 6)
        outcomes = await ex.place_orders([ask(6000 + i, SYMBOLS[i]) for i in range(4)])
        assert sim.counts["sendTxBatch"] == posts + 4  # two batches, two posts each
        assert all(isinstance(o.error, OrderRejectedError) for o in outcomes)
        assert all("21104" in str(o.error) for o in outcomes)
        assert {o.client_order_index for o in sim.orders(account) if o.live} == {5999}
        sim.script.clear()
        again = await ex.place_orders([ask(6100 + i, SYMBOLS[i]) for i in range(4)])
        assert all(o.order is not None for o in again)  # the nonce was re-fetched


async def test_a_one_order_batch_refused_is_not_looked_up_and_keeps_its_id() -> None:
    async with lighter_rig() as (sim, ex, _account):
        await ex.place_orders([ask(6200, "SOL")])
        reads = sim.counts["accountOrders"]
        (dup,) = await ex.place_orders([ask(6200, "SOL")])
        assert isinstance(dup.error, DuplicateOrderError)
        assert dup.error.client_order_id == 6200
        assert str(dup.error).count("place SOL") == 1  # said once
        out = await ex.replace_orders([], [ask(6200, "SOL")])  # the same mapping
        assert isinstance(out.places[0].error, DuplicateOrderError)
        assert out.places[0].error.client_order_id == 6200
        assert sim.counts["accountOrders"] == reads  # no look-up for a one-tx batch


async def test_cancel_orders_in_several_batches_raises_the_first_failure() -> None:
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await ex.place_orders([ask(6300 + i, s) for i, s in enumerate(SYMBOLS)])
        await ex.open_orders(())
        # The first batch refused at its first tx. Picked by name, not as the next post
        # to arrive: the batches are in flight together, and may land in any order.
        post = ex._post_checked

        async def refuse_first(what: str, txs: Any) -> Any:
            if what == "cancel SOL,ETH":
                return Refused(21500, "injected")
            return await post(what, txs)

        ex._post_checked = refuse_first  # type: ignore[method-assign]
        with pytest.raises(OrderRejectedError, match="cancel SOL,ETH: venue code 21500"):
            await ex.cancel_orders(SYMBOLS)
        ex._post_checked = post  # type: ignore[method-assign]
        live = sorted(o.client_order_index for o in sim.orders(account) if o.live)
        assert live[:2] == [6300, 6301]  # SOL and ETH untouched
        assert len(live) == 2  # the later batches re-signed and run: nothing ran twice
        assert await ex.cancel_orders(["SOL", "ETH"]) == {"SOL": 1, "ETH": 1}


async def test_random_faults_through_the_shared_sender() -> None:
    """place_orders and cancel_orders under seeded random faults: every outcome true,
    at most two posts a batch, and a cancel that returned left nothing live."""
    import random

    from xlp_core.errors import ExchangeError

    rng = random.Random(4)
    faults = ["400:21739", "400:21104", "drop", "429", "500"]
    kinds: list[str | None] = [None, None, *faults, "slow"]
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        sim.slow_seconds = 0.1  # "slow": the first post lands late, the batches after it race
        cid = iter(range(20_000, 30_000))
        for _ in range(10):
            requests = [ask(next(cid), s) for s in SYMBOLS if rng.random() < 0.7]
            for _ in range(rng.randint(0, 2)):
                if (fault := rng.choice(kinds)) is not None:
                    sim.fail_next("sendTxBatch", fault)
                    sim.fail_next("sendTx", fault)
            posts = sim.counts["sendTxBatch"] + sim.counts["sendTx"]
            outcomes = await ex.place_orders(requests)
            batches = -(-len(requests) // 2)
            assert sim.counts["sendTxBatch"] + sim.counts["sendTx"] - posts <= 2 * batches
            ran = [t["ClientOrderIndex"] for t in sent(sim, 14)]
            live = {o.client_order_index for o in sim.orders(account) if o.live}
            for o in outcomes:
                c = o.request.client_order_id
                assert ran.count(c) <= 1
                if o.order is not None:
                    assert c in live
                elif isinstance(o.error, OrderRejectedError):
                    assert not isinstance(o.error, DuplicateOrderError)
                    assert c not in ran
            sim.script.clear()
            if rng.random() < 0.5:
                sim.fail_next("sendTxBatch", rng.choice(faults))
            try:
                await ex.cancel_orders(SYMBOLS)
            except ExchangeError:
                sim.script.clear()
                await ex.cancel_orders(SYMBOLS)
            assert not [o for o in sim.orders(account) if o.live]


def test_raced_picks_the_run_refused_invalid_nonce_after_the_batches_that_ran() -> None:
    """Only batches every one before which ran (or races with them) go again as signed."""
    from xlp_adapters.lighter.batches import NotSent, Unknown, raced

    nonce, margin = Refused(21104, "invalid nonce"), Refused(21739, "not enough margin")
    unknown = Unknown("place", "timed out")
    cases: list[tuple[list[Exception | None], list[int]]] = [
        ([None, nonce, nonce, nonce], [1, 2, 3]),
        ([None, None], []),
        ([nonce, nonce], []),  # the first batch met a stale nonce: re-signed
        ([None, nonce, margin, nonce], [1]),
        ([None, nonce, NotSent(), nonce], [1]),
        ([None, unknown, nonce], []),  # after a maybe-sent batch: never as signed
        ([None, None, nonce], [2]),
    ]
    for errors, want in cases:
        assert raced(errors) == want, errors
