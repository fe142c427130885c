"""Fuzzed bad inputs: every one gives a typed error and no order."""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
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


# --- the config loader and the command line, fuzzed ---------------------------------

FIELDS = sorted(f.name for f in attrs.fields(HedgeConfig))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.just("ab" * 40),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(["SOL", "JLP"])), inner,
                        max_size=3),
    ),
    max_leaves=6,
)  # fmt: skip
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=8))


def no_secret_in_chain(exc: BaseException) -> None:
    seen: BaseException | None = exc
    while seen is not None:
        assert "ab" * 20 not in str(seen)
        seen = seen.__cause__ or seen.__context__


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(keys, values, max_size=4))
def test_config_loader_fuzz(data: dict[str, Any]) -> None:
    try:
        HedgeConfig.from_mapping(data)
    except XlpError as exc:
        no_secret_in_chain(exc)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.one_of(st.sampled_from([f"XLP_{f.upper()}" for f in FIELDS]), st.just("XLP_BOGUS")),
        st.one_of(st.text(max_size=20), st.sampled_from(["ab" * 40, "1e999", "9" * 5000, "JLP:"])),
        max_size=3,
    ),
    st.binary(max_size=60),
)
def test_config_file_and_env_fuzz(env: dict[str, str], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.toml"
        path.write_bytes(raw)
        for p in (path, None):
            try:
                HedgeConfig.load(p, environ={k: v.replace("\x00", "") for k, v in env.items()})
            except XlpError as exc:
                no_secret_in_chain(exc)


SAMPLE = Path(__file__).parents[1] / "examples" / "data" / "sample"
GOOD_TOML = (
    "[hedge]\npools = { JLP = 1000.0 }\nthreshold_min_usd = 100.0\nthreshold_max_usd = 1e5\n"
    "threshold_step_usd = 100.0\nstatic_pools = { JLP = { SOL = 0.1 } }\n"
)
BAD = ["", "x", "-1", "0", "nan", "1e999", "SOL", "SOL=", "=1", "SOL=abc", "ab" * 40, "\x7f"]
OPTIONS: dict[str, list[tuple[str, list[str]]]] = {
    "run": [
        ("--paper-price", ["SOL=150", "SOL=150,ETH=3000", *BAD]),
        ("--paper-position", ["SOL=-1", *BAD]),
        ("--static-pool", ["JLP:SOL=0.1", "JLP", "JLP:", ":SOL=1", *BAD]),
        ("--max-cycles", ["1", "2", *BAD]),
        ("--feed", ["fixed", f"replay:{SAMPLE}", "replay:", "replay:/nope", "bogus", *BAD]),
        ("--interval", ["0.001", *BAD]),
        ("--once", []),
        ("--sample", []),
    ],
    "config": [("--no-env", [])],
    "status": [("--json", [])],
    "audit": [
        ("--since", ["1h", "2025-01-01", *BAD]),
        ("--until", ["1d", *BAD]),
        ("--tail", ["1", *BAD]),
        ("--cid", ["5", *BAD]),
        ("--format", ["table", "jsonl", *BAD]),
        ("--kind", ["alert"]),
    ],
    "backtest": [
        ("--steps", ["5", *BAD]),
        ("--record-every", ["1", *BAD]),
        ("--engine", ["fast", *BAD]),
        ("--csv", ["out.csv", "/proc/nope/x.csv", "."]),
    ],
}


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    argv: list[str] = []
    if draw(st.booleans()):
        argv += ["--log-level", draw(st.sampled_from(["info", "DEBUG", *BAD]))]
    command = draw(st.sampled_from([*OPTIONS, "bogus"]))
    argv.append(command)
    if command == "run":  # bounded: at most two cycles, no waiting between them
        argv += ["--interval", "0.001", "--max-cycles", "2"]
    options = OPTIONS.get(command, [("--help", [])])
    for option, choices in draw(st.lists(st.sampled_from(options), max_size=4)):
        argv.append(option)
        if choices:
            argv.append(draw(st.sampled_from(choices)))
    if command == "backtest":
        argv += ["--sample", "--engine", "fast", "--steps", "30", "--no-progress"]
    return argv


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argvs())
def test_cli_fuzz_never_tracebacks(argv: list[str]) -> None:
    from xlp_adapters.cli import main

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as d:
        Path(d, "xlp.toml").write_text(GOOD_TOML)
        os.chdir(d)
        exit_code: object = None
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors and --help
            exit_code, code = exc.code, 0
        finally:
            os.chdir(here)
            root = logging.getLogger()
            for h in [h for h in root.handlers if h.get_name() == "xlp-cli"]:
                root.removeHandler(h)
        assert exit_code in (None, 0, 2), argv
        assert code in (0, 1, 2, 3), argv
        if code == 1:
            assert "run" in argv  # only a run whose cycle had errors exits 1
