"""A pool source with a fixed composition: tests, paper runs, pools without a reader."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime

from typing_extensions import override

from xlp_core.errors import InvalidInputError
from xlp_core.hedge import normalise_symbol
from xlp_core.models import PoolSnapshot
from xlp_core.ports import PoolSource


class StaticPoolSource(PoolSource):
    def __init__(
        self,
        pool: str,
        per_token: Mapping[str, float],
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not pool:
            raise InvalidInputError("pool name must not be empty")
        clean: dict[str, float] = {}
        for symbol, value in per_token.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(f"{pool}.{symbol}: not a number: {value!r}")
            if not math.isfinite(value) or value < 0:
                raise InvalidInputError(f"{pool}.{symbol}: must be finite and >= 0, got {value}")
            clean[normalise_symbol(symbol)] = clean.get(normalise_symbol(symbol), 0.0) + value
        self._pool = pool
        self._per_token = clean
        self._clock = clock

    def __repr__(self) -> str:
        return f"StaticPoolSource({self._pool!r}, {self._per_token!r})"

    @property
    @override
    def name(self) -> str:
        return self._pool

    @override
    async def fetch(self) -> PoolSnapshot:
        at = self._clock() if self._clock is not None else None
        return PoolSnapshot(self._pool, dict(self._per_token), observed_at=at)

    async def close(self) -> None:
        return None
