"""A pool source replaying a composition time series (backtests, replays).

The series is any object with ``at(t) -> Mapping[str, float]`` (the composition
in force at ``t``), such as :class:`xlp_adapters.backtest.data.PoolPath`
loaded from a ``pools.csv`` of ``timestamp,pool,symbol,per_token`` rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from typing_extensions import override

from xlp_core.models import PoolSnapshot
from xlp_core.ports import PoolSource


class CompositionPath(Protocol):
    def at(self, t: datetime) -> Mapping[str, float]: ...


class SeriesPoolSource(PoolSource):
    def __init__(self, series: CompositionPath, pool: str, clock: Callable[[], datetime]) -> None:
        self._series = series
        self._pool = pool
        self._clock = clock

    @property
    @override
    def name(self) -> str:
        return self._pool

    @override
    async def fetch(self) -> PoolSnapshot:
        now = self._clock()
        return PoolSnapshot(self._pool, dict(self._series.at(now)), observed_at=now)

    async def close(self) -> None:
        return None
