"""Live Lighter prices for paper trading, without credentials or the SDK.

``orderBookDetails`` is public: one GET returns every market's mark price.
The paper exchange then fills against real prices while no order ever leaves
the process. Plain httpx, so ``xlp run`` on paper needs no ``[lighter]`` extra.

Each symbol stands alone: a bad tick (``1e400``, NaN, negative, a broken
market row) is refused for that symbol with a WARNING and its last good price
kept; a price older than ``stale_after`` seconds expires, and
:meth:`LighterPriceFeed.refresh` then removes it from the paper venue so no
order is priced off it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import httpx

from xlp_adapters.lighter.parse import parse_markets, parse_prices
from xlp_core.errors import ExchangeError, RateLimitedError, TransientExchangeError

DEFAULT_BASE_URL = "https://mainnet.zklighter.elliot.ai"
log = logging.getLogger("xlp_adapters.lighter.feed")


class PriceTarget(Protocol):
    """What the feed updates (the paper exchange)."""

    def set_prices(self, prices: Mapping[str, float]) -> None: ...

    def clear_prices(self, symbols: Sequence[str]) -> None: ...


class LighterPriceFeed:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        stale_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stale_after = stale_after
        self._clock = clock
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._last: dict[str, tuple[float, float]] = {}  # symbol -> (price, monotonic time)
        self._warned: dict[str, str] = {}

    async def _fetch(self) -> dict[str, Any]:
        url = f"{self.base_url}/api/v1/orderBookDetails"
        try:
            response = await self._client.get(url)
        except httpx.HTTPError as exc:
            raise TransientExchangeError(f"price feed: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 429:
            retry = response.headers.get("Retry-After")
            raise RateLimitedError(
                "price feed: 429", retry_after=float(retry) if retry and retry.isdigit() else None
            )
        if response.status_code >= 500:
            raise TransientExchangeError(f"price feed: HTTP {response.status_code}")
        if response.status_code != 200:
            raise ExchangeError(f"price feed: HTTP {response.status_code}")
        try:
            body: Any = response.json()
        except ValueError as exc:
            raise TransientExchangeError("price feed: response is not JSON") from exc
        if not isinstance(body, dict):
            raise ExchangeError("price feed: response is not an object")
        return body

    def _warn(self, symbol: str, reason: str) -> None:
        if self._warned.get(symbol) != reason:
            self._warned[symbol] = reason
            log.warning("price feed: %s", reason)

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        """Fresh mark prices in USD per token (``1000BONK`` converted) for ``symbols``.

        A symbol without a fresh, valid price is absent: see :meth:`stale`.
        """
        body = await self._fetch()
        bad: dict[str, str] = {}
        fresh = parse_prices(body, parse_markets(body, bad), bad)
        now = self._clock()
        for symbol in symbols:
            if symbol in fresh:
                self._last[symbol] = (fresh[symbol], now)
                self._warned.pop(symbol, None)
            elif symbol in bad:
                self._warn(symbol, f"{symbol}: tick refused ({bad[symbol]}); last price kept")
        return self._fresh(symbols)

    def _fresh(self, symbols: Sequence[str]) -> dict[str, float]:
        now, out = self._clock(), {}
        for symbol in symbols:
            last = self._last.get(symbol)
            if last is not None and now - last[1] <= self.stale_after:
                out[symbol] = last[0]
        return out

    def stale(self, symbols: Sequence[str]) -> list[str]:
        """Symbols with no valid price newer than ``stale_after`` seconds."""
        fresh = self._fresh(symbols)
        out = [s for s in symbols if s not in fresh]
        for s in out:
            self._warn(s, f"{s}: no fresh price for {self.stale_after:g}s; skipped until one comes")
        return out

    async def refresh(self, target: PriceTarget, symbols: Sequence[str]) -> Mapping[str, float]:
        """Push fresh prices into ``target`` and clear the stale ones (even if the read fails)."""
        try:
            prices = await self.prices(symbols)
        finally:
            stale = self.stale(symbols)
            if stale:
                target.clear_prices(stale)
        target.set_prices(prices)
        return prices

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
