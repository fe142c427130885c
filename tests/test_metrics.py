"""Prometheus metrics fed with real cycle reports and scraped over HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import sys
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.metrics import HedgerMetrics
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import CycleReport, run_hedge_cycle
from xlp_core.errors import ConfigError, MissingExtraError, TransientExchangeError
from xlp_core.execution import NO_WAIT
from xlp_core.models import PoolSnapshot
from xlp_core.reconcile import reconcile

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = HedgeConfig.from_mapping(
    {
        "pools": {"JLP": 1000.0},
        "threshold_min_usd": 100.0,
        "threshold_max_usd": 1000.0,
        "threshold_step_usd": 50.0,
        "max_order_notional_usd": 2000.0,
        "max_cycle_notional_usd": 4000.0,
    }
)


class Pool:
    name = "JLP"

    def __init__(self) -> None:
        self.fail = False

    async def fetch(self) -> PoolSnapshot:
        if self.fail:
            raise TransientExchangeError("rpc down")
        return PoolSnapshot("JLP", {"SOL": 0.1})


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    resp = httpx.get(url, timeout=10)
    assert resp.status_code == 200
    out: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def paper_reports() -> list[CycleReport]:
    """An in-zone order, an alert above max, and a cycle whose pool read failed."""
    ex = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -97.0}, clock=lambda: T0)
    store, audit, pool = MemoryStateStore(), MemoryAuditSink(), Pool()

    async def cycle() -> CycleReport:
        return await run_hedge_cycle(
            exchange=ex, pools=[pool], store=store, audit=audit, config=CONFIG,
            clock=lambda: T0, policy=NO_WAIT,
        )  # fmt: skip

    reports = [await cycle()]
    ex.set_position("SOL", -50.0)  # $7,500 unhedged: above max, alert
    reports.append(await cycle())
    pool.fail = True
    reports.append(await cycle())
    return reports


async def test_cycle_reports_are_scraped_over_http() -> None:
    reports = await paper_reports()
    assert [r.ok for r in reports] == [True, True, False]
    assert reports[0].orders_sent == 1
    clock = iter([1000.0, 2000.0, 3000.0])
    metrics = HedgerMetrics(wall_clock=lambda: next(clock))
    for report in reports:
        metrics.observe_cycle(report)
    metrics.set_breaker_state("open")
    metrics.observe_rate_wait(1.5)
    metrics.observe_rate_wait(0.5)
    metrics.observe_rate_wait(float("nan"))  # ignored
    with metrics.serve(0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        got = scrape(server.url)
    assert value(got, "xlp_cycle_duration_seconds_count") == 3
    assert value(got, "xlp_cycles_total", result="ok") == 2
    assert value(got, "xlp_cycles_total", result="error") == 1
    assert value(got, "xlp_orders_total", kind="limit", outcome="accepted") == 1
    assert value(got, "xlp_alerts_total", symbol="SOL") == 1
    assert value(got, "xlp_errors_total", stage="pools") == 1
    assert value(got, "xlp_errors_total", stage="decide") == 1  # SOL skipped: no pool data
    assert value(got, "xlp_symbol_ok", symbol="SOL") == 0
    # The gauges keep the last values that were read (cycle 2).
    assert value(got, "xlp_offset_usd", symbol="SOL") == pytest.approx(7500.0)
    assert value(got, "xlp_zone", symbol="SOL") == -1
    assert value(got, "xlp_position", symbol="SOL") == -50.0
    assert value(got, "xlp_ideal_position", symbol="SOL") == -100.0
    assert value(got, "xlp_breaker_state", xlp_breaker_state="open") == 1
    assert value(got, "xlp_breaker_state", xlp_breaker_state="closed") == 0
    assert value(got, "xlp_rate_limit_waits_total") == 2
    assert value(got, "xlp_rate_limit_wait_seconds_total") == 2.0
    assert value(got, "xlp_last_cycle_timestamp_seconds") == 3000.0
    assert value(got, "xlp_last_success_timestamp_seconds") == 2000.0  # staleness alert
    assert value(got, "xlp_cycle") == 3


async def test_reconcile_outcomes_are_counted() -> None:
    ex = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -97.0}, clock=lambda: T0)
    store, audit = MemoryStateStore(), MemoryAuditSink()
    await run_hedge_cycle(
        exchange=ex, pools=[Pool()], store=store, audit=audit, config=CONFIG,
        clock=lambda: T0, policy=NO_WAIT,
    )  # fmt: skip
    report = await reconcile(
        exchange=ex, store=MemoryStateStore(), audit=audit, config=CONFIG, clock=lambda: T0
    )  # the state is lost: rebuilt from the audit log
    metrics = HedgerMetrics()
    metrics.observe_reconcile(report)
    with metrics.serve(0) as server:
        got = scrape(server.url)
    assert value(got, "xlp_reconciles_total", result="ok") == 1
    assert value(got, "xlp_state_rebuilds_total") == 1
    assert sum(v for (n, _), v in got.items() if n == "xlp_reconciled_orders_total") == len(
        report.adopted
    ) + len(report.cancelled) + len(report.forgotten)


def test_instances_do_not_collide_and_bad_input_never_raises() -> None:
    a, b = HedgerMetrics(), HedgerMetrics()
    a.set_breaker_state("sideways")  # logged, ignored
    b.set_breaker_state("half_open")
    a.observe_rate_wait(-1.0)
    a.observe_cycle(object())  # type: ignore[arg-type]  # logged, not raised
    assert a.registry is not b.registry


def test_port_in_use_is_a_config_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ConfigError, match="metrics_port"):
            HedgerMetrics().serve(port)


def test_missing_prometheus_client_is_a_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(MissingExtraError, match=r"xlp-core\[metrics\]"):
        HedgerMetrics()
