"""What both on-chain sources do once the bytes are decoded: check, then report.

The layout-drift check values the decoded custodies at current prices and
compares the sum with the AUM the pool program itself stored. A program
upgrade that moves a field makes the two disagree by far more than price
moves between the pool's last AUM refresh and now, so beyond the tolerance
the snapshot is refused instead of hedged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime

from xlp_adapters.pools.errors import PoolDriftError, PoolPriceError
from xlp_core.models import PoolSnapshot

log = logging.getLogger("xlp_adapters.pools")

PriceProvider = Callable[[Sequence[str]], Awaitable[Mapping[str, float]]]
"""Current USD prices by venue symbol; ``Exchange.prices`` has this shape."""


def checked_price(source: str, symbol: str, prices: Mapping[str, float]) -> float:
    value = prices.get(symbol)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PoolPriceError(f"{source}: no price for {symbol}")
    if not math.isfinite(value) or value <= 0:
        raise PoolPriceError(f"{source}: price of {symbol} is {value!r}")
    return float(value)


def check_drift(
    pool: str, *, decoded_usd: float, onchain_usd: float, tolerance_pct: float | None
) -> None:
    """Refuse when the decoded value and the on-chain AUM are too far apart."""
    if tolerance_pct is None:
        return
    if onchain_usd <= 0 or not math.isfinite(decoded_usd):
        raise PoolDriftError(pool, decoded_usd, onchain_usd, tolerance_pct)
    if abs(decoded_usd - onchain_usd) / onchain_usd * 100 > tolerance_pct:
        raise PoolDriftError(pool, decoded_usd, onchain_usd, tolerance_pct)


def snapshot(
    pool: str,
    per_token: Mapping[str, float],
    *,
    prices: Mapping[str, float],
    lp_price_usd: float | None,
    observed_at: datetime,
    slot: int,
) -> PoolSnapshot:
    """A snapshot with the USD view of the exposure (where prices are known)."""
    usd = {s: n * prices[s] for s, n in per_token.items() if s in prices}
    share = {s: v / lp_price_usd for s, v in usd.items()} if lp_price_usd else {}
    return PoolSnapshot(
        pool,
        dict(per_token),
        observed_at=observed_at,
        slot=slot,
        usd_per_token=usd,
        share=share,
        lp_price_usd=lp_price_usd,
    )
