"""submit_order / cancel_symbol_orders against a tiny scripted venue."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

import attrs
import pytest

from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.errors import (
    AuditError,
    DuplicateOrderError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitedError,
    TransientExchangeError,
)
from xlp_core.execution import (
    RetryPolicy,
    SubmitOutcome,
    SubmitResult,
    cancel_symbol_orders,
    intent_event,
    place_batch,
    submit_order,
)
from xlp_core.models import MarketRules, Order, OrderRequest, OrderStatus, OrderType, Side
from xlp_core.ports import ExchangeDefaults, PlaceOutcome

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = RetryPolicy(attempts=3, initial_delay=0.5, max_delay=1.0, jitter=0.0, total_timeout=5.0)


class ListAudit:
    def __init__(self) -> None:
        self.items: list[AuditEvent] = []
        self.fail = False

    def append(self, event: AuditEvent) -> None:
        if self.fail:
            raise OSError("disk full")
        self.items.append(event)

    def append_many(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            self.append(event)

    def events(self) -> Iterator[AuditEvent]:
        return iter(list(self.items))

    def close(self) -> None:
        pass


class Venue(ExchangeDefaults):
    """Scripted: each entry of ``script`` is applied to the next place_order."""

    name = "scripted"

    def __init__(self, audit: ListAudit, script: Sequence[str] = ()) -> None:
        self.audit = audit
        self.script = list(script)
        self.orders: dict[int, Order] = {}
        self.sends = 0
        self.cancel_works = True

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        return {}

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return {}

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return {}

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return [o for o in self.orders.values() if o.is_open and o.symbol in symbols]

    async def place_order(self, request: OrderRequest) -> Order:
        # Write-ahead: the intent must already be durable.
        assert any(
            e.kind == A.ORDER_INTENT and e.data["client_order_id"] == request.client_order_id
            for e in self.audit.items
        )
        self.sends += 1
        step = self.script.pop(0) if self.script else "ok"
        if step == "429":
            raise RateLimitedError(retry_after=0.1)
        if step == "reject":
            raise OrderRejectedError("too small")
        if step == "before":
            raise TransientExchangeError("connection refused")
        if request.client_order_id in self.orders:
            raise DuplicateOrderError("duplicate", request.client_order_id)
        order = Order(
            request.client_order_id, request.symbol, request.side, request.order_type,
            request.size, request.price, OrderStatus.OPEN,
        )  # fmt: skip
        self.orders[request.client_order_id] = order
        if step in ("after", "dropped"):
            raise OrderOutcomeUnknownError("timed out", request.client_order_id)
        return order

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return self.orders.get(client_order_id)

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return False

    async def cancel_all_orders(self, symbol: str) -> int:
        if not self.cancel_works:
            raise TransientExchangeError("503")
        n = 0
        for cid, o in list(self.orders.items()):
            if o.symbol == symbol and o.is_open:
                self.orders[cid] = Order(
                    o.client_order_id, o.symbol, o.side, o.order_type, o.size, o.price,
                    OrderStatus.CANCELLED,
                )  # fmt: skip
                n += 1
        return n

    async def close(self) -> None:
        pass


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, dt: float) -> None:
        self.sleeps.append(dt)
        self.t += dt


REQ = OrderRequest(42, "SOL", Side.SELL, OrderType.LIMIT, 1.0, 100.0)


async def submit(venue: Venue, audit: ListAudit, ft: FakeTime) -> SubmitResult:
    return await submit_order(
        venue, audit, REQ, cycle=1, now=lambda: T0, policy=POLICY,
        sleep=ft.sleep, monotonic=ft.monotonic,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("script", "outcome", "sends", "placed"),
    [
        ([], SubmitOutcome.ACCEPTED, 1, 1),
        (["after"], SubmitOutcome.ACCEPTED, 1, 1),
        (["dropped"], SubmitOutcome.ACCEPTED, 1, 1),
        (["429", "429"], SubmitOutcome.ACCEPTED, 3, 1),
        (["429", "429", "429"], SubmitOutcome.REJECTED, 3, 0),
        (["reject"], SubmitOutcome.REJECTED, 1, 0),
        (["before"], SubmitOutcome.UNKNOWN, 1, 0),
    ],
)
async def test_outcomes(script: list[str], outcome: SubmitOutcome, sends: int, placed: int) -> None:
    audit, ft = ListAudit(), FakeTime()
    venue = Venue(audit, script)
    result = await submit(venue, audit, ft)
    assert result.outcome is outcome
    assert venue.sends == sends
    assert len(venue.orders) == placed
    kinds = [e.kind for e in audit.items]
    assert kinds == [A.ORDER_INTENT, A.ORDER_RESULT]
    assert audit.items[1].data["outcome"] == str(outcome)


async def test_unknown_respects_bounds() -> None:
    audit, ft = ListAudit(), FakeTime()
    await submit(Venue(audit, ["before"]), audit, ft)
    assert len(ft.sleeps) == POLICY.attempts - 1
    assert ft.t <= POLICY.total_timeout


async def test_resend_same_id_when_absent_is_opt_in() -> None:
    audit, ft = ListAudit(), FakeTime()
    venue = Venue(audit, ["before"])
    policy = RetryPolicy(attempts=2, initial_delay=0, jitter=0, resend_same_id_when_absent=True)
    result = await submit_order(
        venue, audit, REQ, cycle=1, now=lambda: T0, policy=policy,
        sleep=ft.sleep, monotonic=ft.monotonic,
    )  # fmt: skip
    assert result.outcome is SubmitOutcome.ACCEPTED
    assert list(venue.orders) == [42]


async def test_duplicate_is_looked_up_not_doubled() -> None:
    audit, ft = ListAudit(), FakeTime()
    venue = Venue(audit)
    await submit(venue, audit, ft)
    again = await submit(venue, audit, ft)
    assert again.outcome is SubmitOutcome.ACCEPTED
    assert len(venue.orders) == 1


async def test_audit_failure_sends_nothing() -> None:
    audit, ft = ListAudit(), FakeTime()
    audit.fail = True
    venue = Venue(audit)
    with pytest.raises(AuditError):
        await submit(venue, audit, ft)
    assert venue.sends == 0


async def test_cancel_confirmed_and_unconfirmed() -> None:
    audit, ft = ListAudit(), FakeTime()
    venue = Venue(audit)
    await submit(venue, audit, ft)
    res = await cancel_symbol_orders(
        venue, audit, "SOL", cycle=1, now=lambda: T0, policy=POLICY,
        sleep=ft.sleep, monotonic=ft.monotonic,
    )  # fmt: skip
    assert res.confirmed
    assert res.cancelled == 1
    venue.orders[7] = Order(7, "SOL", Side.BUY, OrderType.LIMIT, 1, 99.0, OrderStatus.OPEN)
    venue.cancel_works = False
    res = await cancel_symbol_orders(
        venue, audit, "SOL", cycle=1, now=lambda: T0, policy=POLICY,
        sleep=ft.sleep, monotonic=ft.monotonic,
    )  # fmt: skip
    assert not res.confirmed
    assert res.error is not None
    assert audit.items[-1].kind == A.CANCEL_RESULT
    assert audit.items[-1].data["confirmed"] is False


class CountingVenue(Venue):
    def __init__(self, audit: ListAudit, script: Sequence[str] = ()) -> None:
        super().__init__(audit, script)
        self.batches: list[list[int]] = []
        self.lookups = 0

    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        self.batches.append([r.client_order_id for r in requests])
        return await super().place_orders(requests)

    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        self.lookups += 1
        return await super().get_orders(keys)


async def test_batch_rounds_retry_429_with_same_id_and_look_up_ambiguous() -> None:
    audit, ft = ListAudit(), FakeTime()
    reqs = [attrs.evolve(REQ, client_order_id=cid) for cid in (1, 2, 3)]
    audit.append_many([intent_event(r, cycle=1, at=T0) for r in reqs])
    venue = CountingVenue(audit, ["429", "after", "reject"])
    results = await place_batch(venue, reqs, policy=POLICY, sleep=ft.sleep, monotonic=ft.monotonic)
    assert [r.outcome for r in results] == [
        SubmitOutcome.ACCEPTED, SubmitOutcome.ACCEPTED, SubmitOutcome.REJECTED,
    ]  # fmt: skip
    assert venue.batches == [[1, 2, 3], [1]]  # one call per round; the retry keeps its id
    assert venue.lookups == 1
    assert [r.attempts for r in results] == [2, 1, 1]
