"""Where a paper ``xlp run`` gets its prices: fixed, replayed from a data set, or Lighter.

A replay needs no network, so ``xlp run --sample --once`` works on a machine
that is offline; the live Lighter feed is used only when asked for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from xlp_core.errors import ConfigError, ExchangeError, MissingExtraError, StartupError

if TYPE_CHECKING:
    from xlp_adapters.backtest.data import Scenario
    from xlp_core.ports import PoolSource

log = logging.getLogger("xlp_adapters.cli.feeds")


def parse_feed(spec: str) -> tuple[str, Path | None]:
    """``lighter``, ``fixed`` or ``replay:DIR`` (anything else is refused)."""
    kind, sep, rest = spec.partition(":")
    if kind == "replay" and sep and rest:
        return "replay", Path(rest)
    if spec in ("lighter", "fixed"):
        return spec, None
    raise ConfigError("--feed", f"expected lighter, fixed or replay:DIR, got {spec[:60]!r}")


class ReplayFeed:
    """Cycle *k* trades on the data set's *k*-th prices; pools follow the replay time."""

    def __init__(self, directory: Path) -> None:
        try:
            from xlp_adapters.backtest.data import load_scenario
        except ImportError:
            raise MissingExtraError(
                "backtest", "a replayed price feed (--feed replay:DIR)"
            ) from None
        from xlp_adapters.cli._common import data_errors

        with data_errors(str(directory)):
            if (directory / "pools.csv").exists():
                self.scenario: Scenario = load_scenario(directory)
            else:
                self.scenario = _prices_only(directory, load_scenario)
        self._index = -1

    @property
    def now(self) -> datetime:
        """The replay time of the current step (the first step before any advance)."""
        return self.scenario.times[max(self._index, 0)]

    @property
    def exhausted(self) -> bool:
        return self._index >= len(self.scenario.times) - 1

    def advance(self) -> dict[str, float]:
        self._index = min(self._index + 1, len(self.scenario.times) - 1)
        return {s: series[self._index] for s, series in self.scenario.prices.items()}

    def pools(self, names: Sequence[str]) -> list[PoolSource]:
        from xlp_adapters.pools import SeriesPoolSource

        return [
            SeriesPoolSource(self.scenario.pools[n], n, clock=lambda: self.now)
            for n in names
            if n in self.scenario.pools
        ]


class LighterFeed:
    """Lighter's public prices. Until it has answered once, failures are retried a
    bounded number of times and then stop the run (exit 1): an offline paper run
    must not loop printing errors."""

    def __init__(
        self, base_url: str, *, attempts: int, symbols: Sequence[str], stale_after: float = 30.0
    ) -> None:
        from xlp_adapters.lighter.feed import LighterPriceFeed

        # Bad ticks are refused per symbol; a price older than stale_after is dropped.
        self._feed = LighterPriceFeed(base_url, stale_after=stale_after)
        self._attempts = attempts
        self._symbols = list(symbols)
        self._answered = False

    async def prices(self) -> Mapping[str, float]:
        tries = 1 if self._answered else self._attempts
        for attempt in range(1, tries + 1):
            try:
                prices = await self._feed.prices(self._symbols)
            except ExchangeError as exc:
                if self._answered:
                    raise
                log.warning("price feed attempt %d/%d failed: %s", attempt, tries, exc)
                if attempt < tries:
                    await asyncio.sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
                continue
            self._answered = True
            return prices
        raise StartupError(
            f"no prices from Lighter after {tries} attempts (offline? use "
            "--feed replay:DIR, --sample or --paper-price)"
        )

    async def close(self) -> None:
        await self._feed.close()


def _prices_only(directory: Path, load: Callable[[Path], Scenario]) -> Scenario:
    """A data set without ``pools.csv`` (pools then come from ``static_pools``): the
    loader is given the prices beside a header-only ``pools.csv``."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="xlp-replay-") as tmp:
        (Path(tmp) / "prices.csv").symlink_to((directory / "prices.csv").resolve())
        (Path(tmp) / "pools.csv").write_text("timestamp,pool,symbol,per_token\n")
        return load(Path(tmp))
