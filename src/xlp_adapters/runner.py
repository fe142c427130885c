"""The live loop, kept for callers of ``run_loop``: it is now a thin :class:`Hedger`.

There is one loop (:meth:`xlp_core.hedger.Hedger.run_forever`): reconcile
once, then one hedge cycle per interval on a fixed-rate grid until stopped,
with the safety stack applied and the per-cycle budget reset inside every
cycle. A stop request (SIGINT / SIGTERM) is honoured between cycles.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from xlp_core.config import HedgeConfig
from xlp_core.cycle import CycleReport
from xlp_core.hedger import Hedger, LoopResult
from xlp_core.ports import AuditSink, Exchange, PoolSource, StateStore
from xlp_core.strategy import Strategy

__all__ = ["LoopResult", "install_stop_signals", "run_loop"]


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
    """Run until ``stop`` is set or ``max_cycles`` cycles ran (see :class:`Hedger`).

    ``exchange`` may be raw or already wrapped by ``wrap_exchange``; either
    way every cycle runs behind the safety stack. Exchange trouble is part of
    each cycle's report; only failures of our own durable records (audit,
    state) escape.
    """
    hedger = Hedger(
        config, exchange, pools, store=store, audit=audit, strategy=strategy, clock=clock,
        on_cycle=(on_cycle,) if on_cycle is not None else (), before_cycle=before_cycle,
        rebuild_state=rebuild_state, sleep=sleep, monotonic=monotonic,
    )  # fmt: skip
    async with hedger:
        return await hedger.run_forever(stop=stop, max_cycles=max_cycles)
