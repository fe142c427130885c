"""``xlp --version/--help``, ``config``, ``status``, ``audit``, ``backtest``: operator commands."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

from xlp_adapters import cli
from xlp_adapters.cli import main
from xlp_core.config import HedgeConfig

SAMPLE = Path(__file__).parents[1] / "examples" / "data" / "sample"


def xlp(*args: str) -> list[str]:
    return [sys.executable, "-m", "xlp_adapters.cli", *args]


def run_sample(tmp_path: Path) -> list[str]:
    paths = ["--state", str(tmp_path / "s.sqlite"), "--audit", str(tmp_path / "a.sqlite")]
    # A flat paper account (an explicit position instead of the ideal hedge
    # a sample run starts from) puts every symbol above max: alerts to read.
    flat = ["--paper-position", "SOL=0"]
    assert main(["run", "--sample", "--max-cycles", "2", "--interval", "0.01", *flat, *paths]) == 0
    return paths


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("xlp ")


def test_every_subcommand_and_option_has_help() -> None:
    for name, command in cli.COMMANDS.items():
        if not command.available():
            continue
        parser, _ = cli.build_parser([name])
        (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        chosen = sub.choices[name]
        assert chosen.description, name
        for action in chosen._actions:
            assert action.help, f"xlp {name} {action.option_strings or action.dest}: no help"
        for action in parser._actions:
            assert action.help or isinstance(action, argparse._SubParsersAction)


def test_help_does_not_import_subcommands() -> None:
    code = (
        "import sys; from xlp_adapters.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('xlp_adapters.cli.run', 'xlp_adapters.cli._common', 'pandas',"
        " 'httpx', 'xlp_adapters.backtest', 'logging') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\nassert not heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_registry_takes_new_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = types.ModuleType("fake_sweep_cli")

    def add_parser(subparsers: object) -> object:
        p = subparsers.add_parser("fake", help="a fake command")  # type: ignore[attr-defined]
        p.add_argument("--n", type=int, default=1, help="how many")
        return p

    module.add_parser = add_parser  # type: ignore[attr-defined]
    module.run = lambda args: 7 if args.n == 3 else 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_sweep_cli", module)
    monkeypatch.setitem(cli.COMMANDS, "fake", cli.Command("fake_sweep_cli", "a fake command"))
    assert main(["fake", "--n", "3"]) == 7
    # An optional command whose module is absent is simply not offered.
    missing = cli.Command("xlp_adapters.no_such_module", "absent", optional=True)
    assert not missing.available()


@pytest.mark.parametrize("argv", [["--log-level", "loud", "status"], ["status"]])
def test_bad_log_level_is_one_line(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XLP_LOG_LEVEL", "chatty")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("xlp: ")


def test_config_is_toml_with_sources_and_masked_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "xlp.toml"
    cfg.write_text(
        '[hedge]\npools = { JLP = 10.0 }\nnotify_urls = ["tgram://123456:ABCDEF@chat"]\n'
        "static_pools = { JLP = { SOL = 0.02 } }\n"
    )
    env = {"XLP_THRESHOLD_MIN_USD": "7"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        assert main(["config", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "ABCDEF" not in out
    parsed = tomllib.loads(out)["hedge"]
    lines = {line.split(" = ")[0]: line for line in out.splitlines() if " = " in line}
    assert lines["pools"].endswith("# file")
    assert lines["threshold_min_usd"].endswith("# env XLP_THRESHOLD_MIN_USD")
    assert lines["threshold_max_usd"].endswith("# default")
    parsed.pop("notify_urls")
    again = HedgeConfig.from_mapping(parsed)
    assert again.threshold_min_usd == 7.0
    assert again.static_pools == {"JLP": {"SOL": 0.02}}


def test_status_and_audit_after_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = run_sample(tmp_path)
    capsys.readouterr()
    assert main(["status", "--json", *paths]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["state"]["cycle"] == 2
    assert status["last_cycle"]["cycle"] == 2
    assert status["breaker"] == "closed"
    assert main(["status", *paths]) == 0
    assert "last cycle: 2" in capsys.readouterr().out
    audit = ["--audit", paths[3]]
    assert main(["audit", *audit, "--kind", "alert", "--symbol", "sol"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events  # alert repeats are rate-limited: one for the two cycles
    assert {(e["kind"], e["symbol"]) for e in events} == {("alert", "SOL")}
    assert main(["audit", *audit, "--cycle", "1", "--format", "table", "--tail", "1"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 2
    assert "cycle_end" in table[1]
    assert main(["audit", *audit, "--since", "2000-01-01", "--until", "1h"]) == 0
    assert capsys.readouterr().out == ""


def test_status_and_audit_never_create_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = ["--state", str(tmp_path / "s.sqlite"), "--audit", str(tmp_path / "a.sqlite")]
    assert main(["status", *paths]) == 0
    assert main(["audit", "--audit", str(tmp_path / "a.sqlite")]) == 3
    assert list(tmp_path.iterdir()) == []


def test_audit_into_a_closed_pipe(tmp_path: Path) -> None:
    paths = run_sample(tmp_path)
    shell = f"{' '.join(xlp('audit', '--audit', paths[3]))} | head -1"
    out = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") == 1
    assert "Traceback" not in out.stderr
    assert "BrokenPipe" not in out.stderr


def test_backtest_sample_ignores_env_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XLP_THRESHOLD_MIN_USD", "100")
    args = ["backtest", "--sample", "--steps", "120", "--no-progress", "--engine", "fast"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "XLP_* env ignored" in out
    assert "threshold_min_usd: 25.0 (file)" in out
    assert main([*args, "--env"]) == 0
    out = capsys.readouterr().out
    assert "threshold_min_usd: 100.0 (env)" in out


def test_backtest_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png, csv = tmp_path / "p.png", tmp_path / "r.csv"
    code = main([
        "backtest", str(SAMPLE), "--steps", "240", "--no-progress", "--plot", str(png),
        "--csv", str(csv), "--state", str(tmp_path / "bs.sqlite"),
        "--audit", str(tmp_path / "ba.sqlite"),
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "engine cycle" in out
    assert png.stat().st_size > 1000
    assert csv.read_text().count("\n") > 100


def test_status_and_audit_on_json_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state, log = str(tmp_path / "s.json"), tmp_path / "a.jsonl"
    paths = ["--state", state, "--audit", str(log)]
    assert main(["run", "--sample", "--max-cycles", "2", "--interval", "0.01", *paths]) == 0
    with log.open("ab") as fh:
        fh.write(b'{"at": "2026-01-01T00:00')  # a write in flight: skipped, not an error
    capsys.readouterr()
    assert main(["status", "--json", *paths]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["state"]["cycle"] == 2
    assert status["last_cycle"]["cycle"] == 2
    assert main(["audit", "--audit", str(log), "--kind", "cycle_end"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join([lines[0], b"{not json}\n", *lines[1:]]))
    assert main(["audit", "--audit", str(log)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("xlp: AuditError")
    assert err.count("\n") == 1


def test_generator_writes_hedge_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xlp_adapters.backtest.data import main as generate

    assert generate([str(tmp_path), "--days", "0.05"]) == 0
    assert (tmp_path / "hedge.toml").read_text() == (SAMPLE / "hedge.toml").read_text()
    assert main(["backtest", str(tmp_path), "--engine", "fast", "--no-progress"]) == 0
    assert f"config: {tmp_path / 'hedge.toml'}" in capsys.readouterr().out
