"""``Hedger`` on the Lighter path: the dead-man switch is re-armed alongside the
cycle's reads (not one round trip before them), and failures are only logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.pools import StaticPoolSource
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.execution import NO_WAIT
from xlp_core.hedger import Hedger

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class ArmsDuringReads(PaperExchange):
    """Re-arming waits until the cycle's position read has started: a Hedger that
    armed first and read after would never get there."""

    started: asyncio.Event
    armed: list[datetime | None]
    fail = False

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        self.started.set()
        return await super().positions(symbols)

    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        if self.armed:  # on entry there is no cycle to wait for
            await asyncio.wait_for(self.started.wait(), 5.0)
        self.armed.append(at)
        if self.fail:
            raise RuntimeError("venue bug")
        return True


def rig() -> tuple[HedgeConfig, ArmsDuringReads, list[StaticPoolSource], Clock]:
    clock = Clock()
    config = HedgeConfig.from_mapping(
        {"pools": {"JLP": 1000.0}, "symbols": ["SOL"], "dead_man_switch_seconds": 600.0}
    )
    venue = ArmsDuringReads(prices={"SOL": 100.0}, positions={"SOL": -120.0}, clock=clock)
    venue.started, venue.armed = asyncio.Event(), []
    return config, venue, [StaticPoolSource("JLP", {"SOL": 0.12})], clock


async def test_switch_is_rearmed_alongside_the_reads_every_cycle() -> None:
    config, venue, pools, clock = rig()
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(), clock=clock,
        policy=NO_WAIT,
    ) as hedger:  # fmt: skip
        for _ in range(2):
            venue.started.clear()
            report = await hedger.run_cycle()
            assert report.ok
    assert len(venue.armed) == 3  # entry + each cycle, awaited before run_cycle returns
    assert all(at is not None and at > T0 + timedelta(seconds=599) for at in venue.armed)


async def test_a_failed_rearm_is_logged_and_the_cycle_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, venue, pools, clock = rig()
    async with Hedger(
        config, venue, pools, store=MemoryStateStore(), audit=MemoryAuditSink(), clock=clock,
        policy=NO_WAIT,
    ) as hedger:  # fmt: skip
        venue.fail = True
        venue.started.clear()
        with caplog.at_level(logging.WARNING, logger="xlp_core"):
            report = await hedger.run_cycle()
    assert report.ok
    assert any("dead-man switch not re-armed" in r.getMessage() for r in caplog.records)
