"""Prometheus metrics for a running hedger (``xlp run --metrics-port``).

:class:`HedgerMetrics` turns what the hedger already reports (a
:class:`~xlp_core.cycle.CycleReport` per cycle, a reconcile report at start-up,
rate-limiter waits, breaker transitions) into metrics on its own registry, so
several instances (and tests) never collide. Observing never raises: metrics
must not break a cycle. Every name starts with ``xlp_``; see docs/operations.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from xlp_core.cycle import CycleReport
from xlp_core.decision import ActionKind
from xlp_core.errors import ConfigError, MissingExtraError
from xlp_core.reconcile import ReconcileReport

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger("xlp_adapters.metrics")

BREAKER_STATES = ("closed", "open", "half_open")
CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_ORDER_KINDS = {
    ActionKind.PLACE_LIMIT: "limit",
    ActionKind.PLACE_MARKET: "market",
    ActionKind.CANCEL: "cancel",
}
# Where an action's error comes from, by its outcome (see run_hedge_cycle).
_ACTION_STAGES = {
    "refused": "guard",
    "skipped": "execute",
    "unconfirmed": "cancel",
    "rejected": "order",
    "unknown": "order",
}


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise MissingExtraError("metrics", "Prometheus metrics") from None
    return prometheus_client


def error_stage(message: str) -> str:
    """The stage of a cycle-level error line: ``pools`` or ``venue``."""
    return "pools" if message.startswith(("pool ", "pools:")) else "venue"


class HedgerMetrics:
    """The hedger's metrics; ``registry`` defaults to a fresh private one."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        prom = _prometheus()
        self.registry: CollectorRegistry = registry or prom.CollectorRegistry(auto_describe=True)
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        r = self.registry
        self.cycle_duration = prom.Histogram(
            "xlp_cycle_duration_seconds", "Wall time of one hedge cycle.",
            buckets=CYCLE_BUCKETS, registry=r,
        )  # fmt: skip
        self.cycles = prom.Counter(
            "xlp_cycles", "Hedge cycles run, by result (ok / error).", ["result"], registry=r
        )
        self.orders = prom.Counter(
            "xlp_orders",
            "Order actions by kind (limit / market / cancel) and outcome "
            "(accepted, filled, rejected, unknown, refused, skipped; confirmed, unconfirmed).",
            ["kind", "outcome"], registry=r,
        )  # fmt: skip
        self.alerts = prom.Counter(
            "xlp_alerts", "Exposure alerts raised by the decision core.", ["symbol"], registry=r
        )
        self.errors = prom.Counter(
            "xlp_errors",
            "Errors by stage (pools, venue, decide, guard, execute, order, cancel, reconcile).",
            ["stage"], registry=r,
        )  # fmt: skip
        self.offset_usd = prom.Gauge(
            "xlp_offset_usd", "Unhedged exposure in USD (position minus ideal).", ["symbol"],
            registry=r,
        )  # fmt: skip
        self.zone = prom.Gauge(
            "xlp_zone", "Threshold zone of the exposure (-1: above max).", ["symbol"], registry=r
        )
        self.position = prom.Gauge(
            "xlp_position", "Position on the venue (negative: short).", ["symbol"], registry=r
        )
        self.ideal = prom.Gauge(
            "xlp_ideal_position", "Ideal hedge position from the pools.", ["symbol"], registry=r
        )
        self.symbol_ok = prom.Gauge(
            "xlp_symbol_ok", "1 if the symbol was handled in the last cycle, 0 if skipped.",
            ["symbol"], registry=r,
        )  # fmt: skip
        self.breaker = prom.Enum(
            "xlp_breaker_state", "Circuit breaker around the exchange.",
            states=list(BREAKER_STATES), registry=r,
        )  # fmt: skip
        self.rate_wait_seconds = prom.Counter(
            "xlp_rate_limit_wait_seconds", "Seconds spent waiting for the rate limiter.",
            registry=r,
        )  # fmt: skip
        self.rate_waits = prom.Counter(
            "xlp_rate_limit_waits", "Times a request waited for the rate limiter.", registry=r
        )
        self.last_cycle = prom.Gauge(
            "xlp_last_cycle_timestamp_seconds", "Unix time the last cycle ended.", registry=r
        )
        self.last_success = prom.Gauge(
            "xlp_last_success_timestamp_seconds",
            "Unix time the last cycle without errors ended (alert when it gets old).",
            registry=r,
        )
        self.cycle_number = prom.Gauge("xlp_cycle", "Number of the last cycle.", registry=r)
        self.reconciles = prom.Counter(
            "xlp_reconciles", "Start-up reconciliations by result (ok / unconfirmed).",
            ["result"], registry=r,
        )  # fmt: skip
        self.reconciled_orders = prom.Counter(
            "xlp_reconciled_orders",
            "Orders handled by reconciliation (adopted, cancelled, forgotten).",
            ["action"], registry=r,
        )  # fmt: skip
        self.rebuilds = prom.Counter(
            "xlp_state_rebuilds", "Times the state was rebuilt from the audit log.", registry=r
        )

    def observe_cycle(self, report: CycleReport) -> None:
        """Record one cycle's report; never raises."""
        try:
            with self._lock:
                self._observe_cycle(report)
        except Exception as exc:
            log.warning("metrics: cycle report not recorded: %s", type(exc).__name__)

    def _observe_cycle(self, report: CycleReport) -> None:
        now = self._wall_clock()
        self.cycle_duration.observe(max(report.duration_s, 0.0))
        self.cycles.labels("ok" if report.ok else "error").inc()
        self.cycle_number.set(report.cycle)
        self.last_cycle.set(now)
        if report.ok:
            self.last_success.set(now)
        for message in report.errors:
            self.errors.labels(error_stage(message)).inc()
        for symbol, sym in report.symbols.items():
            self.symbol_ok.labels(symbol).set(0 if sym.error else 1)
            if sym.error:
                self.errors.labels("decide").inc()
            for gauge, value in (
                (self.offset_usd, sym.offset_usd),
                (self.zone, sym.zone),
                (self.position, sym.position),
                (self.ideal, sym.ideal),
            ):
                if value is not None:
                    gauge.labels(symbol).set(value)
            for act in sym.actions:
                kind = act.action.kind
                if kind is ActionKind.ALERT:
                    self.alerts.labels(symbol).inc()
                    continue
                self.orders.labels(_ORDER_KINDS.get(kind, str(kind)), act.outcome).inc()
                if stage := _ACTION_STAGES.get(act.outcome):
                    self.errors.labels(stage).inc()

    def observe_reconcile(self, report: ReconcileReport) -> None:
        """Record a start-up reconciliation; never raises."""
        try:
            with self._lock:
                self.reconciles.labels("ok" if report.ok else "unconfirmed").inc()
                for action, orders in (
                    ("adopted", report.adopted),
                    ("cancelled", report.cancelled),
                    ("forgotten", report.forgotten),
                ):
                    if orders:
                        self.reconciled_orders.labels(action).inc(len(orders))
                if report.unconfirmed:
                    self.errors.labels("reconcile").inc(len(report.unconfirmed))
                if report.rebuilt:
                    self.rebuilds.inc()
        except Exception as exc:
            log.warning("metrics: reconciliation not recorded: %s", type(exc).__name__)

    def observe_rate_wait(self, seconds: float) -> None:
        """Record one wait for the rate limiter (ignored unless finite and > 0)."""
        if not seconds > 0 or seconds == float("inf"):
            return
        self.rate_waits.inc()
        self.rate_wait_seconds.inc(seconds)

    def set_breaker_state(self, state: str) -> None:
        """``closed``, ``open`` or ``half_open``; anything else is logged and ignored."""
        value = str(state)
        if value not in BREAKER_STATES:
            log.warning("metrics: unknown breaker state %r ignored", value[:40])
            return
        self.breaker.state(value)

    def serve(self, port: int, host: str = "127.0.0.1") -> MetricsServer:
        """Expose ``/metrics`` over HTTP in a daemon thread (``port=0``: any free port)."""
        return MetricsServer.start(self.registry, port=port, host=host)


@attrs.define
class MetricsServer:
    """A running exposition endpoint; ``close()`` stops it."""

    host: str
    port: int
    _server: Any = attrs.field(repr=False)
    _thread: threading.Thread = attrs.field(repr=False)

    @classmethod
    def start(cls, registry: CollectorRegistry, *, port: int, host: str) -> MetricsServer:
        prom = _prometheus()
        if not 0 <= port <= 65535:
            raise ConfigError("metrics_port", f"{port} is not a TCP port (0-65535)")
        try:
            server, thread = prom.start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise ConfigError("metrics_port", f"cannot listen on {host}:{port}: {why}") from None
        actual = int(server.server_address[1])
        log.info("metrics: serving http://%s:%d/metrics", host, actual)
        return cls(host, actual, server, thread)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()
        server.server_close()
        self._thread.join()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
