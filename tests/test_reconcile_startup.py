"""Start-up reconciliation: every market, our namespace only, bounded retries."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from test_hedger import Clock, flaky
from xlp_adapters.audit import MemoryAuditSink, SqliteAuditSink
from xlp_adapters.stores import MemoryStateStore
from xlp_core import audit as A
from xlp_core.audit import AuditEvent, OrderIndexedLog, order_events
from xlp_core.config import HedgeConfig
from xlp_core.cycle import fresh_state
from xlp_core.errors import StartupError
from xlp_core.execution import NO_WAIT
from xlp_core.ids import order_id, serial_floor
from xlp_core.models import OrderRequest, OrderType, Side
from xlp_core.reconcile import (
    CycleIndexedLog,
    last_audit_cycle,
    reconcile,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = HedgeConfig.from_mapping({"pools": {"JLP": 1000.0}, "namespace": "bot-a"})


def limit(cid: int, symbol: str) -> OrderRequest:
    return OrderRequest(cid, symbol, Side.SELL, OrderType.LIMIT, 1.0, 200.0)


async def no_sleep(delays: list[float], seconds: float) -> None:
    delays.append(seconds)


async def test_a_first_cycle_crash_on_an_unconfigured_symbol_is_found_and_cancelled() -> None:
    clock = Clock()
    venue = flaky(clock)
    venue.set_prices({"SOL": 100.0, "ETH": 3000.0})
    ours, theirs = order_id("bot-a", 1), order_id("bot-b", 1)
    await venue.place_order(limit(ours, "SOL"))  # never reached the (empty) state
    await venue.place_order(limit(theirs, "SOL"))  # another bot on the same account
    await venue.place_order(
        OrderRequest(theirs + 1, "ETH", Side.SELL, OrderType.LIMIT, 1.0, 4000.0)
    )
    audit = MemoryAuditSink()
    rec = await reconcile(
        exchange=venue, store=MemoryStateStore(), audit=audit, config=CONFIG, clock=clock,
        policy=NO_WAIT,
    )  # fmt: skip
    assert rec.cancelled == {"SOL": 1}
    assert rec.foreign == {"ETH": (theirs + 1,), "SOL": (theirs,)}
    left = {o.client_order_id for o in venue.all_orders() if o.status.is_open}
    assert left == {theirs, theirs + 1}
    kinds = [e.kind for e in audit.events()]
    assert kinds == [A.CANCEL_INTENT, A.CANCEL_RESULT, A.RECONCILE]


async def test_transient_errors_at_start_up_are_retried(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    venue = flaky(clock)
    venue.open_order_failures = 3
    delays: list[float] = []
    with caplog.at_level(logging.WARNING, logger="xlp_core.reconcile"):
        rec = await reconcile(
            exchange=venue, store=MemoryStateStore(), audit=MemoryAuditSink(), config=CONFIG,
            clock=clock, sleep=lambda s: no_sleep(delays, s),
        )  # fmt: skip
    assert rec.attempts == 4
    assert delays == [0.5, 1.0, 2.0]  # backoff
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 3


async def test_start_up_gives_up_after_the_bound(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    venue = flaky(clock)
    venue.open_order_failures = 100
    store = MemoryStateStore()
    with (
        caplog.at_level(logging.WARNING, logger="xlp_core.reconcile"),
        pytest.raises(StartupError, match=r"after 5 attempt\(s\).*HTTP 500") as err,
    ):
        await reconcile(
            exchange=venue, store=store, audit=MemoryAuditSink(), config=CONFIG, clock=clock,
            sleep=lambda s: no_sleep([], s),
        )  # fmt: skip
    assert "\n" not in str(err.value)
    assert [r.levelname for r in caplog.records][-1] == "ERROR"
    assert store.load() is None  # nothing saved from a half-done start-up


class IndexedLog(MemoryAuditSink):
    def last_cycle(self) -> int:
        return 42

    def events(self) -> Iterator[AuditEvent]:
        raise AssertionError("an indexed log is not scanned")


def test_last_audit_cycle_uses_the_index_when_there_is_one() -> None:
    indexed = IndexedLog()
    assert isinstance(indexed, CycleIndexedLog)
    assert last_audit_cycle(indexed) == 42
    plain = MemoryAuditSink()
    plain.append(AuditEvent(T0, A.CYCLE_END, 7))
    assert not isinstance(plain, CycleIndexedLog)
    assert last_audit_cycle(plain) == 7


def intent(cid: int, symbol: str, side: Side, size: float, price: float | None) -> AuditEvent:
    """A write-ahead record whose result a crash kept out of the log."""
    data: dict[str, object] = {
        "client_order_id": cid,
        "serial": cid & 0x7FFF_FFFF,
        "side": str(side),
        "type": "market" if price is None else "limit",
        "size": size,
        "price": price,
    }
    return AuditEvent(T0, A.ORDER_INTENT, 7, symbol, data)


async def test_start_up_resolves_orders_a_crash_left_unknown() -> None:
    """Intents without a result are looked up by client id; each resolution is audited,
    an open one adopted, and the next serial moves past every serial in the log."""
    clock = Clock()
    venue = flaky(clock)
    venue.set_prices({"SOL": 100.0, "ETH": 3000.0})
    resting, filled, lost = order_id("bot-a", 40), order_id("bot-a", 41), order_id("bot-a", 42)
    await venue.place_order(limit(resting, "SOL"))
    await venue.place_order(OrderRequest(filled, "ETH", Side.SELL, OrderType.MARKET, 0.1, 2900.0))
    audit = MemoryAuditSink()
    audit.append_many(
        [
            intent(resting, "SOL", Side.SELL, 1.0, 200.0),
            intent(filled, "ETH", Side.SELL, 0.1, None),
            intent(lost, "SOL", Side.SELL, 1.0, 201.0),  # never reached the venue
        ]
    )
    rec = await reconcile(
        exchange=venue, store=MemoryStateStore(), audit=audit, config=CONFIG, clock=clock,
        policy=NO_WAIT,
    )  # fmt: skip
    resolved = {
        e.data["client_order_id"]: e.data["resolution"]
        for e in audit.events()
        if e.kind == A.ORDER_RESOLVED
    }
    assert resolved == {resting: "open", filled: "filled"}
    assert rec.adopted == {"SOL": resting}  # adopted, not cancelled as a stray
    assert rec.cancelled == {}
    assert rec.state.next_serial > 42
    assert [p.client_order_id for p in rec.state.unknowns] == [lost]  # looked up again later


class CountingLog(MemoryAuditSink):
    """A plain log that counts how often start-up reads it whole."""

    reads = 0

    def events(self) -> Iterator[AuditEvent]:
        self.reads += 1
        return super().events()


async def test_start_up_reads_the_log_once_for_serials_and_unresolved_intents() -> None:
    clock = Clock()
    venue = flaky(clock)
    venue.set_prices({"SOL": 100.0})
    audit = CountingLog()
    audit.append_many([intent(order_id("bot-a", 77), "SOL", Side.SELL, 1.0, 201.0)])
    store = MemoryStateStore()
    store.save(attrs.evolve(fresh_state(T0), next_serial=1))  # nothing rebuilt from the log
    rec = await reconcile(
        exchange=venue, store=store, audit=audit, config=CONFIG, clock=clock, policy=NO_WAIT
    )
    assert rec.state.next_serial == 78
    assert [p.client_order_id for p in rec.state.unknowns] == [order_id("bot-a", 77)]
    assert audit.reads == 2  # the highest cycle (a plain log has no index), then orders
    assert serial_floor("bot-a", audit.events, id(audit)) == 77
    assert audit.reads == 2  # the first cycle's question is answered without a read


def test_the_sqlite_log_lists_only_order_records(tmp_path: Path) -> None:
    sink = SqliteAuditSink(tmp_path / "audit.sqlite")
    try:
        cid = order_id("bot-a", 5)
        sink.append_many(
            [
                AuditEvent(T0, A.CYCLE_START, 1),
                intent(cid, "SOL", Side.SELL, 1.0, 200.0),
                AuditEvent(T0, A.DECISIONS, 1, None, {"symbols": {}}),
                AuditEvent(T0, A.ORDER_RESULT, 1, "SOL", {"client_order_id": cid}),
                AuditEvent(T0, A.ORDER_RESOLVED, 2, "SOL", {"client_order_id": cid}),
            ]
        )
        assert isinstance(sink, OrderIndexedLog)
        kinds = [e.kind for e in order_events(sink)]
        assert kinds == [A.ORDER_INTENT, A.ORDER_RESULT, A.ORDER_RESOLVED]
        plain = MemoryAuditSink()
        plain.append_many(list(sink.events()))
        assert [e.kind for e in order_events(plain)] == kinds
    finally:
        sink.close()
