from __future__ import annotations

import math
from pathlib import Path

import pytest

from xlp_core.config import HedgeConfig, env_overrides
from xlp_core.errors import ConfigError, InvalidInputError, MissingSymbolError
from xlp_core.hedge import ideal_hedges, normalise_symbol
from xlp_core.models import PoolSnapshot


def test_ideal_sums_pools_and_normalises() -> None:
    jlp = PoolSnapshot("JLP", {"SOL": 0.01, "ETH": 0.0004, "WBTC": 0.00001, "USDC": 1.0})
    alp = PoolSnapshot("ALP", {"BONK": 1000.0, "SOL": 0.02, "BTC": 0.00002})
    got = ideal_hedges({"JLP": 100.0, "ALP": 50.0}, [jlp, alp])
    assert got == pytest.approx({"SOL": -2.0, "ETH": -0.04, "BTC": -0.002, "BONK": -50000.0})
    assert "USDC" not in got


def test_zero_holding_needs_no_snapshot() -> None:
    assert ideal_hedges({"JLP": 0.0}, []) == {}


def test_missing_snapshot_is_an_error_not_zero() -> None:
    with pytest.raises(MissingSymbolError):
        ideal_hedges({"JLP": 1.0}, [])


@pytest.mark.parametrize("bad", [math.nan, -1.0, math.inf])
def test_bad_exposure(bad: float) -> None:
    with pytest.raises(InvalidInputError):
        ideal_hedges({"JLP": 1.0}, [PoolSnapshot("JLP", {"SOL": bad})])


def test_normalise() -> None:
    assert normalise_symbol(" wbtc ") == "BTC"
    assert normalise_symbol("sol") == "SOL"
    with pytest.raises(InvalidInputError):
        normalise_symbol(" ")


def test_defaults_are_reference_values() -> None:
    cfg = HedgeConfig()
    p = cfg.decision_params()
    assert (p.thresholds.min_usd, p.thresholds.max_usd, p.thresholds.step_usd) == (5, 20, 2.5)
    assert p.order_timeout.total_seconds() == 20 * 60
    assert p.cooldown.total_seconds() == 5 * 60
    assert p.close_ratio_pct == 40
    assert cfg.mode == "paper"
    assert cfg.exchange == "paper"


def test_toml_and_env(tmp_path: Path) -> None:
    f = tmp_path / "xlp.toml"
    f.write_text(
        "[hedge]\nthreshold_min_usd = 100\nthreshold_max_usd = 1000\nthreshold_step_usd = 20\n"
        'symbols = ["sol", "WBTC"]\n[hedge.pools]\nJLP = 1200.5\n'
        "[hedge.initial_offsets]\nsol = -1.5\n"
    )
    cfg = HedgeConfig.load(f, environ={"XLP_THRESHOLD_STEP_USD": "25", "XLP_POST_ONLY": "yes"})
    assert cfg.threshold_min_usd == 100
    assert cfg.threshold_step_usd == 25
    assert cfg.post_only is True
    assert cfg.symbols == ("SOL", "BTC")
    assert cfg.pools == {"JLP": 1200.5}
    assert cfg.initial_offsets == {"SOL": -1.5}


def test_env_maps() -> None:
    env = {"XLP_POOLS": "JLP=10, ALP=2.5", "XLP_INITIAL_OFFSETS": "BONK=-1000000"}
    cfg = HedgeConfig.load(environ=env)
    assert cfg.pools == {"JLP": 10.0, "ALP": 2.5}
    assert cfg.initial_offsets == {"BONK": -1e6}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"threshold_min": 5}, "threshold_min"),  # the reference bot's silent key mismatch
        ({"threshold_min_usd": 30}, "threshold_max_usd"),
        ({"threshold_min_usd": math.nan}, "threshold_min_usd"),
        ({"close_ratio_pct": 0}, "close_ratio_pct"),
        ({"close_ratio_pct": 150}, "close_ratio_pct"),
        ({"pools": {"JLP": -1}}, "pools.JLP"),
        ({"mode": "yolo"}, "mode"),
        ({"exchange": "lighter"}, "mode"),  # live venue requires mode = live
        ({"rate_limit_per_minute": 1.5}, "rate_limit_per_minute"),
        ({"post_only": "yes"}, "post_only"),
        ({"namespace": 3}, "namespace"),
        ({"journal_idle_fsync": "never"}, "journal_idle_fsync"),
        ({"journal_idle_fsync": 0}, "journal_idle_fsync"),
        ({"max_order_notional_usd": 100, "max_cycle_notional_usd": 50}, "max_cycle_notional_usd"),
    ],
)
def test_bad_config(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        HedgeConfig.from_mapping(data)
    assert info.value.field == field


def test_bad_env_values() -> None:
    with pytest.raises(ConfigError):
        env_overrides({"XLP_THRESHOLD_MIN_USD": "five"})
    with pytest.raises(ConfigError):
        env_overrides({"XLP_POOLS": "JLP"})
    with pytest.raises(ConfigError):
        env_overrides({"XLP_POST_ONLY": "maybe"})


def test_bad_toml(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("threshold_min_usd = [")
    with pytest.raises(ConfigError):
        HedgeConfig.load(f, environ={})
    with pytest.raises(ConfigError):
        HedgeConfig.load(tmp_path / "missing.toml", environ={})


def test_live_lighter_allowed_when_explicit() -> None:
    cfg = HedgeConfig.from_mapping({"exchange": "lighter", "mode": "live"})
    assert cfg.mode == "live"


def test_warnings_for_unusable_defaults() -> None:
    assert any("minimum order" in w for w in HedgeConfig().warnings())


KEY = "ab" * 40


def test_static_pools_field() -> None:
    cfg = HedgeConfig.from_mapping({"static_pools": {"jlp": {"sol": 0.02, "WBTC": 1e-5}}})
    assert cfg.static_pools == {"JLP": {"SOL": 0.02, "BTC": 1e-5}}
    env = HedgeConfig.load(environ={"XLP_STATIC_POOLS": "JLP:SOL=0.02,ETH=0.001;ALP:BONK=10"})
    assert env.static_pools == {"JLP": {"SOL": 0.02, "ETH": 0.001}, "ALP": {"BONK": 10.0}}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"static_pools": {"JLP": 5}}, "static_pools.JLP"),
        ({"static_pools": {"JLP": {}}}, "static_pools.JLP"),
        ({"static_pools": {"JLP": {"SOL": -1}}}, "static_pools.JLP.SOL"),
        ({"static_pools": {"JLP": {"SOL": "x"}}}, "static_pools.JLP.SOL"),
        ({"initial_offsets": {"SOL": "abc"}}, "initial_offsets.SOL"),
        ({"initial_offsets": {"SOL": 10**400}}, "initial_offsets.SOL"),
        ({"threshold_min_usd": True}, "threshold_min_usd"),
        ({"threshold_min_usd": "1e3"}, "threshold_min_usd"),
        ({"threshold_max_usd": 1e308}, "threshold_max_usd"),
        ({"rate_limit_per_minute": 10**30}, "rate_limit_per_minute"),
        ({"pools": [1, 2]}, "pools"),
        ({"symbols": "SOL"}, "symbols"),
    ],
)
def test_wrong_typed_values(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        HedgeConfig.from_mapping(data)
    assert info.value.field == field


@pytest.mark.parametrize(
    "text",
    ["hedge = 5\n", "hedge = [1]\n", "[[hedge]]\nmode = 'paper'\n", b"mode = '\xff'\n"],
)
def test_bad_structure(tmp_path: Path, text: str | bytes) -> None:
    f = tmp_path / "x.toml"
    f.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(ConfigError):
        HedgeConfig.load(f, environ={})
    with pytest.raises(ConfigError, match="directory"):
        HedgeConfig.load(tmp_path, environ={})


def test_unknown_env_variables_are_errors() -> None:
    with pytest.raises(ConfigError) as info:
        env_overrides({"XLP_THRESOLD_MIN_USD": "5"})
    assert info.value.field == "XLP_THRESOLD_MIN_USD"
    ok = {
        "XLP_LIGHTER_PRIVATE_KEY": KEY,
        "XLP_LIGHTER_ACCOUNT_INDEX": "1",
        "XLP_LIGHTER_API_KEY_INDEX": "3",
        "XLP_LOG_LEVEL": "DEBUG",
        "XLP_PURE_JSON": "1",
        "XLP_NOTIFY_URLS": "json://127.0.0.1:1/x",
        "OTHER": "x",
    }
    assert env_overrides(ok) == {"notify_urls": ["json://127.0.0.1:1/x"]}


def test_sources() -> None:
    from xlp_core.config import load_with_sources

    cfg, sources = load_with_sources(None, {"XLP_POOLS": "JLP=1"})
    assert cfg.pools == {"JLP": 1.0}
    assert sources["pools"] == "env"
    assert sources["threshold_min_usd"] == "default"


@pytest.mark.parametrize(
    "data",
    [
        {"threshold_min_usd": KEY},
        {"mode": KEY},
        {"exchange": KEY},
        {"namespace": 5, "threshold_max_usd": KEY},
        {"pools": {"JLP": KEY}},
        {"initial_offsets": {KEY: 1.0, "SOL": KEY}},
        {KEY: 1},
        {"rpc_url": 5, "lighter_base_url": f"https://x/{KEY}"},
        {"notify_urls": KEY},
    ],
)
def test_config_errors_never_echo_a_key(data: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as info:
        HedgeConfig.from_mapping(data)
    exc: BaseException | None = info.value
    while exc is not None:
        assert KEY[:24] not in str(exc)
        exc = exc.__cause__ or exc.__context__


@pytest.mark.parametrize("var", ["XLP_THRESHOLD_MIN_USD", "XLP_METRICS_PORT", "XLP_POOLS"])
def test_env_errors_have_no_chain_holding_the_value(var: str) -> None:
    with pytest.raises(ConfigError) as info:
        env_overrides({var: KEY})
    assert KEY[:24] not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_lighter_index_error_has_no_chain() -> None:
    from xlp_adapters.lighter.credentials import LighterCredentials

    env = {
        "XLP_LIGHTER_PRIVATE_KEY": KEY,
        "XLP_LIGHTER_ACCOUNT_INDEX": KEY,
        "XLP_LIGHTER_API_KEY_INDEX": "3",
    }
    with pytest.raises(ConfigError) as info:
        LighterCredentials.from_env(env)
    assert KEY not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
