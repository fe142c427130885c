"""Live Lighter prices for paper trading, without credentials or the SDK.

``orderBookDetails`` is public: one GET returns every market's mark price.
The paper exchange then fills against real prices while no order ever leaves
the process. Plain httpx, so ``xlp run`` on paper needs no ``[lighter]`` extra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from xlp_adapters.lighter.parse import parse_markets, parse_prices
from xlp_core.errors import ExchangeError, RateLimitedError, TransientExchangeError

DEFAULT_BASE_URL = "https://mainnet.zklighter.elliot.ai"


class LighterPriceFeed:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        """Mark prices in USD per token (``1000BONK`` converted), for ``symbols``."""
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
        prices = parse_prices(body, parse_markets(body))
        return {s: prices[s] for s in symbols if s in prices}

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
