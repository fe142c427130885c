"""``Exchange.replace_orders``: the port's default, the paper venue, the safety
wrappers and the cycle (write-ahead of cancels and orders, one call)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_cycle_safety import Clock, Pool, Scripted, paper, run
from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.paper.faults import Fault, FaultInjector
from xlp_adapters.stores import MemoryStateStore
from xlp_core import audit as A
from xlp_core.decision import Action, ActionKind, Observation
from xlp_core.errors import (
    AuditError,
    CircuitOpenError,
    NotionalLimitError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    TransientExchangeError,
)
from xlp_core.execution import NO_WAIT, SubmitOutcome, replace_batch
from xlp_core.models import MarketRules, Order, OrderRequest, OrderType, Side
from xlp_core.ports import Exchange, ExchangeDefaults
from xlp_core.safety import (
    CircuitBreakerExchange,
    NotionalGuardExchange,
    PriceCachedExchange,
    RateLimitedExchange,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PRICES = {"SOL": 150.0, "ETH": 3000.0, "BTC": 60000.0}


def ask(cid: int, symbol: str, size: float = 1.0) -> OrderRequest:
    return OrderRequest(
        cid, symbol, Side.SELL, OrderType.LIMIT, size, PRICES[symbol] * 1.05,
        expires_at=T0 + timedelta(days=1),
    )  # fmt: skip


def venue(faults: FaultInjector | None = None) -> PaperExchange:
    return PaperExchange(prices=PRICES, clock=lambda: T0, faults=faults)


def live(ex: PaperExchange) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for o in ex.all_orders():
        if o.status.is_open:
            out.setdefault(o.symbol, []).append(o.client_order_id)
    return out


# --- the paper venue ---------------------------------------------------------


async def test_paper_replace_is_one_request_cancels_then_orders() -> None:
    ex = venue()
    await ex.place_orders([ask(1, "SOL"), ask(2, "ETH")])
    out = await ex.replace_orders(["SOL", "ETH"], [ask(3, "SOL"), ask(4, "BTC")])
    assert {s: c.cancelled for s, c in out.cancels.items()} == {"SOL": 1, "ETH": 1}
    assert [p.order is not None for p in out.places] == [True, True]
    assert live(ex) == {"SOL": [3], "BTC": [4]}
    assert ex.calls["replace_orders"] == 1
    assert ex.calls["cancel_orders"] == ex.calls["place_orders"] - 1 == 0


async def test_paper_cancel_refused_holds_its_orders_only() -> None:
    faults = FaultInjector()
    ex = venue(faults)
    await ex.place_orders([ask(1, "SOL")])
    faults.script("cancel_orders", Fault.SERVER_ERROR)
    out = await ex.replace_orders(["SOL"], [ask(3, "SOL"), ask(4, "BTC")])
    assert isinstance(out.cancels["SOL"].error, TransientExchangeError)
    held, other = out.places
    assert isinstance(held.error, OrderRejectedError)
    assert "cancel" in str(held.error)
    assert other.order is not None
    assert live(ex) == {"SOL": [1], "BTC": [4]}


async def test_paper_hidden_effect_fails_the_whole_call_after_applying() -> None:
    faults = FaultInjector()
    ex = venue(faults)
    await ex.place_orders([ask(1, "SOL")])
    faults.script("place_orders", Fault.DROPPED_RESPONSE)
    with pytest.raises(OrderOutcomeUnknownError):
        await ex.replace_orders(["SOL"], [ask(3, "SOL")])
    assert live(ex) == {"SOL": [3]}


# --- the port's default --------------------------------------------------------


class StickyVenue(ExchangeDefaults):
    """A venue whose cancel-all answers but leaves SOL's orders on the book."""

    def __init__(self) -> None:
        self.inner = venue()
        self.sent: list[int] = []

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return await self.inner.open_orders(symbols)

    async def cancel_all_orders(self, symbol: str) -> int:
        return 0 if symbol == "SOL" else await self.inner.cancel_all_orders(symbol)

    async def place_order(self, request: OrderRequest) -> Order:
        self.sent.append(request.client_order_id)
        return await self.inner.place_order(request)


async def test_default_replace_sends_only_orders_whose_cancel_was_confirmed() -> None:
    v = StickyVenue()
    await v.inner.place_orders([ask(1, "SOL"), ask(2, "ETH")])
    out = await v.replace_orders(["SOL", "ETH"], [ask(3, "SOL"), ask(4, "ETH")])
    assert not out.cancels["SOL"].applied
    assert out.cancels["ETH"].applied
    assert isinstance(out.places[0].error, OrderRejectedError)
    assert out.places[1].order is not None
    assert v.sent == [4]  # SOL's order never left
    assert live(v.inner) == {"SOL": [1], "ETH": [4]}


# --- safety wrappers -----------------------------------------------------------


async def test_notional_refusal_does_not_block_the_cancels() -> None:
    ex = venue()
    await ex.place_orders([ask(1, "SOL")])
    guard = NotionalGuardExchange(ex, max_order=1000.0, max_window=5000.0)
    out = await guard.replace_orders(["SOL"], [ask(3, "SOL", size=100.0), ask(4, "SOL")])
    assert out.cancels["SOL"].applied
    assert isinstance(out.places[0].error, NotionalLimitError)
    assert out.places[1].order is not None
    assert live(ex) == {"SOL": [4]}
    assert guard.used == pytest.approx(157.5)


async def test_open_breaker_refuses_the_replace() -> None:
    now = [0.0]
    br = CircuitBreakerExchange(venue(), failure_threshold=1, reset_after=60, clock=lambda: now[0])
    br.state = br.state.on_failure(0.0)
    with pytest.raises(CircuitOpenError):
        await br.replace_orders(["SOL"], [ask(3, "SOL")])


class Unbatched(ExchangeDefaults):
    """No declared weights: the rate limiter counts the default's three steps."""

    name = "loop"

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return []

    async def cancel_all_orders(self, symbol: str) -> int:
        return 0

    async def place_order(self, request: OrderRequest) -> Order:
        raise OrderRejectedError("no")

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return {}


async def test_rate_limiter_weights_a_replace() -> None:
    declared = RateLimitedExchange(venue(), requests_per_minute=600)
    await declared.replace_orders(["SOL", "ETH"], [ask(3, "SOL")])
    assert declared.window.limit - sum(w for _, w in declared.window.entries) < 600
    assert declared.replace_weight(2, 1) == 1
    loop = RateLimitedExchange(Unbatched(), requests_per_minute=600)  # type: ignore[arg-type]
    assert loop.replace_weight(2, 3) == 2 + 1 + 3  # cancels, confirming read, places
    cached = PriceCachedExchange(venue(), ttl=60)
    await cached.prices(["SOL"])
    await cached.replace_orders([], [ask(3, "SOL")])
    await cached.prices(["SOL"])
    assert cached.misses == 2  # traded: the price is read afresh


# --- the cycle -------------------------------------------------------------------


def cancel_and_replace(obs: Observation, offset: float) -> list[Action]:
    return [
        Action(ActionKind.CANCEL, obs.symbol, "replace"),
        Action(ActionKind.PLACE_LIMIT, obs.symbol, "new", Side.SELL, 0.1, 160.0, opening=True),
    ]


def cancel_only(obs: Observation, offset: float) -> list[Action]:
    return [Action(ActionKind.CANCEL, obs.symbol, "stop")]


class Recording(MemoryAuditSink):
    def __init__(self, ex: PaperExchange, fail: bool = False) -> None:
        super().__init__()
        self.ex, self.fail = ex, fail
        self.log: list[tuple[list[str], int]] = []

    def append_many(self, events: Sequence[A.AuditEvent]) -> None:
        self.log.append(([e.kind for e in events], self.ex.calls["replace_orders"]))
        if self.fail and any(e.kind == A.ORDER_INTENT for e in events):
            raise OSError("disk full")
        super().append_many(events)


async def test_cycle_writes_cancel_and_order_intents_ahead_in_one_write() -> None:
    clock = Clock()
    ex = paper(clock)
    await ex.place_order(OrderRequest(5, "SOL", Side.SELL, OrderType.LIMIT, 0.1, 170.0))
    audit = Recording(ex)
    r = await run(ex, Pool({"SOL": 0.1}), MemoryStateStore(), audit, clock,
                  strategy=Scripted(cancel_and_replace))  # fmt: skip
    cancel, place = r.symbols["SOL"].actions
    assert cancel.outcome == "confirmed"
    assert place.outcome == "accepted"
    ahead = [kinds for kinds, calls in audit.log if calls == 0 and A.ORDER_INTENT in kinds]
    assert len(ahead) == 1
    assert A.CANCEL_INTENT in ahead[0]  # both intents, one durable write, before the call
    assert ex.calls["replace_orders"] == 1
    assert ex.calls["cancel_orders"] + ex.calls["open_orders"] == 1  # only the cycle's read
    assert live(ex) == {"SOL": [place.client_order_id]}


async def test_cycle_sends_nothing_when_the_write_ahead_fails() -> None:
    clock = Clock()
    ex = paper(clock)
    await ex.place_order(OrderRequest(5, "SOL", Side.SELL, OrderType.LIMIT, 0.1, 170.0))
    with pytest.raises(AuditError):
        await run(ex, Pool({"SOL": 0.1}), MemoryStateStore(), Recording(ex, fail=True), clock,
                  strategy=Scripted(cancel_and_replace))  # fmt: skip
    assert ex.calls["replace_orders"] == 0
    assert live(ex) == {"SOL": [5]}  # not even the cancel went out


async def test_cancel_only_cycle_still_cancels_and_retries() -> None:
    clock = Clock()
    faults = FaultInjector()
    ex = PaperExchange(prices=PRICES, positions={"SOL": -100.0}, clock=clock, faults=faults)
    await ex.place_order(OrderRequest(5, "SOL", Side.SELL, OrderType.LIMIT, 0.1, 170.0))
    faults.script("cancel_orders", Fault.SERVER_ERROR)  # the replace's cancel fails
    r = await run(ex, Pool({"SOL": 0.1}), MemoryStateStore(), MemoryAuditSink(), clock,
                  strategy=Scripted(cancel_only))  # fmt: skip
    (act,) = r.symbols["SOL"].actions
    assert act.outcome == "confirmed"  # retried with a confirming read
    assert live(ex) == {}


async def test_unconfirmed_cancel_skips_its_order_and_records_the_intent() -> None:
    clock = Clock()
    faults = FaultInjector()
    ex = PaperExchange(prices=PRICES, positions={"SOL": -100.0}, clock=clock, faults=faults)
    await ex.place_order(OrderRequest(5, "SOL", Side.SELL, OrderType.LIMIT, 0.1, 170.0))
    faults.script("cancel_orders", *[Fault.SERVER_ERROR] * 5)
    faults.script("open_orders", None, *[Fault.SERVER_ERROR] * 5)
    audit = MemoryAuditSink()
    r = await run(ex, Pool({"SOL": 0.1}), MemoryStateStore(), audit, clock,
                  strategy=Scripted(cancel_and_replace))  # fmt: skip
    cancel, place = r.symbols["SOL"].actions
    assert cancel.outcome == "unconfirmed"
    assert place.outcome == "skipped"
    assert live(ex) == {"SOL": [5]}
    results = [e for e in audit.events() if e.kind == A.ORDER_RESULT]
    assert [e.data["sent"] for e in results] == [False]  # the intent has its result


# --- property: never two live orders of ours on one market -----------------------

FAULTS = st.sampled_from([None, *Fault])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=st.dictionaries(
        st.sampled_from(["SOL", "ETH", "BTC"]),
        st.tuples(st.booleans(), st.integers(0, 2)),  # (has an order, new orders)
        min_size=1,
    ),
    cancel_fault=FAULTS,
    place_fault=FAULTS,
    later=st.lists(FAULTS, max_size=6),
)
def test_property_replace_never_leaves_two_live_orders(
    plan: dict[str, tuple[bool, int]],
    cancel_fault: Fault | None,
    place_fault: Fault | None,
    later: list[Fault | None],
) -> None:
    import asyncio

    async def go() -> None:
        faults = FaultInjector()
        ex = venue(faults)
        cid = iter(range(1, 1000))
        await ex.place_orders([ask(next(cid), s) for s, (has, _) in plan.items() if has])
        faults.script("cancel_orders", cancel_fault, *later)
        faults.script("place_orders", place_fault, *later)
        faults.script("get_orders", *later)
        faults.script("open_orders", *later)
        # One new order per market at most (what a strategy asks), cancel where needed.
        requests = [ask(next(cid), s) for s, (_, n) in plan.items() if n]
        cancels = [s for s, (has, n) in plan.items() if has or n == 2]
        await replace_batch(ex, cancels, requests, policy=NO_WAIT)
        assert all(len(v) <= 1 for v in live(ex).values()), live(ex)

    asyncio.run(go())


async def test_replace_outcomes_resolve_through_the_unknown_machinery() -> None:
    faults = FaultInjector()
    ex = venue(faults)
    faults.script("place_orders", Fault.TIMEOUT_AFTER_ACCEPT)
    res = await replace_batch(ex, ["SOL"], [ask(3, "SOL")], policy=NO_WAIT)
    assert res.held == {"SOL"}  # the whole call failed: the cancel is not known to have run
    (r,) = res.orders
    assert r.outcome is SubmitOutcome.ACCEPTED  # looked up, never re-sent
    assert ex.calls["place_orders"] == 0
    assert live(ex) == {"SOL": [3]}


def _exchange_port(x: Exchange) -> Exchange:
    return x


def test_paper_and_wrappers_are_exchanges() -> None:
    ex = venue()
    for x in (ex, NotionalGuardExchange(ex, max_order=1.0, max_window=2.0)):
        assert isinstance(_exchange_port(x), Exchange)
