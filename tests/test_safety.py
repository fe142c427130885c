"""The Exchange safety wrappers, alone and composed."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlp_core.config import HedgeConfig
from xlp_core.errors import (
    CircuitOpenError,
    NotionalLimitError,
    OrderRejectedError,
    RateLimitedError,
    TransientExchangeError,
)
from xlp_core.models import MarketRules, Order, OrderRequest, OrderStatus, OrderType, Side
from xlp_core.ports import Exchange, ExchangeDefaults, PlaceOutcome
from xlp_core.safety import (
    Circuit,
    CircuitBreakerExchange,
    NotionalGuardExchange,
    PriceCachedExchange,
    RateLimitedExchange,
    SlidingWindow,
    wrap_exchange,
)


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, dt: float) -> None:
        self.t += dt
        await asyncio.sleep(0)


class Counting(ExchangeDefaults):
    """A venue that counts calls and can be told to fail."""

    name = "counting"

    def __init__(self, time: FakeTime | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.call_times: list[float] = []
        self.time = time
        self.fail_with: Exception | None = None
        self.price = 100.0

    def _hit(self, method: str) -> None:
        self.calls[method] += 1
        if self.time is not None:
            self.call_times.append(self.time.t)
        if self.fail_with is not None:
            raise self.fail_with

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        self._hit("markets")
        return {}

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        self._hit("prices")
        return dict.fromkeys(symbols, self.price)

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        self._hit("positions")
        return dict.fromkeys(symbols, 0.0)

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        self._hit("open_orders")
        return []

    async def place_order(self, request: OrderRequest) -> Order:
        self._hit("place_order")
        return Order(
            request.client_order_id, request.symbol, request.side, request.order_type,
            request.size, request.price, OrderStatus.OPEN,
        )  # fmt: skip

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        self._hit("get_order")
        return None

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        self._hit("cancel_order")
        return False

    async def cancel_all_orders(self, symbol: str) -> int:
        self._hit("cancel_all_orders")
        return 0

    async def close(self) -> None:
        pass


def req(size: float = 1.0, price: float | None = 100.0, cid: int = 1) -> OrderRequest:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderRequest(cid, "SOL", Side.BUY, kind, size, price)


async def test_rate_limit_never_exceeds_budget_in_any_window() -> None:
    ft = FakeTime()
    venue = Counting(ft)
    ex = RateLimitedExchange(venue, requests_per_minute=60, clock=ft, sleep=ft.sleep)
    for _ in range(500):
        await ex.prices(["SOL"])
    times = sorted(venue.call_times)
    assert len(times) == 500
    for i, t in enumerate(times):
        in_window = sum(1 for u in times[i:] if u < t + 60.0)
        assert in_window <= 60
    assert ex.waited > 0


async def test_concurrent_callers_queue_in_order() -> None:
    ft = FakeTime()
    ex = RateLimitedExchange(Counting(), requests_per_minute=60, clock=lambda: 0.0)
    waits = []
    for _ in range(70):
        ex.window, wait = ex.window.take(ft.t, 1)
        waits.append(wait)
    assert waits[:60] == [0.0] * 60
    assert waits[60:] == [60.0] * 10  # the whole first minute must pass


async def test_rate_limit_drains_on_429() -> None:
    ft = FakeTime()
    venue = Counting(ft)
    ex = RateLimitedExchange(venue, requests_per_minute=60, clock=ft, sleep=ft.sleep)
    venue.fail_with = RateLimitedError(retry_after=5.0)
    with pytest.raises(RateLimitedError):
        await ex.prices(["SOL"])
    venue.fail_with = None
    before = ft.t
    await ex.prices(["SOL"])
    assert ft.t - before >= 5.0


@given(st.lists(st.tuples(st.floats(0, 10), st.integers(1, 5)), max_size=60))
def test_window_never_overspends(calls: list[tuple[float, int]]) -> None:
    window = SlidingWindow.per_minute(60)
    now, spent_at = 0.0, []
    for gap, weight in calls:
        now += gap
        window, wait = window.take(now, weight)
        assert wait >= 0
        spent_at.append((now + wait, weight))
    for t, _ in spent_at:
        assert sum(w for u, w in spent_at if t <= u < t + 60) <= 60
    times = [u for u, _ in spent_at]
    assert times == sorted(times)  # callers are served in order


async def test_price_cache_hits_misses_expiry_and_invalidation() -> None:
    ft = FakeTime()
    venue = Counting()
    ex = PriceCachedExchange(venue, ttl=2.0, clock=ft)
    await ex.prices(["SOL", "ETH"])
    await ex.prices(["SOL"])
    assert venue.calls["prices"] == 1
    assert ex.hits == 1
    ft.t = 2.5
    await ex.prices(["SOL"])
    assert venue.calls["prices"] == 2
    await ex.place_order(req())
    await ex.prices(["SOL"])
    assert venue.calls["prices"] == 3


async def test_price_cache_does_not_cache_bad_prices_or_errors() -> None:
    venue = Counting()
    ex = PriceCachedExchange(venue, ttl=10.0, clock=FakeTime())
    venue.price = float("nan")
    first = await ex.prices(["SOL"])
    assert first["SOL"] != first["SOL"]  # NaN passes through for the core to reject
    venue.price = 100.0
    assert (await ex.prices(["SOL"]))["SOL"] == 100.0
    venue.fail_with = TransientExchangeError("down")
    ex.invalidate()
    with pytest.raises(TransientExchangeError):
        await ex.prices(["SOL"])


async def test_breaker_opens_half_opens_and_closes() -> None:
    ft = FakeTime()
    venue = Counting()
    ex = CircuitBreakerExchange(venue, failure_threshold=3, reset_after=10.0, clock=ft)
    venue.fail_with = TransientExchangeError("503")
    for _ in range(3):
        with pytest.raises(TransientExchangeError):
            await ex.positions(["SOL"])
    assert ex.state.circuit is Circuit.OPEN
    with pytest.raises(CircuitOpenError):
        await ex.positions(["SOL"])
    assert venue.calls["positions"] == 3
    ft.t = 10.0
    with pytest.raises(TransientExchangeError):  # the single probe fails: open again
        await ex.positions(["SOL"])
    assert ex.state.circuit is Circuit.OPEN
    ft.t = 20.0
    venue.fail_with = None
    await ex.positions(["SOL"])
    assert str(ex.state.circuit) == "closed"


async def test_rejections_do_not_trip_the_breaker() -> None:
    venue = Counting()
    ex = CircuitBreakerExchange(venue, failure_threshold=1, clock=FakeTime())
    venue.fail_with = OrderRejectedError("min size")
    with pytest.raises(OrderRejectedError):
        await ex.place_order(req())
    assert str(ex.state.circuit) == "closed"


async def test_notional_guard_per_order_and_per_cycle() -> None:
    venue = Counting()
    ex = NotionalGuardExchange(venue, max_order=500.0, max_window=800.0)
    with pytest.raises(NotionalLimitError):
        await ex.place_order(req(size=6, cid=1))  # $600
    await ex.place_order(req(size=4, cid=2))
    with pytest.raises(NotionalLimitError):
        await ex.place_order(req(size=5, cid=3))  # window would reach $900
    assert venue.calls["place_order"] == 1
    ex.begin_cycle()
    await ex.place_order(req(size=5, cid=4))
    # A market order is valued at a fresh price.
    with pytest.raises(NotionalLimitError):
        await ex.place_order(req(size=6, price=None, cid=5))
    venue.price = float("nan")
    ex2 = NotionalGuardExchange(venue, max_order=500.0, max_window=800.0)
    with pytest.raises(NotionalLimitError):
        await ex2.place_order(req(size=1, price=None))


async def test_standard_stack_is_an_exchange_and_passes_name() -> None:
    venue = Counting()
    ex = wrap_exchange(venue, HedgeConfig())
    assert isinstance(ex, Exchange)
    assert ex.name == "counting"
    await ex.prices(["SOL"])
    await ex.prices(["SOL"])
    assert venue.calls["prices"] == 1


async def test_stack_uses_the_venues_request_weights() -> None:
    class Weighted(Counting):
        request_weights = {"markets": 0, "place_order": 2}  # noqa: RUF012

    venue = Weighted()
    stack = wrap_exchange(venue, HedgeConfig())
    breaker = stack.inner
    assert isinstance(breaker, CircuitBreakerExchange)
    cache = breaker.inner
    assert isinstance(cache, PriceCachedExchange)
    limiter = cache.inner  # guard -> breaker -> cache -> limiter -> venue
    assert isinstance(limiter, RateLimitedExchange)
    await stack.markets(["SOL"])
    assert limiter.window.entries == ()
    await stack.place_order(req())
    entries: list[tuple[float, float]] = list(limiter.window.entries)
    assert [weight for _, weight in entries] == [2]


@pytest.mark.parametrize("ts", [1.3, 53.004, 0.1])
def test_window_expiry_survives_float_rounding(ts: float) -> None:
    # 1.3 + 60 - 60 < 1.3: an earlier version looped forever here.
    window, _ = SlidingWindow.per_minute(60).take(ts, 60)
    window, wait = window.take(ts, 1)
    assert 60 <= wait <= 60 + 1e-9


# --- batches, retries, logging, hooks --------------------------------------------


class Batching(Counting):
    """A venue with native batches (one request each) and a dead-man switch."""

    request_weights = {"place_orders": 1, "cancel_orders": 1, "get_orders": 2}  # noqa: RUF012

    def __init__(self, time: FakeTime | None = None) -> None:
        super().__init__(time)
        self.armed: list[object] = []
        self.batches: list[list[int]] = []
        self.reject: set[int] = set()

    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        self._hit("place_orders")
        self.batches.append([r.client_order_id for r in requests])
        return [
            PlaceOutcome(r, error=OrderRejectedError("no"))
            if r.client_order_id in self.reject
            else PlaceOutcome(
                r,
                order=Order(
                    r.client_order_id,
                    r.symbol,
                    r.side,
                    r.order_type,
                    r.size,
                    r.price,
                    OrderStatus.OPEN,
                ),
            )
            for r in requests
        ]

    async def cancel_orders(self, symbols: Sequence[str]) -> Mapping[str, int]:
        self._hit("cancel_orders")
        return dict.fromkeys(symbols, 0)

    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        self._hit("get_orders")
        return {}

    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        self._hit("arm_dead_man_switch")
        self.armed.append(at)
        return True


def limiter_of(stack: NotionalGuardExchange) -> RateLimitedExchange:
    breaker = stack.inner
    assert isinstance(breaker, CircuitBreakerExchange)
    cache = breaker.inner
    assert isinstance(cache, PriceCachedExchange)
    limiter = cache.inner
    assert isinstance(limiter, RateLimitedExchange)
    return limiter


async def test_stack_forwards_batches_natively_and_charges_declared_weights() -> None:
    venue = Batching()
    stack = wrap_exchange(venue, HedgeConfig())
    limiter = limiter_of(stack)
    outcomes = await stack.place_orders([req(cid=i) for i in range(1, 6)])
    assert [o.order is not None for o in outcomes] == [True] * 5
    assert venue.batches == [[1, 2, 3, 4, 5]]
    assert venue.calls["place_order"] == 0
    await stack.cancel_orders(["SOL", "ETH"])
    await stack.get_orders([("SOL", 1), ("SOL", 2)])
    assert [w for _, w in limiter.window.entries] == [1, 1, 2]
    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert await stack.arm_dead_man_switch(t) is True
    assert venue.armed == [t]
    assert stack.request_weights == venue.request_weights


async def test_an_unbatched_venue_is_charged_per_item() -> None:
    venue = Counting()  # ExchangeDefaults' loop: N requests really go out
    stack = wrap_exchange(venue, HedgeConfig())
    await stack.place_orders([req(cid=i) for i in range(1, 4)])
    await stack.cancel_orders(["SOL", "ETH"])
    assert venue.calls["place_order"] == 3
    assert [w for _, w in limiter_of(stack).window.entries] == [3, 2]
    assert await stack.arm_dead_man_switch(None) is False


async def test_guard_refuses_inside_a_batch_without_sending_those() -> None:
    venue = Batching()
    ex = NotionalGuardExchange(venue, max_order=500.0, max_window=800.0)
    outcomes = await ex.place_orders(
        [req(size=6, cid=1), req(size=4, cid=2), req(size=5, cid=3), req(size=3, cid=4)]
    )
    assert [type(o.error).__name__ if o.error else "ok" for o in outcomes] == [
        "NotionalLimitError", "ok", "NotionalLimitError", "ok",
    ]  # fmt: skip
    assert [o.request.client_order_id for o in outcomes] == [1, 2, 3, 4]
    assert venue.batches == [[2, 4]]
    assert ex.used == pytest.approx(700.0)


async def test_guard_charges_orders_not_attempts() -> None:
    venue = Counting()
    ex = NotionalGuardExchange(venue, max_order=400.0, max_window=400.0)
    venue.fail_with = TransientExchangeError("503 after send?")
    with pytest.raises(TransientExchangeError):
        await ex.place_order(req(size=3, cid=9))  # $300, outcome unclear: still charged
    venue.fail_with = None
    await ex.place_order(req(size=3, cid=9))  # the retry of the same order passes
    assert ex.used == pytest.approx(300.0)
    with pytest.raises(NotionalLimitError):
        await ex.place_order(req(size=2, cid=10))  # a different order is charged


async def test_guard_releases_a_charge_on_definite_rejection() -> None:
    venue = Counting()
    ex = NotionalGuardExchange(venue, max_order=400.0, max_window=400.0)
    venue.fail_with = RateLimitedError(retry_after=1.0)
    with pytest.raises(RateLimitedError):
        await ex.place_order(req(size=3, cid=1))
    venue.fail_with = OrderRejectedError("post-only would cross")
    with pytest.raises(OrderRejectedError):
        await ex.place_order(req(size=3, cid=2))
    assert ex.used == 0.0
    venue.fail_with = None
    await ex.place_order(req(size=4, cid=3))  # the whole window is still free
    batching = Batching()
    ex2 = NotionalGuardExchange(batching, max_order=400.0, max_window=400.0)
    batching.reject = {1}
    outcomes = await ex2.place_orders([req(size=3, cid=1)])
    assert isinstance(outcomes[0].error, OrderRejectedError)
    assert ex2.used == 0.0


async def test_rate_limit_wait_over_a_second_is_a_warning_and_reaches_the_hook(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ft = FakeTime()
    waits: list[float] = []
    ex = RateLimitedExchange(
        Counting(ft), requests_per_minute=2, clock=ft, sleep=ft.sleep, on_wait=waits.append
    )
    with caplog.at_level(logging.WARNING, logger="xlp_core.safety"):
        for _ in range(3):
            await ex.prices(["SOL"])
    assert waits == [60.0]
    assert any("waiting 60.0 s" in r.getMessage() for r in caplog.records)


async def test_breaker_logs_trip_and_recovery_and_reports_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ft = FakeTime()
    venue = Batching()
    seen: list[str] = []
    ex = CircuitBreakerExchange(
        venue, failure_threshold=2, reset_after=5.0, clock=ft, on_state_change=seen.append
    )
    venue.fail_with = TransientExchangeError("503")
    with caplog.at_level(logging.INFO, logger="xlp_core.safety"):
        for _ in range(2):
            with pytest.raises(TransientExchangeError):
                await ex.place_orders([req()])  # a batch is one call
        assert ex.circuit is Circuit.OPEN
        ft.t = 5.0
        venue.fail_with = None
        await ex.positions(["SOL"])
    assert seen == ["open", "half_open", "closed"]
    levels = {r.levelno for r in caplog.records if "tripped" in r.getMessage()}
    assert levels == {logging.ERROR}
    assert any(r.levelno == logging.INFO and "recovered" in r.getMessage() for r in caplog.records)
