"""The live loop: reconcile once, then one hedge cycle per interval until stopped.

Cycles are scheduled at a fixed rate (start + k * interval), so the period
does not drift by the cycle's own duration, and a stop request (SIGINT /
SIGTERM) is honoured between cycles: a cycle in flight always finishes, so
no order is left half-recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import attrs

from xlp_core.config import HedgeConfig
from xlp_core.cycle import CycleReport, run_hedge_cycle
from xlp_core.errors import ExchangeError
from xlp_core.ports import AuditSink, Exchange, PoolSource, StateStore
from xlp_core.reconcile import ReconcileReport, reconcile
from xlp_core.strategy import Strategy

log = logging.getLogger("xlp.runner")


@attrs.frozen
class LoopResult:
    cycles: int
    reconcile: ReconcileReport
    last: CycleReport | None
    stopped_by: str


def install_stop_signals(stop: asyncio.Event) -> Callable[[], None]:
    """SIGINT/SIGTERM set ``stop``; returns a function that removes the handlers."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)

    def remove() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return remove


async def run_loop(
    *,
    exchange: Exchange,
    pools: Sequence[PoolSource],
    store: StateStore,
    audit: AuditSink,
    config: HedgeConfig,
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    strategy: Strategy | None = None,
    max_cycles: int | None = None,
    rebuild_state: bool = False,
    on_cycle: Callable[[CycleReport], None] | None = None,
    before_cycle: Callable[[], Awaitable[None]] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> LoopResult:
    """Run until ``stop`` is set or ``max_cycles`` cycles ran.

    Exchange trouble is part of each cycle's report; only failures of our own
    durable records (audit, state) escape, because trading on without them
    would break the write-ahead guarantee. ``before_cycle`` errors that are
    :class:`~xlp_core.errors.ExchangeError` are logged and the cycle still
    runs (on the last known prices, for a price feed).
    """
    rec = await reconcile(
        exchange=exchange, store=store, audit=audit, config=config, clock=clock,
        rebuild=rebuild_state,
    )  # fmt: skip
    log.info(
        "reconciled: adopted=%s cancelled=%s rebuilt=%s",
        dict(rec.adopted), dict(rec.cancelled), rec.rebuilt,
    )  # fmt: skip
    cycles = 0
    last: CycleReport | None = None
    start = monotonic()
    interval = config.check_interval_seconds
    while not stop.is_set():
        begin = getattr(exchange, "begin_cycle", None)
        if callable(begin):
            begin()  # resets a NotionalGuardExchange's per-cycle budget
        if before_cycle is not None:
            try:
                await before_cycle()  # e.g. feed live prices to a paper exchange
            except ExchangeError as exc:
                log.warning("before_cycle failed: %s", exc)
        last = await run_hedge_cycle(
            exchange=exchange, pools=pools, store=store, audit=audit, config=config,
            clock=clock, strategy=strategy, sleep=sleep, monotonic=monotonic,
        )  # fmt: skip
        cycles += 1
        if on_cycle is not None:
            on_cycle(last)
        if max_cycles is not None and cycles >= max_cycles:
            return LoopResult(cycles, rec, last, "max_cycles")
        # Next tick on the fixed grid; skip ticks we already missed.
        elapsed = monotonic() - start
        wait = interval - (elapsed % interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)
    return LoopResult(cycles, rec, last, "signal")
