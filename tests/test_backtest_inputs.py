"""Backtest input: malformed files, the price cache, DataFrames, output paths, summaries."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_backtest import CONFIG, SAMPLE
from xlp_adapters.backtest import (
    Scenario,
    ScenarioError,
    _cache,
    load_scenario,
    run_backtest,
    scenario_from_frames,
)
from xlp_adapters.backtest.outputs import OutputPathError, check_writable, write_csv
from xlp_adapters.backtest.sinks import LatestStateStore, TailAuditSink
from xlp_core.audit import AuditEvent
from xlp_core.errors import InvalidInputError, XlpError
from xlp_core.state import HedgeState

POOLS = "timestamp,pool,symbol,per_token\n2025-01-01T00:00:00Z,JLP,SOL,0.01\n"
PRICES = "timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL,150\n2025-01-01T00:01:00Z,SOL,151\n"


def _dir(d: Path, prices: str | bytes, pools: str | bytes = POOLS) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, body in (("prices.csv", prices), ("pools.csv", pools)):
        if isinstance(body, bytes):
            (d / name).write_bytes(body)
        else:
            (d / name).write_text(body, encoding="utf-8")
    return d


@pytest.mark.parametrize(
    ("prices", "pattern"),
    [
        (b"timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL,\xff\xfe\n", r"not UTF-8"),
        (
            "timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL," + "9" * 200_000 + "\n",
            r"prices.csv:2",
        ),
        (
            "timestamp,symbol,price\n9999-12-31T23:59:59Z,SOL,1\n",
            r"prices.csv:2: timestamp .* outside",
        ),
        ("timestamp,symbol,price\n9999-12-31T23:59:59-05:00,SOL,1\n", r"prices.csv:2"),
        ("timestamp,symbol,price\n0001-01-01T00:00:00+05:00,SOL,1\n", r"prices.csv:2"),
        ("timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL,1\x00\n", r"prices.csv"),
        ("timestamp,symbol,price\n2025-01-01T00:00:00Z,,1\n", r"prices.csv:2: empty symbol"),
        ("timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL,1e400\n", r"prices.csv:2"),
        ("time,symbol,price\n", r"header must name timestamp,symbol,price"),
        ("timestamp,symbol,price,price\n", r"header"),
        ("timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL\n", r"prices.csv:2: expected 3"),
    ],
)
def test_bad_csv_is_one_typed_line_naming_the_file(
    tmp_path: Path, prices: str | bytes, pattern: str
) -> None:
    d = _dir(tmp_path / "sc", prices)
    with pytest.raises(InvalidInputError, match=pattern) as info:
        load_scenario(d)
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 300


def test_a_csv_that_is_a_directory(tmp_path: Path) -> None:
    d = _dir(tmp_path / "sc", PRICES)
    (d / "pools.csv").unlink()
    (d / "pools.csv").mkdir()
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(d)
    (d / "pools.csv").rmdir()
    (d / "pools.csv").write_text(POOLS)
    (d / "funding.csv").mkdir()
    with pytest.raises(ScenarioError, match=r"funding\.csv: is a directory"):
        load_scenario(d)


def test_extra_columns_are_tolerated_in_any_order(tmp_path: Path) -> None:
    d = _dir(
        tmp_path / "sc",
        "price,note,symbol,timestamp\n150,a,SOL,2025-01-01T00:00:00Z\n151,b,SOL,2025-01-01T00:01:00Z\n",
        "source,timestamp,pool,symbol,per_token\nx,2025-01-01T00:00:00Z,JLP,SOL,0.01\n",
    )
    sc = load_scenario(d)
    assert sc.prices["SOL"] == (150.0, 151.0)
    assert sc.pools["JLP"].per_token == ({"SOL": 0.01},)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prices=st.one_of(st.binary(max_size=300), st.text(max_size=300)),
    pools=st.one_of(st.just(POOLS), st.binary(max_size=200), st.text(max_size=200)),
    funding=st.one_of(st.none(), st.text(max_size=200)),
    header=st.booleans(),
)
def test_loader_fuzz_raises_only_typed_errors(
    tmp_path_factory: pytest.TempPathFactory,
    prices: str | bytes,
    pools: str | bytes,
    funding: str | None,
    header: bool,
) -> None:
    d = tmp_path_factory.mktemp("fuzz")
    if header and isinstance(prices, str):
        prices = "timestamp,symbol,price\n" + prices
    _dir(d, prices, pools)
    if funding is not None:
        (d / "funding.csv").write_text("timestamp,symbol,rate\n" + funding, encoding="utf-8")
    try:
        sc: Scenario | XlpError = load_scenario(d)
    except XlpError as exc:
        sc = exc
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert isinstance(sc, Scenario) or "\n" not in str(sc).strip()


@settings(max_examples=60)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["2025-01-01T00:00:00Z", "2025-01-01T00:01:00", "9999-01-01", "x", ""]),
            st.sampled_from(["SOL", "sol", "", " ", "WBTC"]),
            st.sampled_from(["150", "0", "-1", "nan", "inf", "1e308", "abc", ""]),
        ),
        max_size=6,
    )
)
def test_structured_fuzz_of_prices_rows(rows: list[tuple[str, str, str]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        body = "timestamp,symbol,price\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
        d = _dir(Path(tmp), body)
        with contextlib.suppress(XlpError):
            load_scenario(d)


# --- the price cache ------------------------------------------------------------------


def test_price_cache_is_used_and_invalidated(tmp_path: Path) -> None:
    d = tmp_path / "sc"
    shutil.copytree(SAMPLE, d, ignore=shutil.ignore_patterns(".*"))
    first = load_scenario(d)
    cache = _cache.cache_path(d / "prices.csv")
    assert cache.exists()
    again = load_scenario(d)
    assert again.times == first.times
    assert again.prices == first.prices
    assert again.funding == first.funding
    for name, pool in first.pools.items():
        assert again.pools[name].times == pool.times
        assert again.pools[name].per_token == pool.per_token
    # Editing pools.csv (or removing funding.csv) invalidates it too.
    (d / "funding.csv").rename(d / "funding.off")
    assert load_scenario(d).funding == {}
    (d / "funding.off").rename(d / "funding.csv")
    assert load_scenario(d).funding == first.funding
    # Same size, same mtime, different bytes: the hash catches it.
    path = d / "prices.csv"
    st_ = path.stat()
    data = bytearray(path.read_bytes())
    i = data.index(b"150.")
    data[i : i + 4] = b"151."
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    changed = load_scenario(d)
    assert changed.prices != first.prices
    # A corrupt cache is ignored (and rewritten).
    cache.write_bytes(b"not a zip")
    assert load_scenario(d).prices == changed.prices
    assert load_scenario(d, cache=False).prices == changed.prices


def test_read_only_directory_loads_without_a_cache(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    shutil.copytree(SAMPLE, d, ignore=shutil.ignore_patterns(".*"))
    d.chmod(0o500)
    try:
        if os.access(d, os.W_OK):
            pytest.skip("running as a user that ignores permissions")
        assert len(load_scenario(d)) == 4320
        assert not _cache.cache_path(d / "prices.csv").exists()
    finally:
        d.chmod(0o700)


# --- DataFrames ------------------------------------------------------------------------


def test_scenario_from_frames_equals_the_csv_scenario() -> None:
    sc = load_scenario(SAMPLE)
    long = pd.read_csv(SAMPLE / "prices.csv")
    wide = long.pivot(index="timestamp", columns="symbol", values="price")
    wide.index = pd.to_datetime(wide.index, utc=True)
    pools = pd.read_csv(SAMPLE / "pools.csv")
    pools["extra"] = "ignored"
    funding = pd.read_csv(SAMPLE / "funding.csv")
    for prices in (wide, long):
        got = scenario_from_frames(prices, pools, funding)
        assert got.times == sc.times
        assert got.prices == sc.prices
        assert got.funding == sc.funding
        assert got.pools["JLP"].per_token == sc.pools["JLP"].per_token
    fast = run_backtest(scenario_from_frames(wide, pools, funding), CONFIG, engine="fast")
    assert fast.summary().fills == run_backtest(sc, CONFIG, engine="fast").summary().fills


def test_scenario_from_frames_rejects_gaps_and_junk() -> None:
    idx = pd.date_range("2025-01-01", periods=3, freq="min", tz="UTC")
    pools = pd.DataFrame(
        {"timestamp": [idx[0]], "pool": ["JLP"], "symbol": ["SOL"], "per_token": [0.01]}
    )
    with pytest.raises(InvalidInputError, match="SOL price"):
        scenario_from_frames(pd.DataFrame({"SOL": [1.0, float("nan"), 2.0]}, index=idx), pools)
    with pytest.raises(ScenarioError, match="missing column"):
        scenario_from_frames(pd.DataFrame({"SOL": [1.0, 2.0, 3.0]}, index=idx), pools[["pool"]])
    with pytest.raises(ScenarioError, match="not a number"):
        scenario_from_frames(pd.DataFrame({"SOL": ["a", "b", "c"]}, index=idx), pools)


# --- output paths, sinks ---------------------------------------------------------------


def test_output_paths_are_checked_before_a_run(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "new" / "x.csv", "--csv") == tmp_path / "new" / "x.csv"
    with pytest.raises(OutputPathError, match="is a directory"):
        check_writable(tmp_path, "--csv")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputPathError, match="--plot"):
        check_writable(tmp_path / "file" / "x.png", "--plot")
    with pytest.raises(OutputPathError, match="empty"):
        check_writable("", "--csv")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    try:
        if not os.access(ro, os.W_OK):
            with pytest.raises(OutputPathError, match="not writable"):
                check_writable(ro / "x.csv", "--csv")
    finally:
        ro.chmod(0o700)
    out = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "a.csv")
    assert out.read_text().startswith(",a")


def test_plot_to_an_unwritable_path_is_typed(tmp_path: Path) -> None:
    res = run_backtest(load_scenario(SAMPLE), CONFIG, engine="fast", steps=60)
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidInputError, match="cannot write plot"):
        res.plot(tmp_path / "file" / "x.png")


def test_bounded_sinks() -> None:
    from datetime import UTC, datetime

    sink = TailAuditSink(keep=3)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    sink.append_many([AuditEvent(at=at, kind="cycle", cycle=i) for i in range(10)])
    assert sink.total == 10
    assert sink.counts["cycle"] == 10
    assert [e.cycle for e in sink.events()] == [7, 8, 9]
    store = LatestStateStore()
    assert store.load() is None
    state = HedgeState(cycle=3)
    store.save(state)
    assert store.load() is state
    store.close()


# --- summaries -------------------------------------------------------------------------


def test_summary_for_notebooks() -> None:
    res = run_backtest(load_scenario(SAMPLE), CONFIG, engine="fast")
    s = res.summary()
    frame = s.to_frame()
    assert list(frame.index) == [*res.symbols, "total"]
    assert frame.loc["total", "fills"] == s.fills
    html = s._repr_html_()
    assert "<table>" in html
    assert "tracking_error_usd" in html
    assert s.tracking_error_usd > 0
    assert s.max_drawdown_usd >= 0
    assert s.time_hedged_within_threshold_pct == pytest.approx(100 - s.time_outside_threshold_pct)
    # The tracking error is the time-weighted RMS of the offset.
    f = res.to_frame()
    per_step = f.groupby(level="time")["offset_usd"].apply(lambda x: (x**2).sum())
    assert s.tracking_error_usd == pytest.approx(
        (per_step.iloc[:-1].mean() / len(res.symbols)) ** 0.5, rel=1e-9
    )
    assert "tracking error" in s.format()
    fig = res.plot()
    assert len(fig.axes) == 3
