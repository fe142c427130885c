"""``xlp run``: paper by default, live only when asked, graceful stops, offline replays."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xlp_adapters.audit import SqliteAuditSink
from xlp_adapters.cli import main
from xlp_adapters.stores import SqliteStateStore
from xlp_core import audit as A
from xlp_core.errors import StartupError, StateError

SAMPLE = Path(__file__).parents[1] / "examples" / "data" / "sample"


def xlp(*args: str) -> list[str]:
    return [sys.executable, "-m", "xlp_adapters.cli", *args]


def write_config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "xlp.toml"
    cfg.write_text(
        "[hedge]\npools = { JLP = 1000.0 }\nthreshold_min_usd = 100.0\n"
        "threshold_max_usd = 100000.0\nthreshold_step_usd = 100.0\n" + extra
    )
    return cfg


def run_args(tmp_path: Path, cfg: Path) -> list[str]:
    return [
        "run", "--config", str(cfg), "--paper-price", "SOL=150", "--static-pool", "JLP:SOL=0.1",
        "--interval", "0.05", "--state", str(tmp_path / "s.sqlite"),
        "--audit", str(tmp_path / "a.sqlite"),
    ]  # fmt: skip


def test_run_once_on_paper(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert main([*run_args(tmp_path, cfg), "--once"]) == 0
    out = capsys.readouterr().out
    assert "cycle 1: SOL:" in out
    state = SqliteStateStore(tmp_path / "s.sqlite").load()
    assert state is not None
    assert state.cycle == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_gracefully(tmp_path: Path, sig: signal.Signals) -> None:
    cfg = write_config(tmp_path)
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    proc = subprocess.Popen(
        xlp(*run_args(tmp_path, cfg)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    seen = 0
    while seen < 3 and time.monotonic() < deadline:
        # select() so that a stuck child fails the test instead of hanging it.
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready and " cycle " in proc.stdout.readline():
            seen += 1
    assert seen == 3, "the hedger did not run three cycles"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert "stopped after" in out
    assert "signal" in out
    audit = SqliteAuditSink(tmp_path / "a.sqlite")
    kinds = [e.kind for e in audit.events()]
    audit.close()
    # Every cycle that started also finished: nothing was cut in half.
    assert kinds.count(A.CYCLE_START) == kinds.count(A.CYCLE_END) >= 3


def test_real_venue_needs_live_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, 'exchange = "lighter"\nmode = "live"\n')
    assert main(["run", "--config", str(cfg), "--once"]) == 2
    assert "LiveTradingNotEnabledError" in capsys.readouterr().err


def test_live_without_credentials_is_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in (
        "XLP_LIGHTER_PRIVATE_KEY",
        "XLP_LIGHTER_ACCOUNT_INDEX",
        "XLP_LIGHTER_API_KEY_INDEX",
    ):
        monkeypatch.delenv(var, raising=False)
    cfg = write_config(tmp_path, 'exchange = "lighter"\nmode = "live"\n')
    assert main(["run", "--config", str(cfg), "--once", "--live"]) == 2
    assert "XLP_LIGHTER_PRIVATE_KEY" in capsys.readouterr().err


def test_lighter_without_live_mode_is_refused(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, 'exchange = "lighter"\n')
    assert main(["config", "--config", str(cfg)]) == 2


def test_corrupt_state_is_refused_and_kept(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    state = tmp_path / "s.sqlite"
    state.write_bytes(b"not a database")
    assert main([*run_args(tmp_path, cfg), "--once"]) == 3
    assert state.read_bytes() == b"not a database"


def test_paper_account_survives_restarts(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    args = [*run_args(tmp_path, cfg), "--once", "--paper-position", "SOL=-95"]
    assert main(args) == 0
    snapshot = tmp_path / "s.sqlite.paper.json"
    assert snapshot.exists()
    first = json.loads(snapshot.read_text())
    assert first["accounts"]["SOL"]["position"] == -95.0
    (resting,) = first["resting"]["SOL"]  # the sell limit for part of the +5 SOL excess
    assert main([*run_args(tmp_path, cfg), "--once"]) == 0  # the account comes from the file
    second = json.loads(snapshot.read_text())
    assert second["accounts"]["SOL"]["position"] == -95.0
    assert second["resting"]["SOL"] == [resting]  # reconciled: adopted, not doubled
    snapshot.write_text("{broken")
    assert main([*run_args(tmp_path, cfg), "--once"]) == 3  # stored state: corrupt


STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def test_every_output_line_is_timestamped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path)
    assert main([*run_args(tmp_path, cfg), "--max-cycles", "2"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 3
    assert all(STAMP.match(line) for line in lines), lines


def test_replay_feed_runs_offline_and_stops_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "prices.csv").write_text(
        "timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL,150\n2025-01-01T00:01:00Z,SOL,151\n"
    )
    (data / "pools.csv").write_text(
        "timestamp,pool,symbol,per_token\n2025-01-01T00:00:00Z,JLP,SOL,0.1\n"
    )
    cfg = write_config(tmp_path)
    args = [
        "run", "--config", str(cfg), "--feed", f"replay:{data}", "--interval", "0.01",
        "--state", str(tmp_path / "s.sqlite"), "--audit", str(tmp_path / "a.sqlite"),
    ]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count(" cycle ") == 2
    assert "replay data exhausted" in out


def test_static_pools_from_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "static_pools = { JLP = { SOL = 0.1 } }\n")
    args = [
        "run", "--config", str(cfg), "--paper-price", "SOL=150", "--once",
        "--state", str(tmp_path / "s.sqlite"), "--audit", str(tmp_path / "a.sqlite"),
    ]  # fmt: skip
    assert main(args) == 0
    assert "cycle 1: SOL:" in capsys.readouterr().out


def test_sample_run_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--sample", "--once"]) == 0
    assert "cycle 1: BONK:" in capsys.readouterr().out
    assert (tmp_path / "xlp.sqlite").exists()


def test_once_with_errors_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    # SOL is exposed by the pool but only ETH is priced: the cycle has an error.
    args = [
        "run", "--config", str(cfg), "--paper-price", "ETH=3000", "--static-pool",
        "JLP:SOL=0.1", "--once", "--state", str(tmp_path / "s.sqlite"),
        "--audit", str(tmp_path / "a.sqlite"),
    ]  # fmt: skip
    assert main(args) == 1
    assert "with errors" in capsys.readouterr().out


def test_offline_lighter_feed_gives_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    # A closed port on loopback: every request fails at once.
    cfg = write_config(tmp_path, 'lighter_base_url = "http://127.0.0.1:9"\n')
    args = [
        "run", "--config", str(cfg), "--feed", "lighter", "--static-pool", "JLP:SOL=0.1",
        "--state", str(tmp_path / "s.sqlite"), "--audit", str(tmp_path / "a.sqlite"),
    ]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "StartupError" in err
    assert "Traceback" not in err


def test_state_locked_names_the_holder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xlp_adapters.cli import _common
    from xlp_adapters.stores import SqliteStateStore
    from xlp_core.errors import StateLockedError

    cfg = write_config(tmp_path)
    argv = [*run_args(tmp_path, cfg), "--once"]
    holder = SqliteStateStore(argv[argv.index("--state") + 1])  # another hedger's lock
    try:
        assert main(argv) == 3
    finally:
        holder.close()
    err = capsys.readouterr().err.strip()
    assert str(os.getpid()) in err
    assert "StateLockedError" in err
    assert len(err.splitlines()) == 1
    assert isinstance(StateLockedError("x", holder_pid=1), StateError)
    assert _common.report(StartupError("venue down after 5 attempts")) == 1


@pytest.mark.parametrize("name", ["a.sqlite", "a.jsonl"])
def test_run_audit_scrubs_the_lighter_key(tmp_path: Path, name: str) -> None:
    from datetime import UTC, datetime

    from xlp_adapters.cli._common import secret_values
    from xlp_adapters.journal import open_audit

    key = "ab" * 40
    secrets = secret_values({"XLP_LIGHTER_PRIVATE_KEY": f"0x{key}"})
    audit = open_audit(str(tmp_path / name), secrets)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    audit.append(A.AuditEvent(at, "error", 1, "SOL", {"message": f"signer refused 0x{key}"}))
    (event,) = list(audit.events())
    audit.close()
    assert key not in json.dumps(event.data)
    assert event.data["message"] == "signer refused ***"


def test_missing_lighter_extra_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xlp_adapters.lighter", None)  # import fails
    cfg = write_config(tmp_path, 'exchange = "lighter"\nmode = "live"\n')
    assert main(["run", "--config", str(cfg), "--once", "--live"]) == 2
    err = capsys.readouterr().err
    assert "MissingExtraError" in err
    assert "xlp-core[lighter]" in err


def test_replay_without_pools_csv_uses_static_pools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "prices-only"
    data.mkdir()
    (data / "prices.csv").write_text("timestamp,symbol,price\n2025-01-01T00:00:00Z,SOL,150\n")
    cfg = write_config(tmp_path, "static_pools = { JLP = { SOL = 0.1 } }\n")
    args = [
        "run", "--config", str(cfg), "--feed", f"replay:{data}", "--once",
        "--state", str(tmp_path / "s.sqlite"), "--audit", str(tmp_path / "a.sqlite"),
    ]  # fmt: skip
    assert main(args) == 0
    assert "cycle 1: SOL:" in capsys.readouterr().out


def test_cycle_line_shows_each_pools_exposure_in_usd_and_share() -> None:
    """Per-token exposure, as a user checks it against the pool's published composition."""
    from xlp_adapters.cli.run import describe
    from xlp_core.cycle import CycleReport
    from xlp_core.models import PoolSnapshot
    from xlp_core.state import HedgeState

    snap = PoolSnapshot(
        "JLP",
        {"SOL": 0.02, "ETH": 0.0003},
        usd_per_token={"SOL": 1.6, "ETH": 0.6},
        share={"SOL": 0.4, "ETH": 0.15},
        lp_price_usd=4.0,
    )
    report = CycleReport(
        cycle=3,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        symbols={},
        errors=(),
        state=HedgeState(),
        pools=(snap,),
    )
    line = describe(report)
    assert "JLP per token of $4.0000: ETH $0.6000 (15.0%), SOL $1.6000 (40.0%)" in line


def test_a_replayed_paper_run_starts_from_the_ideal_hedge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference rules only alert beyond max: a sample run must not start flat."""
    state = ["--state", str(tmp_path / "x.sqlite"), "--audit", str(tmp_path / "x.sqlite")]
    assert main(["run", "--sample", "--once", *state]) == 0
    out = capsys.readouterr().out
    assert "starts from the ideal hedge" in out
    assert "alert" not in out.split("starts from the ideal hedge", 1)[1]
