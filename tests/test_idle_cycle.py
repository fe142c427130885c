"""The idle cycle's lean paths change no answer: lazy reports, the memory store's parse."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest

from test_cycle_safety import Pool
from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import SymbolReport, run_hedge_cycle
from xlp_core.errors import StateCorruptError
from xlp_core.execution import NO_WAIT
from xlp_core.models import MarketRules
from xlp_core.state import HedgeState, SymbolState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_reports_are_built_when_read_and_equal_the_eager_ones() -> None:
    rules = {s: MarketRules(s, 0.001, 0.01, min_notional=10.0) for s in ("SOL", "ETH", "BTC")}
    exchange = PaperExchange(
        rules,
        prices={"SOL": 150.0, "ETH": 3000.0},  # BTC has no price: skipped with an error
        positions={"SOL": -100.0, "ETH": -10.0},
        clock=lambda: T0,
    )
    config = HedgeConfig.from_mapping({"pools": {"JLP": 1000.0}, "symbols": ["SOL", "ETH", "BTC"]})
    store, audit = MemoryStateStore(), MemoryAuditSink()
    pool = Pool({"SOL": 0.1, "ETH": 0.0105, "BTC": 0.001})  # ETH: $1,500 off: orders
    report = await run_hedge_cycle(
        exchange=exchange, pools=[pool], store=store, audit=audit, config=config,
        clock=lambda: T0, policy=NO_WAIT,
    )  # fmt: skip
    assert list(report.symbols) == ["BTC", "ETH", "SOL"]
    assert len(report.symbols) == 3
    btc, eth, sol = (report.symbols[s] for s in ("BTC", "ETH", "SOL"))
    assert btc.error is not None
    assert btc.reason == "skipped"
    assert eth.actions
    assert report.orders_sent == sum(
        1 for a in eth.actions if a.client_order_id and a.outcome not in ("refused", "skipped")
    )
    assert sol == SymbolReport(
        "SOL", ideal=-100.0, position=-100.0, price=150.0, offset=0.0, cost_basis=0.0,
        offset_usd=0.0, zone=None, reason="within threshold",
    )  # fmt: skip
    assert report.symbols["SOL"] is sol  # built once
    assert dict(report.symbols) == report.symbols
    assert "SOL" in repr(report.symbols)
    again = pickle.loads(pickle.dumps(report))
    assert again == report
    with pytest.raises(KeyError):
        report.symbols["XRP"]


def test_memory_store_load_is_a_fresh_copy_parsed_once_per_text() -> None:
    store = MemoryStateStore()
    state = HedgeState(cycle=2, symbols={"SOL": SymbolState(offset=1.0)}, updated_at=T0)
    store.save(state)
    first = store.load()
    assert first == state
    assert first is not None
    first.symbols["X"] = SymbolState()  # type: ignore[index]  # the caller's own dict
    second = store.load()
    assert second == state
    assert second is not None
    assert second.symbols is not first.symbols
    store.put_raw('{"version": 7}')  # new text: parsed again (and refused)
    with pytest.raises(StateCorruptError, match="version 7"):
        store.load()
    later = HedgeState(cycle=3, updated_at=T0 + timedelta(minutes=1))
    store.save(later)
    assert store.load() == later
