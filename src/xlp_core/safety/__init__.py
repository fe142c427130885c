"""Safety layers, each an :class:`~xlp_core.ports.Exchange` wrapping another.

Compose them like httpx transports; :func:`wrap_exchange` builds the standard
stack from a config: guard → breaker → price cache → rate limit → venue. The
guard sits outermost so a refused order costs no rate budget, and the cache
sits outside the limiter so a cache hit costs none either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from xlp_core.config import HedgeConfig
from xlp_core.ports import Exchange
from xlp_core.safety.breaker import BreakerState, Circuit, CircuitBreakerExchange
from xlp_core.safety.forward import ForwardingExchange
from xlp_core.safety.notional import NotionalGuardExchange
from xlp_core.safety.price_cache import PriceCachedExchange
from xlp_core.safety.rate_limit import RateLimitedExchange, SlidingWindow

__all__ = [
    "BreakerState",
    "Circuit",
    "CircuitBreakerExchange",
    "ForwardingExchange",
    "NotionalGuardExchange",
    "PriceCachedExchange",
    "RateLimitedExchange",
    "SlidingWindow",
    "wrap_exchange",
]


def wrap_exchange(
    inner: Exchange,
    config: HedgeConfig,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_wait: Callable[[float], None] | None = None,
    on_state_change: Callable[[str], None] | None = None,
) -> NotionalGuardExchange:
    """The standard stack; ``on_wait`` / ``on_state_change`` are metrics hooks."""
    limited = RateLimitedExchange(
        inner,
        requests_per_minute=config.rate_limit_per_minute,
        weights=inner.request_weights,  # HTTP requests per port call, as the venue says
        clock=clock,
        sleep=sleep,
        on_wait=on_wait,
    )
    cached = PriceCachedExchange(limited, ttl=config.price_cache_ttl_seconds, clock=clock)
    breaker = CircuitBreakerExchange(
        cached,
        failure_threshold=config.breaker_failure_threshold,
        reset_after=config.breaker_reset_seconds,
        clock=clock,
        on_state_change=on_state_change,
    )
    return NotionalGuardExchange(
        breaker,
        max_order=config.max_order_notional_usd,
        max_window=config.max_cycle_notional_usd,
    )
