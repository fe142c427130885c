"""Fuzzed bad inputs: every one gives a typed error and no order."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.errors import XlpError
from xlp_core.execution import NO_WAIT
from xlp_core.models import PoolSnapshot

T0 = datetime(2026, 1, 1, tzinfo=UTC)
bad_numbers = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, -1e-300, "7", None, True])
CONFIG = HedgeConfig.from_mapping(
    {"pools": {"JLP": 1000.0}, "threshold_min_usd": 10, "threshold_max_usd": 5000,
     "threshold_step_usd": 10}
)  # fmt: skip


class Pool:
    def __init__(self, per_token: Mapping[str, Any]) -> None:
        self.per_token = per_token

    @property
    def name(self) -> str:
        return "JLP"

    async def fetch(self) -> PoolSnapshot:
        return PoolSnapshot("JLP", self.per_token)


def venue() -> PaperExchange:
    return PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -90.0}, clock=lambda: T0)


async def run(ex: PaperExchange, pool: Pool) -> None:
    report = await run_hedge_cycle(
        exchange=ex, pools=[pool], store=MemoryStateStore(), audit=MemoryAuditSink(),
        config=CONFIG, clock=lambda: T0, policy=NO_WAIT,
    )  # fmt: skip
    assert not report.ok
    for r in report.symbols.values():
        assert r.error is not None
        assert r.actions == ()
    assert ex.placed_count == 0


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad_numbers)
async def test_bad_venue_price(value: Any) -> None:
    ex = venue()

    async def prices(symbols: Sequence[str]) -> Mapping[str, Any]:
        return {"SOL": value}

    ex.prices = prices  # type: ignore[method-assign]
    await run(ex, Pool({"SOL": 0.1}))


@settings(max_examples=40)
@given(bad_numbers)
async def test_bad_venue_position(value: Any) -> None:
    ex = venue()

    async def positions(symbols: Sequence[str]) -> Mapping[str, Any]:
        return {"SOL": value}

    ex.positions = positions  # type: ignore[method-assign]
    if value in (0.0, -1.0, -1e-300) and not isinstance(value, bool):
        return  # zero and negative positions are legitimate
    await run(ex, Pool({"SOL": 0.1}))


@settings(max_examples=40)
@given(bad_numbers)
async def test_bad_pool_exposure(value: Any) -> None:
    if value in (0.0, -1e-300) and not isinstance(value, bool):
        return  # zero exposure is legitimate
    await run(venue(), Pool({"SOL": value}))


async def test_missing_price_and_position() -> None:
    ex = venue()

    async def nothing(symbols: Sequence[str]) -> Mapping[str, float]:
        return {}

    ex.positions = nothing  # type: ignore[method-assign]
    await run(ex, Pool({"SOL": 0.1}))
    ex = venue()
    ex.prices = nothing  # type: ignore[method-assign]
    await run(ex, Pool({"SOL": 0.1}))


@settings(max_examples=80)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "threshold_min_usd",
                "threshold_max_usd",
                "close_ratio_pct",
                "order_price_offset_pct",
                "check_interval_seconds",
                "max_order_notional_usd",
                "mode",
                "pools",
                "symbols",
                "rate_limit_per_minute",
                "bogus_key",
            ]
        ),
        st.one_of(bad_numbers, st.text(max_size=5), st.lists(st.integers(), max_size=2)),
        min_size=1,
    )
)
def test_bad_config_is_config_error(data: dict[str, Any]) -> None:
    try:
        HedgeConfig.from_mapping(data)
    except XlpError:
        return
    except Exception as exc:  # anything else is a bug
        pytest.fail(f"{data!r} raised {type(exc).__name__}: {exc}")
