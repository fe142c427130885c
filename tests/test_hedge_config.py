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
