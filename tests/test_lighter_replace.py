"""``LighterExchange.replace_orders``: cancel-alls then orders in one nonce-ordered round.

Batches keep each market's cancel-all and orders together and are all in
flight at once.

Whatever fails, no market may end with two live orders of ours, and an order
is reported placed only if it is on the venue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import pytest

pytest.importorskip("lighter")

from lighter_rig import lighter_rig, sent
from xlp_adapters.lighter.sim import LighterSim
from xlp_core.errors import (
    OrderOutcomeUnknownError,
    OrderRejectedError,
    TransientExchangeError,
)
from xlp_core.execution import NO_WAIT, SubmitOutcome, replace_batch
from xlp_core.models import OrderRequest, OrderType, Side
from xlp_core.ports import ReplaceOutcome

SYMBOLS = ["SOL", "ETH", "BTC", "DOGE", "BONK"]
SIZES = {"SOL": 0.5, "ETH": 0.01, "BTC": 0.001, "DOGE": 100.0, "BONK": 1_000_000.0}
MARKS = {"SOL": 150.0, "ETH": 3000.0, "BTC": 60000.0, "DOGE": 0.15, "BONK": 2e-5}
CANCEL_ALL, CREATE = 16, 14


def ask(cid: int, symbol: str, *, far: bool = False) -> OrderRequest:
    price = MARKS[symbol] * (1.9 if far else 1.01)  # 1.9x the mark: refused (21734)
    return OrderRequest(cid, symbol, Side.SELL, OrderType.LIMIT, SIZES[symbol], price)


def live_by_market(sim: LighterSim, account: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for o in sim.orders(account):
        if o.live:
            out.setdefault(o.market_index, []).append(o.client_order_index)
    return out


def check_consistent(sim: LighterSim, account: int, out: ReplaceOutcome) -> None:
    """At most one live order per market; a placed outcome is live, a refused one is not."""
    live = live_by_market(sim, account)
    assert all(len(cids) <= 1 for cids in live.values()), live
    on_book = {c for cids in live.values() for c in cids}
    for p in out.places:
        if p.order is not None:
            assert p.request.client_order_id in on_book
        elif isinstance(p.error, OrderRejectedError):
            assert p.request.client_order_id not in on_book


async def _rest(ex: object, sim: LighterSim, cids: range, symbols: list[str]) -> None:
    from xlp_adapters.lighter import LighterExchange

    assert isinstance(ex, LighterExchange)
    outs = await ex.place_orders([ask(c, s) for c, s in zip(cids, symbols, strict=True)])
    assert all(o.order is not None for o in outs)
    await ex.open_orders(())  # the counts a cancel reports come from the last read


async def test_one_batch_cancel_alls_first_then_orders() -> None:
    async with lighter_rig() as (sim, ex, account):
        await _rest(ex, sim, range(100, 103), ["SOL", "ETH", "DOGE"])
        batches = sim.counts["sendTxBatch"]
        out = await ex.replace_orders(
            ["SOL", "ETH"], [ask(200, "SOL"), ask(201, "ETH"), ask(202, "BTC")]
        )
        assert sim.counts["sendTxBatch"] == batches + 1  # one request, one round trip
        assert {s: c.cancelled for s, c in out.cancels.items()} == {"SOL": 1, "ETH": 1}
        assert all(c.applied for c in out.cancels.values())
        assert all(p.order is not None for p in out.places)
        txs = list(sim.txs)[-5:]
        assert [t["type"] for t in txs] == [CANCEL_ALL, CANCEL_ALL, CREATE, CREATE, CREATE]
        assert [t["Nonce"] for t in txs] == sorted(t["Nonce"] for t in txs)
        live = sorted(c for cids in live_by_market(sim, account).values() for c in cids)
        assert live == [102, 200, 201, 202]  # DOGE's untouched, SOL/ETH replaced
        check_consistent(sim, account, out)


async def test_refused_cancel_all_sends_no_order_of_its_market() -> None:
    async with lighter_rig() as (sim, ex, account):
        await _rest(ex, sim, range(100, 102), ["SOL", "ETH"])
        sim.fail_next("sendTxBatch", "400:21500")  # the batch is refused at its first tx
        out = await ex.replace_orders(["SOL", "ETH"], [ask(200, "SOL"), ask(201, "ETH")])
        assert not any(c.applied for c in out.cancels.values())
        assert all(isinstance(p.error, OrderRejectedError) for p in out.places)
        live = sorted(c for cids in live_by_market(sim, account).values() for c in cids)
        assert live == [100, 101]  # the old orders, untouched; no new one
        check_consistent(sim, account, out)


async def test_refused_order_in_the_middle() -> None:
    async with lighter_rig() as (sim, ex, account):
        await _rest(ex, sim, range(100, 103), ["SOL", "ETH", "BTC"])
        requests = [ask(200, "SOL"), ask(201, "ETH", far=True), ask(202, "BTC")]
        out = await ex.replace_orders(["SOL", "ETH", "BTC"], requests)
        first, middle, last = out.places
        assert first.order is not None  # ran before the refusal...
        assert all(c.applied for c in out.cancels.values())  # ...so every cancel-all ran
        assert isinstance(middle.error, OrderRejectedError)
        assert isinstance(last.error, OrderRejectedError)  # after the refusal: not run
        assert live_by_market(sim, account) == {ex._specs["SOL"].market_id: [200]}
        check_consistent(sim, account, out)


async def test_refused_first_order_keeps_its_cancel_unconfirmed() -> None:
    async with lighter_rig() as (sim, ex, account):
        await _rest(ex, sim, range(100, 101), ["SOL"])
        out = await ex.replace_orders(["SOL"], [ask(200, "SOL", far=True)])
        assert not out.cancels["SOL"].applied  # nothing after it proves it ran
        assert isinstance(out.places[0].error, OrderRejectedError)
        check_consistent(sim, account, out)


async def test_lost_answer_is_unknown_and_resolved_by_lookup() -> None:
    async with lighter_rig() as (sim, ex, account):
        await _rest(ex, sim, range(100, 101), ["SOL"])
        sim.fail_next("sendTxBatch", "drop")  # applied, then the answer is lost
        requests = [ask(200, "SOL"), ask(201, "ETH")]
        out = await ex.replace_orders(["SOL"], requests)
        assert isinstance(out.cancels["SOL"].error, TransientExchangeError)
        assert all(isinstance(p.error, OrderOutcomeUnknownError) for p in out.places)
        check_consistent(sim, account, out)
        # The cycle's machinery: never re-sent, looked up, found.
        sim.fail_next("sendTxBatch", "drop")
        pair = ["SOL", "ETH"]
        res = await replace_batch(ex, pair, [ask(300, "SOL"), ask(301, "ETH")], policy=NO_WAIT)
        assert [r.outcome for r in res.orders] == [SubmitOutcome.ACCEPTED] * 2
        assert res.held == set(pair)
        creates = [t["ClientOrderIndex"] for t in sent(sim, CREATE)]
        assert creates.count(300) == 1
        assert creates.count(301) == 1
        assert all(len(c) <= 1 for c in live_by_market(sim, account).values())


async def test_invalid_nonce_is_re_signed_once() -> None:
    async with lighter_rig() as (sim, ex, account):
        await _rest(ex, sim, range(100, 101), ["SOL"])
        sim.fail_next("sendTxBatch", "400:21104")
        out = await ex.replace_orders(["SOL"], [ask(200, "SOL"), ask(201, "ETH")])
        assert out.cancels["SOL"].applied
        assert all(p.order is not None for p in out.places)
        check_consistent(sim, account, out)


@pytest.mark.parametrize("fault", [None, "400:21739", "drop", "429", "400:21104"])
async def test_split_batches_never_leave_two_orders_on_a_market(fault: str | None) -> None:
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await _rest(ex, sim, range(100, 103), ["SOL", "ETH", "BTC"])
        if fault is not None:
            sim.fail_next("sendTxBatch", fault)
        requests = [ask(200 + i, s) for i, s in enumerate(["SOL", "ETH", "BTC", "DOGE"])]
        out = await ex.replace_orders(["SOL", "ETH", "BTC"], requests)
        assert len(out.places) == 4
        assert set(out.cancels) == {"SOL", "ETH", "BTC"}
        check_consistent(sim, account, out)
        if fault is None:
            assert all(p.order is not None for p in out.places)
            kinds = [t["type"] for t in list(sim.txs)[-7:]]  # one market per batch of 2
            assert kinds == [CANCEL_ALL, CREATE] * 3 + [CREATE]
        for p in out.places:  # an order sent without its cancel would show as a second order
            if p.order is not None and p.request.symbol != "DOGE":
                assert out.cancels[p.request.symbol].applied or fault == "drop"


async def test_random_plans_never_leave_two_live_orders() -> None:
    """A table of seeded random plans and faults through the cycle's replace machinery."""
    import random

    rng = random.Random(11)
    kinds = [None, None, "400:21739", "400:21104", "drop", "429", "500", "slow"]
    async with lighter_rig(batch_size=3) as (sim, ex, account):
        sim.slow_seconds = 0.1  # "slow": the first post lands late, the batches after it race
        cid = iter(range(10_000, 20_000))
        for _ in range(12):
            plan = {s: (rng.random() < 0.5, rng.random() < 0.7) for s in SYMBOLS}
            cancels = [s for s, (_, place) in plan.items() if place or rng.random() < 0.3]
            requests = [ask(next(cid), s) for s, (_, place) in plan.items() if place]
            for _ in range(rng.randint(0, 2)):
                fault = rng.choice(kinds)
                if fault is not None:
                    sim.fail_next("sendTxBatch", fault)
            res = await replace_batch(ex, cancels, requests, policy=NO_WAIT)
            assert len(res.orders) == len(requests)
            sim.script.clear()
            live = live_by_market(sim, account)
            assert all(len(c) <= 1 for c in live.values()), live
            for r in res.orders:  # placed means on the venue
                if r.outcome is SubmitOutcome.ACCEPTED:
                    assert any(r.request.client_order_id in c for c in live.values())


def _hold_first_post(
    ex: Any, on_call: Mapping[int, Callable[[], Exception | None]] | None = None
) -> Any:
    """Delay the round's first post by 0.3 s, so the batches after it arrive first.

    ``on_call[n]`` runs just before the n-th post; an exception it returns is
    that post's answer (the venue refused it) and the post never leaves.
    Returns the adapter's own post, to put back."""
    post, calls, hooks = ex._post_checked, [], dict(on_call or {})

    async def late_first(what: str, txs: Any) -> Any:
        calls.append(what)
        if len(calls) == 1:
            await asyncio.sleep(0.3)
        hook = hooks.get(len(calls))
        if hook is not None and (refused := hook()) is not None:
            return refused
        return await post(what, txs)

    ex._post_checked = late_first
    return post


async def test_a_batch_that_races_ahead_is_sent_again() -> None:
    """The first batch is held back on its way: the second arrives first, is refused
    21104 without running, and is posted again as signed once the first ran."""
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await _rest(ex, sim, range(100, 102), ["SOL", "ETH"])
        _hold_first_post(ex)
        batches, nonces = sim.counts["sendTxBatch"], sim.counts["nextNonce"]
        out = await ex.replace_orders(["SOL", "ETH"], [ask(200, "SOL"), ask(201, "ETH")])
        assert sim.counts["sendTxBatch"] == batches + 3  # both in flight, then ETH's again
        assert sim.counts["nextNonce"] == nonces  # posted again as signed: no fresh nonce
        posts = [r["form"]["tx_infos"] for r in sim.requests if r["endpoint"] == "sendTxBatch"]
        assert posts[-3] == posts[-1]  # ETH's batch, the same signed txs; SOL's in between
        assert all(c.applied for c in out.cancels.values())
        assert all(p.order is not None for p in out.places)
        live = sorted(c for cids in live_by_market(sim, account).values() for c in cids)
        assert live == [200, 201]
        check_consistent(sim, account, out)


@pytest.mark.parametrize("fault", [None, "400:21500", "drop"])
async def test_a_market_larger_than_a_batch_waits_for_its_cancel(fault: str | None) -> None:
    """SOL's cancel-all and three orders need two batches: the second goes only after the first."""
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await _rest(ex, sim, range(100, 101), ["SOL"])
        if fault is not None:
            sim.fail_next("sendTxBatch", fault)
        requests = [ask(200 + i, "SOL") for i in range(3)]
        out = await ex.replace_orders(["SOL"], requests)
        check_consistent_many(sim, account, out, old=[100])
        if fault is None:
            assert all(p.order is not None for p in out.places)
        elif fault == "400:21500":  # the cancel-all never ran: no order of SOL was sent
            assert not out.cancels["SOL"].applied
            assert all(isinstance(p.error, OrderRejectedError) for p in out.places)
            assert [c for cids in live_by_market(sim, account).values() for c in cids] == [100]


def check_consistent_many(
    sim: LighterSim, account: int, out: ReplaceOutcome, old: list[int]
) -> None:
    """Several orders on one market: never an old order beside a new one."""
    live = {c for cids in live_by_market(sim, account).values() for c in cids}
    assert not (live & set(old) and live - set(old)), live
    for p in out.places:
        if p.order is not None:
            assert p.request.client_order_id in live


def test_batches_keep_each_market_together() -> None:
    from xlp_adapters.lighter.batches import Tx, batches_by_market

    def tx(symbol: str, index: int | None) -> Tx:
        return Tx(symbol, lambda nonce: (), index)

    txs = [tx("A", None), tx("B", None), tx("C", None), tx("A", 0), tx("B", 1), tx("C", 2)]
    txs += [tx("D", 3)]
    got = [[(t.symbol, t.index) for t in c] for c in batches_by_market(txs, 4)]
    assert got == [
        [("A", None), ("B", None), ("A", 0), ("B", 1)],
        [("C", None), ("C", 2), ("D", 3)],
    ]
    big = [tx("A", None)] + [tx("A", i) for i in range(4)] + [tx("B", 9)]
    got = [[(t.symbol, t.index) for t in c] for c in batches_by_market(big, 3)]
    assert got == [[("A", None), ("A", 0), ("A", 1)], [("A", 2), ("A", 3), ("B", 9)]]


async def test_a_raced_batch_refused_again_is_re_signed_once_then_given_up() -> None:
    """ETH's batch races, and its re-post as signed is refused "invalid nonce" too: the
    next nonce refused is a stale nonce, not a race, so it is re-signed, at most
    NONCE_RETRIES (1) times; refused again, it comes back refused (nothing of it ran)
    and its cancel is reported not applied."""
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await _rest(ex, sim, range(100, 102), ["SOL", "ETH"])
        stale = {n: lambda: sim.fail_next("sendTxBatch", "400:21104") for n in (3, 4)}
        post = _hold_first_post(ex, stale)
        batches, nonces = sim.counts["sendTxBatch"], sim.counts["nextNonce"]
        out = await ex.replace_orders(["SOL", "ETH"], [ask(200, "SOL"), ask(201, "ETH")])
        assert sim.counts["sendTxBatch"] == batches + 4  # SOL, ETH, ETH as signed, re-signed
        assert sim.counts["nextNonce"] == nonces + 1
        assert out.cancels["SOL"].applied
        assert out.places[0].order is not None
        assert not out.cancels["ETH"].applied
        assert isinstance(out.places[1].error, OrderRejectedError)
        assert live_by_market(sim, account) == {
            ex._specs["SOL"].market_id: [200],
            ex._specs["ETH"].market_id: [101],
        }
        check_consistent(sim, account, out)
        ex._post_checked = post  # type: ignore[method-assign]
        again = await ex.replace_orders(["ETH"], [ask(202, "ETH")])  # nonce re-fetched
        assert again.cancels["ETH"].applied
        assert again.places[0].order is not None


FOUR = ["SOL", "ETH", "BTC", "DOGE"]


def _round_posts(sim: LighterSim, last: int) -> list[dict[str, Any]]:
    return [r for r in sim.requests if r["endpoint"] == "sendTxBatch"][-last:]


async def test_raced_batches_are_posted_again_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three batches race ahead of the first: all three are posted again as signed,
    together (one more round trip, not three), and every order is placed once."""
    from xlp_adapters.lighter import exchange

    # A wider gap than the default between the re-posts, so a loaded machine does
    # not reorder them (that risk is the design's; here each must land in order).
    monkeypatch.setattr(exchange, "REPOST_SPACING", 0.01)
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await _rest(ex, sim, range(100, 104), FOUR)
        sim.rtt = 0.05  # every answer 50 ms after arrival: overlapping posts show
        _hold_first_post(ex)
        batches, nonces = sim.counts["sendTxBatch"], sim.counts["nextNonce"]
        out = await ex.replace_orders(FOUR, [ask(200 + i, s) for i, s in enumerate(FOUR)])
        assert sim.counts["sendTxBatch"] == batches + 4 + 3  # four, then the three raced
        assert sim.counts["nextNonce"] == nonces  # as signed: no fresh nonce
        posts = _round_posts(sim, 7)
        first, again = posts[:4], posts[4:]
        assert sorted(r["form"]["tx_infos"] for r in again) == sorted(
            r["form"]["tx_infos"] for r in first[:3]
        )  # the three that arrived before the held one, the same signed txs
        assert min(r["arrived"] for r in again) >= first[3]["answered"]
        assert max(r["arrived"] for r in again) < min(r["answered"] for r in again)
        assert all(c.applied for c in out.cancels.values())
        assert all(p.order is not None for p in out.places)
        creates = [t["ClientOrderIndex"] for t in sent(sim, CREATE)]
        assert all(creates.count(200 + i) == 1 for i in range(4))  # each placed once
        live = sorted(c for cids in live_by_market(sim, account).values() for c in cids)
        assert live == [200, 201, 202, 203]
        check_consistent(sim, account, out)


async def test_batches_that_race_again_are_posted_again_until_they_run() -> None:
    """The first re-post is held back too: the two after it race again and go once
    more as signed (each round runs at least its first batch); every order once."""
    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await _rest(ex, sim, range(100, 104), FOUR)
        post, calls = ex._post_checked, []

        async def late(what: str, txs: Any) -> Any:
            calls.append(what)
            if len(calls) in (1, 5):  # the round's first post, then the first re-post
                await asyncio.sleep(0.3)
            return await post(what, txs)

        ex._post_checked = late  # type: ignore[method-assign]
        batches, nonces = sim.counts["sendTxBatch"], sim.counts["nextNonce"]
        out = await ex.replace_orders(FOUR, [ask(200 + i, s) for i, s in enumerate(FOUR)])
        assert sim.counts["sendTxBatch"] == batches + 4 + 3 + 2
        assert sim.counts["nextNonce"] == nonces  # all as signed
        assert all(c.applied for c in out.cancels.values())
        assert all(p.order is not None for p in out.places)
        creates = [t["ClientOrderIndex"] for t in sent(sim, CREATE)]
        assert all(creates.count(200 + i) == 1 for i in range(4))
        check_consistent(sim, account, out)


async def test_a_refusal_inside_the_raced_group_leaves_the_batches_after_it_re_signed() -> None:
    """The second of three raced batches is refused when posted again: the first stands,
    the third (refused 21104 again: it followed a failure) is re-signed with a fresh
    nonce and runs; nothing runs twice and no market has two orders."""
    from xlp_adapters.lighter.batches import Refused

    async with lighter_rig(batch_size=2) as (sim, ex, account):
        await _rest(ex, sim, range(100, 104), FOUR)
        post = _hold_first_post(ex, {6: lambda: Refused(21739, "not enough margin")})
        batches, nonces = sim.counts["sendTxBatch"], sim.counts["nextNonce"]
        out = await ex.replace_orders(FOUR, [ask(200 + i, s) for i, s in enumerate(FOUR)])
        # four, the three raced again (the refused one never left), DOGE's re-signed
        assert sim.counts["sendTxBatch"] == batches + 4 + 2 + 1
        assert sim.counts["nextNonce"] == nonces + 1
        assert [out.cancels[s].applied for s in FOUR] == [True, True, False, True]
        placed = [p.order is not None for p in out.places]
        assert placed == [True, True, False, True]
        assert isinstance(out.places[2].error, OrderRejectedError)
        ids = ex._specs
        assert live_by_market(sim, account) == {
            ids["SOL"].market_id: [200], ids["ETH"].market_id: [201],
            ids["BTC"].market_id: [102], ids["DOGE"].market_id: [203],
        }  # fmt: skip
        check_consistent(sim, account, out)
        creates = [t["ClientOrderIndex"] for t in sent(sim, CREATE)]
        assert len(creates) == len(set(creates))
        ex._post_checked = post  # type: ignore[method-assign]
        again = await ex.replace_orders(["BTC", "DOGE"], [ask(302, "BTC"), ask(303, "DOGE")])
        assert all(p.order is not None for p in again.places)
