"""``Hedger``: the safe way to run hedge cycles, for bots and the CLI alike.

::

    async with xlp.Hedger(config, exchange, pools) as hedger:  # reconciles
        await hedger.run_forever(stop=stop_event)

What it guarantees, so a caller cannot forget it:

* the exchange is wrapped in the full safety stack
  (:func:`xlp_core.safety.wrap_exchange`: notional guard → circuit breaker →
  price cache → rate limit). The only way around it is the loudly named
  ``unsafe_unwrapped_exchange_for_tests=True``, which logs a WARNING;
* start-up reconciliation (with bounded retries) runs on entry, before any
  cycle; a cycle before entry, a second entry or two cycles at once raise
  :class:`~xlp_core.errors.LifecycleError`;
* every cycle, whatever drives it, first resets the guard's per-cycle
  notional budget and re-arms the venue's dead-man switch;
* notices (alerts, unknown order outcomes, breaker trips, reconciliation
  surprises, start and stop) go to the optional :class:`~xlp_core.ports.Notifier`
  under a short timeout: a notifier that raises or hangs never delays or
  breaks a cycle.

The lower layer stays public: :func:`~xlp_core.cycle.run_hedge_cycle` runs
one cycle on whatever exchange it is given; a caller using it directly must
reconcile, wrap the exchange and call ``begin_cycle()`` on the guard itself.

Default store and audit: when none is given, ``Hedger`` opens the SQLite
state store at ``config.state_path`` and the SQLite audit log at
``config.audit_path`` from :mod:`xlp_adapters` (shipped in the same wheel;
imported only then, so ``xlp_core`` has no import-time dependency on the
adapters), and closes them on exit. Whatever the caller passed in (exchange,
pools, store, audit, journal, notifier) the caller closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Literal, cast

import attrs

from xlp_core.config import HedgeConfig
from xlp_core.cycle import CycleReport, DecisionClock, run_hedge_cycle
from xlp_core.decision import ActionKind
from xlp_core.errors import ConfigError, ExchangeError, LifecycleError, XlpError
from xlp_core.execution import RetryPolicy
from xlp_core.ports import AuditSink, Exchange, Journal, Notice, Notifier, PoolSource, StateStore
from xlp_core.reconcile import STARTUP_RETRIES, ReconcileReport, reconcile
from xlp_core.safety import CircuitBreakerExchange, NotionalGuardExchange, wrap_exchange
from xlp_core.safety.breaker import Circuit
from xlp_core.strategy import Strategy

log = logging.getLogger("xlp_core.hedger")

NOTIFY_TIMEOUT_S = 0.5
"""Longest a notice may hold up a cycle; a queued notifier answers at once."""

OnCycle = Callable[[CycleReport], None]
Phase = Literal["new", "entering", "running", "closed"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@attrs.frozen
class LoopResult:
    """How :meth:`Hedger.run_forever` ended."""

    cycles: int
    reconcile: ReconcileReport
    last: CycleReport | None
    stopped_by: str  # "max_cycles" | "signal"


class Hedger:
    """One hedger: reconcile on entry, then safe cycles (see the module docstring).

    ``exchange`` is the raw venue adapter; an exchange already wrapped by
    :func:`~xlp_core.safety.wrap_exchange` (a ``NotionalGuardExchange``) is
    used as it is. Give either ``journal`` (state and audit in one place) or
    ``store`` and ``audit`` together, or none of them for the SQLite default.
    ``before_cycle`` runs before each cycle (e.g. feeding a paper exchange
    live prices); its ``ExchangeError`` is logged and the cycle still runs.
    ``on_cycle`` callbacks hear each report; their errors propagate (a
    callback that persists something must be able to stop the hedger).
    """

    def __init__(
        self,
        config: HedgeConfig,
        exchange: Exchange,
        pools: Sequence[PoolSource],
        *,
        store: StateStore | None = None,
        audit: AuditSink | None = None,
        journal: Journal | None = None,
        strategy: Strategy | None = None,
        clock: Callable[[], datetime] = utc_now,
        notifier: Notifier | None = None,
        on_cycle: Sequence[OnCycle] = (),
        before_cycle: Callable[[], Awaitable[None]] | None = None,
        policy: RetryPolicy | None = None,
        startup_retry: RetryPolicy | None = None,
        rebuild_state: bool = False,
        secrets: Sequence[str] = (),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        timebase: DecisionClock | None = None,
        on_rate_wait: Callable[[float], None] | None = None,
        on_breaker_change: Callable[[str], None] | None = None,
        unsafe_unwrapped_exchange_for_tests: bool = False,
    ) -> None:
        if journal is not None and (store is not None or audit is not None):
            raise ConfigError("journal", "give a journal, or a store and an audit sink, not both")
        if (store is None) != (audit is None):
            raise ConfigError("store", "give a store and an audit sink together (or neither)")
        self.config = config
        self.pools = tuple(pools)
        self._store: StateStore | None = journal if journal is not None else store
        self._audit: AuditSink | None = journal if journal is not None else audit
        self._owned: list[StateStore | AuditSink] = []
        self._strategy = strategy
        self._clock = clock
        self._notifier = notifier
        self._on_cycle = tuple(on_cycle)
        self._before_cycle = before_cycle
        self._policy = policy
        self._startup_retry = startup_retry
        self._rebuild = rebuild_state
        self._secrets = (*secrets, *config.notify_urls)
        self._sleep = sleep
        self._monotonic = monotonic
        self._timebase = timebase
        self._guard: NotionalGuardExchange | None
        if unsafe_unwrapped_exchange_for_tests:
            log.warning(
                "UNSAFE: %s runs WITHOUT the safety stack (no notional guard, breaker, "
                "price cache or rate limit); this opt-out is for tests only",
                exchange.name,
            )
            self._guard, self.exchange = None, exchange
        else:
            if not isinstance(exchange, NotionalGuardExchange):
                exchange = wrap_exchange(
                    exchange, config, clock=monotonic, sleep=sleep,
                    on_wait=on_rate_wait, on_state_change=on_breaker_change,
                )  # fmt: skip
            self._guard = exchange
            self.exchange = exchange
        inner = self._guard.inner if self._guard is not None else None
        self._breaker = inner if isinstance(inner, CircuitBreakerExchange) else None
        self._phase: Phase = "new"
        self._io: tuple[StateStore, AuditSink] | None = None  # set on entry
        self._busy = False
        self._stray: set[asyncio.Task[None]] = set()
        self.reconciled: ReconcileReport | None = None
        self.cycles = 0
        self.last_report: CycleReport | None = None

    # --- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> Hedger:
        if self._phase != "new":
            raise LifecycleError(f"a Hedger is entered once (it is {self._phase}); make a new one")
        self._phase = "entering"
        try:
            store, audit = self._io = self._open_defaults()
            await self._notify("start", f"hedger starting on {self.exchange.name}", "info")
            rec = await reconcile(
                exchange=self.exchange, store=store, audit=audit, config=self.config,
                clock=self._clock, rebuild=self._rebuild, policy=self._policy,
                sleep=self._sleep, retry=self._startup_retry,
            )  # fmt: skip
            self.reconciled = rec
            _log_reconcile(rec)
            if rec.surprises:
                await self._notify("reconcile", _reconcile_message(rec), "warning")
            await self._arm_dead_man_switch()
        except BaseException:
            self._phase = "closed"
            self._close_owned()
            raise
        self._phase = "running"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._phase = "closed"
        try:
            how = "after an error" if exc is not None else "cleanly"
            sev = "error" if exc is not None else "info"
            await self._notify("stop", f"hedger stopped {how} after {self.cycles} cycle(s)", sev)
        finally:
            self._close_owned()

    def _open_defaults(self) -> tuple[StateStore, AuditSink]:
        if self._store is not None and self._audit is not None:
            return self._store, self._audit
        # Lazy on purpose: the adapters ship in the same wheel, but xlp_core
        # must import without them. One path for both opens one SQLite journal.
        from xlp_adapters.journal import open_records

        store, audit = open_records(
            self.config.state_path,
            self.config.audit_path,
            secrets=self._secrets,
            idle_fsync=self.config.journal_idle_fsync,
        )
        self._owned.append(store)
        if cast(object, audit) is not store:
            self._owned.append(audit)
        self._store, self._audit = store, audit
        return store, audit

    def _close_owned(self) -> None:
        while self._owned:
            self._owned.pop().close()

    # --- cycles ------------------------------------------------------------------

    async def run_cycle(self) -> CycleReport:
        """One cycle: reset the budget, re-arm the dead-man switch, hedge, notify."""
        if self._phase != "running" or self._io is None:
            raise LifecycleError(
                f"run_cycle needs an entered Hedger (use 'async with'); it is {self._phase}"
            )
        if self._busy:
            raise LifecycleError("a cycle is already running on this Hedger")
        store, audit = self._io
        self._busy = True
        try:
            arming = await self._prepare_cycle()
            circuit = self._circuit()
            try:
                report = await run_hedge_cycle(
                    exchange=self.exchange, pools=self.pools, store=store, audit=audit,
                    config=self.config, clock=self._clock, strategy=self._strategy,
                    policy=self._policy, sleep=self._sleep, monotonic=self._monotonic,
                    timebase=self._timebase,
                )  # fmt: skip
            except XlpError as exc:
                await self._notify("cycle_failed", f"cycle aborted: {exc}", "error")
                raise
            finally:
                await arming  # the switch is re-armed (or its failure logged) every cycle
            self.cycles += 1
            self.last_report = report
            await self._notify_cycle(report, circuit)
        finally:
            self._busy = False
        for callback in self._on_cycle:
            callback(report)
        return report

    async def _prepare_cycle(self) -> asyncio.Task[None]:
        """What every cycle needs first, whoever drives it.

        The dead-man switch is re-armed in the background, alongside the
        cycle's reads rather than one round trip before them: the caller
        awaits the returned task once the cycle is over (it never raises).
        """
        if self._guard is not None:
            self._guard.begin_cycle()  # a fresh per-cycle notional budget
        arming = asyncio.create_task(self._arm_dead_man_switch())
        try:
            if self._before_cycle is not None:
                try:
                    await self._before_cycle()
                except ExchangeError as exc:
                    log.warning("before_cycle failed: %s", exc)
        except BaseException:
            await arming  # never left running unowned
            raise
        return arming

    async def run_forever(
        self, *, stop: asyncio.Event | None = None, max_cycles: int | None = None
    ) -> LoopResult:
        """Cycles on a fixed-rate grid (start + k × interval) until ``stop`` or ``max_cycles``.

        A stop request is honoured between cycles: a cycle in flight always
        finishes, so no order is left half-recorded. Ticks already missed are
        skipped rather than run back to back.
        """
        if max_cycles is not None and max_cycles < 1:
            raise ConfigError("max_cycles", f"must be >= 1, got {max_cycles}")
        if self.reconciled is None:
            raise LifecycleError("run_forever needs an entered Hedger (use 'async with')")
        stop = stop or asyncio.Event()
        interval = self.config.check_interval_seconds
        start = self._monotonic()
        ran = 0
        while not stop.is_set():
            await self.run_cycle()
            ran += 1
            if max_cycles is not None and ran >= max_cycles:
                return LoopResult(ran, self.reconciled, self.last_report, "max_cycles")
            wait = interval - ((self._monotonic() - start) % interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
        return LoopResult(ran, self.reconciled, self.last_report, "signal")

    # --- safety hooks ------------------------------------------------------------

    async def _arm_dead_man_switch(self) -> None:
        seconds = self.config.dead_man_switch_seconds
        if seconds <= 0:
            return
        at = self._clock() + timedelta(seconds=seconds)
        try:
            armed = await self.exchange.arm_dead_man_switch(at)
        except STARTUP_RETRIES as exc:
            log.warning("dead-man switch not re-armed: %s: %s", type(exc).__name__, exc)
            return
        except Exception as exc:  # a venue bug must not stop hedging: say so loudly
            log.error("dead-man switch not re-armed: %s: %s", type(exc).__name__, exc)
            return
        if armed:
            log.debug("dead-man switch armed for %s", at.isoformat())

    def _circuit(self) -> Circuit | None:
        return self._breaker.state.circuit if self._breaker is not None else None

    # --- notices -----------------------------------------------------------------

    async def _notify_cycle(self, report: CycleReport, circuit_before: Circuit | None) -> None:
        at = self._clock()
        circuit = self._circuit()
        if circuit is Circuit.OPEN and circuit_before is not Circuit.OPEN:
            await self._send(
                Notice("breaker", f"circuit breaker open on {self.exchange.name}", at,
                       severity="error", data={"cycle": report.cycle}),
            )  # fmt: skip
        for symbol, r in report.symbols.items():
            for a in r.actions:
                if a.action.kind is ActionKind.ALERT and a.outcome == "sent":
                    data = {"cycle": report.cycle, "offset_usd": r.offset_usd}
                    await self._send(Notice("alert", f"{symbol}: {a.action.reason}", at,
                                            symbol=symbol, data=data))  # fmt: skip
                elif a.outcome == "unknown":
                    msg = f"{symbol}: order {a.client_order_id} outcome unknown ({a.error})"
                    data = {"cycle": report.cycle, "client_order_id": a.client_order_id}
                    await self._send(Notice("order_unknown", msg, at, symbol=symbol, data=data))

    async def _notify(self, kind: str, message: str, severity: str) -> None:
        await self._send(Notice(kind, message, self._clock(), severity=severity))

    async def _send(self, notice: Notice) -> None:
        """Deliver within :data:`NOTIFY_TIMEOUT_S` or drop it; never raise."""
        if self._notifier is None:
            return
        task = asyncio.ensure_future(self._notifier.notify(notice))
        done, _ = await asyncio.wait({task}, timeout=NOTIFY_TIMEOUT_S)
        if not done:
            task.cancel()  # not awaited: a notifier deaf to cancellation must not hang us
            self._stray.add(task)
            task.add_done_callback(self._reap)
            log.warning("notifier did not answer within %.1f s; %s notice dropped",
                        NOTIFY_TIMEOUT_S, notice.kind)  # fmt: skip
        elif not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("notifier failed on a %s notice: %s", notice.kind, type(exc).__name__)

    def _reap(self, task: asyncio.Task[None]) -> None:
        self._stray.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not complain


def _log_reconcile(rec: ReconcileReport) -> None:
    log.info(
        "reconciled (attempts=%d): adopted=%s cancelled=%s forgotten=%s foreign=%d rebuilt=%s",
        rec.attempts, dict(rec.adopted), dict(rec.cancelled), dict(rec.forgotten),
        sum(len(v) for v in rec.foreign.values()), rec.rebuilt,
    )  # fmt: skip
    if rec.unconfirmed:
        log.warning("reconcile: cancels not confirmed on %s", ", ".join(rec.unconfirmed))


def _reconcile_message(rec: ReconcileReport) -> str:
    parts = []
    if rec.cancelled:
        parts.append(f"cancelled stray orders on {', '.join(sorted(rec.cancelled))}")
    if rec.forgotten:
        parts.append(f"orders gone while down on {', '.join(sorted(rec.forgotten))}")
    if rec.unconfirmed:
        parts.append(f"cancels NOT confirmed on {', '.join(rec.unconfirmed)}")
    return "reconciliation: " + "; ".join(parts)
