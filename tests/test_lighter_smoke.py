"""scripts/lighter_smoke.py end to end against the simulator (it cannot reach the venue here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("lighter")

from lighter_rig import ACCOUNTS
from xlp_adapters.lighter.sim import LighterSim

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "lighter_smoke.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lighter_smoke", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_script_against_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    smoke = load()
    with LighterSim() as sim:
        account, key = sim.new_account(next(ACCOUNTS))
        env = {"XLP_LIGHTER_PRIVATE_KEY": key, "XLP_LIGHTER_ACCOUNT_INDEX": str(account),
               "XLP_LIGHTER_API_KEY_INDEX": "3"}  # fmt: skip
        assert smoke.main(["--base-url", sim.url, "--lookup-wait", "2"], env) == 0
        (order,) = sim.orders(account)
        assert order.time_in_force == "post-only"
        assert order.status == "canceled"
    out = capsys.readouterr().out
    assert "result         OK" in out
    assert key.removeprefix("0x")[:16] not in out


def test_smoke_script_refuses_mainnet_unless_told(capsys: pytest.CaptureFixture[str]) -> None:
    smoke = load()
    env = {"XLP_LIGHTER_PRIVATE_KEY": "0x" + "ab" * 40, "XLP_LIGHTER_ACCOUNT_INDEX": "1",
           "XLP_LIGHTER_API_KEY_INDEX": "3"}  # fmt: skip
    assert smoke.main(["--base-url", "https://mainnet.zklighter.elliot.ai"], env) == 2
    assert smoke.main(["--chain-id", "304"], env) == 2
    assert "--mainnet" in capsys.readouterr().out


def test_smoke_script_bad_key_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    smoke = load()
    with LighterSim() as sim:
        account, _key = sim.new_account(next(ACCOUNTS))
        _other, other_key = sim.new_account(next(ACCOUNTS))
        env = {"XLP_LIGHTER_PRIVATE_KEY": other_key, "XLP_LIGHTER_ACCOUNT_INDEX": str(account),
               "XLP_LIGHTER_API_KEY_INDEX": "3"}  # fmt: skip
        assert smoke.main(["--base-url", sim.url], env) == 2
        assert sim.counts["sendTx"] == 0
    assert other_key.removeprefix("0x")[:16] not in capsys.readouterr().out
