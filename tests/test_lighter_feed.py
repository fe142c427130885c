"""The public price feed for paper trading: bad ticks per symbol, stale prices expire."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pytest

pytest.importorskip("aiohttp")

from xlp_adapters.lighter.feed import LighterPriceFeed
from xlp_adapters.lighter.sim import LighterSim
from xlp_core.errors import RateLimitedError, TransientExchangeError


class Target:
    def __init__(self) -> None:
        self.prices: dict[str, float] = {}

    def set_prices(self, prices: Mapping[str, float]) -> None:
        self.prices.update(prices)

    def clear_prices(self, symbols: Sequence[str]) -> None:
        for s in symbols:
            self.prices.pop(s, None)


async def test_public_prices_without_credentials() -> None:
    async with LighterSim() as sim:
        feed = LighterPriceFeed(sim.url, timeout=10.0)
        prices = await feed.prices(["SOL", "BONK", "DOGE2"])
        assert prices == pytest.approx({"SOL": 150.0, "BONK": 2e-5})
        sim.fail_next("orderBookDetails", "429")
        with pytest.raises(RateLimitedError):
            await feed.prices(["SOL"])
        sim.fail_next("orderBookDetails", "500")
        with pytest.raises(TransientExchangeError):
            await feed.prices(["SOL"])
        await feed.close()
    assert all("Authorization" not in r["headers"] for r in sim.requests)


@pytest.mark.parametrize("tick", ["1e400", "NaN", "-5", "0", "abc", None])
async def test_one_bad_tick_is_refused_for_that_symbol_only(
    tick: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "xlp_adapters.lighter.feed")
    async with LighterSim() as sim:
        feed = LighterPriceFeed(sim.url, timeout=10.0)
        assert (await feed.prices(["SOL", "ETH"]))["SOL"] == 150.0
        sim.market("SOL")["mark_price"] = tick
        sim.market("SOL")["last_trade_price"] = None
        sim.set_mark("ETH", 3100.0)
        prices = await feed.prices(["SOL", "ETH"])
        assert prices == {"SOL": 150.0, "ETH": 3100.0}  # last good SOL kept, ETH moves on
        assert "SOL" in caplog.text
        assert "ETH" not in caplog.text
        await feed.close()


async def test_stale_price_expires_and_leaves_the_paper_venue() -> None:
    now = [0.0]
    async with LighterSim() as sim:
        feed = LighterPriceFeed(sim.url, timeout=10.0, stale_after=30, clock=lambda: now[0])
        target = Target()
        await feed.refresh(target, ["SOL", "ETH"])
        assert target.prices == {"SOL": 150.0, "ETH": 3000.0}
        sim.market("SOL")["mark_price"] = "NaN"  # the feed stops pricing SOL
        sim.market("SOL")["last_trade_price"] = None
        now[0] = 20.0
        await feed.refresh(target, ["SOL", "ETH"])
        assert target.prices["SOL"] == 150.0  # still fresh enough
        now[0] = 31.0
        await feed.refresh(target, ["SOL", "ETH"])
        assert "SOL" not in target.prices  # expired: the paper venue cannot trade on it
        assert feed.stale(["SOL", "ETH"]) == ["SOL"]
        now[0] = 62.0
        sim.fail_next("orderBookDetails", "500")
        with pytest.raises(TransientExchangeError):
            await feed.refresh(target, ["SOL", "ETH"])
        assert target.prices == {}  # a dead feed expires everything
        await feed.close()
