"""Bad input on the command line: one ``xlp: ...`` line, exit 2 (or 3), nothing sent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xlp_adapters.cli import main

KEY = "ab" * 40  # a fake 80-hex-character Lighter key


def config(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bad.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


GOOD = (
    "[hedge]\npools = { JLP = 1000.0 }\nthreshold_min_usd = 100.0\nthreshold_max_usd = 1e5\n"
    "threshold_step_usd = 100.0\n"
)

BAD_CONFIGS: list[str | bytes] = [
    "hedge = 5\n",
    "hedge = [1, 2]\n",
    "[[hedge]]\npools = {}\n",
    b'[hedge]\nmode = "\xff\xfe"\n',
    '[hedge]\ninitial_offsets = { SOL = "abc" }\n',
    "[hedge]\nthreshold_min_usd = true\n",
    '[hedge]\nthreshold_min_usd = "1e3"\n',
    "[hedge]\nthreshold_max_usd = 1e308\n",
    "[hedge]\nrate_limit_per_minute = 99999999999999999999\n",
    "[hedge]\nmetrics_port = 123456789012345678\n",
    "[hedge]\npools = { JLP = 1e400 }\n",
    "[hedge]\nstatic_pools = { JLP = 5 }\n",
    "[hedge]\nstatic_pools = { JLP = { SOL = -1 } }\n",
    '[hedge]\nsymbols = "SOL"\n',
    "[hedge]\nnot_a_setting = 1\n",
    "[hedge\n",
]


def run_args(tmp_path: Path, cfg: Path, *extra: str) -> list[str]:
    return [
        "run", "--config", str(cfg), "--once", "--state", str(tmp_path / "s.sqlite"),
        "--audit", str(tmp_path / "a.sqlite"), *extra,
    ]  # fmt: skip


def assert_refused(code: int, err: str, tmp_path: Path, expected: int = 2) -> None:
    assert code == expected, err
    assert err.startswith("xlp: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    # Nothing was sent: no order intent ever reached the audit log.
    audit = tmp_path / "a.sqlite"
    if audit.exists():
        from xlp_adapters.cli._records import read_events

        assert not [e for e in read_events(str(audit)) if e.kind == "order_intent"]


@pytest.mark.parametrize("text", BAD_CONFIGS)
@pytest.mark.parametrize("command", ["run", "config"])
def test_bad_config_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, command: str
) -> None:
    cfg = config(tmp_path, text)
    argv = run_args(tmp_path, cfg) if command == "run" else ["config", "--config", str(cfg)]
    code = main(argv)
    assert_refused(code, capsys.readouterr().err, tmp_path)


def test_config_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(run_args(tmp_path, tmp_path))
    assert_refused(code, capsys.readouterr().err, tmp_path)


@pytest.mark.parametrize(
    "extra",
    [
        ["--paper-price", "SOL"],
        ["--paper-price", "SOL=abc"],
        ["--paper-price", "SOL=nan"],
        ["--paper-price", ""],
        ["--paper-price", "SOL=150", "--static-pool", "JLP"],
        ["--paper-price", "SOL=150", "--static-pool", "JLP:SOL=x"],
        ["--paper-price", "SOL=150", "--static-pool", "JLP:SOL=-1"],
        ["--paper-price", "SOL=150", "--paper-position", "SOL=1e999"],
        ["--paper-price", "SOL=150", "--max-cycles", "0"],
        ["--paper-price", "SOL=150", "--max-cycles", "-3"],
        ["--paper-price", "SOL=150", "--feed", "replay"],
        ["--paper-price", "SOL=150", "--feed", "bogus"],
        ["--feed", "replay:/nonexistent/dir"],
        ["--feed", "fixed"],
        ["--paper-price", "SOL=150", "--paper-state", "/proc/xlp-paper.json"],  # even for root
        [],  # paper with no price source at all
    ],
)
def test_bad_run_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    cfg = config(tmp_path, GOOD)
    args = run_args(tmp_path, cfg, *extra)
    if "--max-cycles" in extra:
        args.remove("--once")
    code = main(args)
    assert_refused(code, capsys.readouterr().err, tmp_path)


@pytest.mark.parametrize("snapshot", [b"[]", b"null", b"{broken", b"\xff\xfe", b'{"version": 1}'])
def test_malformed_paper_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], snapshot: bytes
) -> None:
    cfg = config(tmp_path, GOOD)
    (tmp_path / "paper.json").write_bytes(snapshot)
    argv = run_args(
        tmp_path, cfg, "--paper-price", "SOL=150", "--static-pool", "JLP:SOL=0.1",
        "--paper-state", str(tmp_path / "paper.json"),
    )  # fmt: skip
    code = main(argv)
    # A corrupt paper account is stored state: exit 3, the file kept as it was.
    assert_refused(code, capsys.readouterr().err, tmp_path, expected=3)
    assert (tmp_path / "paper.json").read_bytes() == snapshot


@pytest.mark.parametrize("flag", ["--csv", "--plot"])
def test_unwritable_backtest_targets_refused_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for target in (tmp_path, blocker / "under-a-file.csv"):
        code = main(["backtest", "--sample", "--no-progress", flag, str(target)])
        err = capsys.readouterr()
        assert code == 2, err
        assert err.out == ""  # refused before the backtest ran
        assert err.err.startswith("xlp: ")
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        assert main(["backtest", "--sample", "--no-progress", flag, str(ro / "x")]) == 2


@pytest.mark.parametrize(
    "argv", [["backtest", "--sample", "--steps", "0"], ["backtest"], ["audit", "--since", "soon"]]
)
def test_bad_backtest_and_audit_arguments(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("xlp: ")


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["run", "--max-cycles", "x"], ["nope"], [], ["run", "--max-cycles", KEY]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("xlp: ")
        assert err.count("\n") == 1
        assert KEY[:24] not in err


def test_unknown_environment_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XLP_THRESHOLD_MIN", "5")  # misspelt: _USD missing
    assert main(["config", "--config", str(config(tmp_path, GOOD))]) == 2
    assert "XLP_THRESHOLD_MIN" in capsys.readouterr().err
    monkeypatch.delenv("XLP_THRESHOLD_MIN")
    monkeypatch.setenv("XLP_LIGHTER_PRIVATE_KEY", KEY)  # not a setting, but legitimate
    monkeypatch.setenv("XLP_LOG_LEVEL", "warning")
    assert main(["config", "--config", str(config(tmp_path, GOOD))]) == 0


# --- secrets on misconfiguration paths -------------------------------------------


def chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


SECRET_PATHS = [
    ("toml", f'[hedge]\nthreshold_min_usd = "{KEY}"\n'),
    ("toml", f'[hedge]\nnamespace = 0x{KEY[:8]}\nmode = "{KEY}"\n'),
    ("toml", f'[hedge]\ninitial_offsets = {{ SOL = "{KEY}" }}\n'),
    ("toml", f'[hedge]\nexchange = "{KEY}"\n'),
    ("toml", f'[hedge]\nnotify_urls = "{KEY}"\n'),
    ("toml", f'[hedge]\nsymbols = ["{KEY}"]\n'),
    ("env", ("XLP_THRESHOLD_MIN_USD", KEY)),
    ("env", ("XLP_RATE_LIMIT_PER_MINUTE", KEY)),
    ("env", ("XLP_POST_ONLY", KEY)),
    ("env", ("XLP_POOLS", f"JLP={KEY}")),
    ("env", ("XLP_POOLS", KEY)),
    ("env", ("XLP_STATIC_POOLS", KEY)),
    ("env", ("XLP_MODE", KEY)),
    ("env", ("XLP_LIGHTER_ACCOUNT_INDEX", KEY)),
    ("env", ("XLP_LIGHTER_API_KEY_INDEX", KEY)),
    ("arg", ["--paper-price", f"SOL={KEY}"]),
    ("arg", ["--paper-price", KEY]),
    ("arg", ["--static-pool", f"{KEY}"]),
    ("arg", ["--paper-position", f"{KEY}=1"]),
]


@pytest.mark.parametrize(("where", "what"), SECRET_PATHS)
def test_a_key_in_the_wrong_place_is_never_echoed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    what: object,
) -> None:
    from xlp_adapters.cli import _common

    live = 'exchange = "lighter"\nmode = "live"\n'
    text = what if where == "toml" else GOOD
    extra: list[str] = []
    if where == "env":
        assert isinstance(what, tuple)
        name: str = what[0]
        value: str = what[1]
        monkeypatch.setenv(name, value)
        if name.startswith("XLP_LIGHTER_"):
            monkeypatch.setenv("XLP_LIGHTER_PRIVATE_KEY", "cd" * 40)
            monkeypatch.setenv("XLP_LIGHTER_ACCOUNT_INDEX", "1")
            monkeypatch.setenv("XLP_LIGHTER_API_KEY_INDEX", "3")
            monkeypatch.setenv(name, value)
            text = GOOD + live
            extra = ["--live"]
    if where == "arg":
        extra = list(what)  # type: ignore[call-overload]
    raised: list[BaseException] = []
    real_report = _common.report

    def spy(exc: BaseException) -> int:
        raised.append(exc)
        return real_report(exc)  # type: ignore[arg-type]

    monkeypatch.setattr(_common, "report", spy)
    cfg = config(tmp_path, str(text))
    code = main(run_args(tmp_path, cfg, *extra))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert KEY not in out + err
    assert KEY[:30] not in out + err
    assert all(KEY[:30] not in r.getMessage() for r in caplog.records)
    assert raised
    for exc in chain(raised[0]):
        assert KEY[:30] not in str(exc)
        assert KEY[:30] not in repr(exc.args)


def test_error_lines_scrub_the_lighter_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xlp_adapters.cli._common import report
    from xlp_core.errors import ExchangeError

    monkeypatch.setenv("XLP_LIGHTER_PRIVATE_KEY", f"0x{KEY}")
    assert report(ExchangeError(f"signer refused {KEY}")) == 1
    err = capsys.readouterr().err
    assert KEY not in err
    assert "signer refused ***" in err


def bad_data(tmp_path: Path, kind: str) -> Path:
    d = tmp_path / kind
    d.mkdir()
    sample = Path(__file__).parents[1] / "examples" / "data" / "sample"
    (d / "pools.csv").write_bytes((sample / "pools.csv").read_bytes())
    head = b"timestamp,symbol,price\n"
    if kind == "directory":
        (d / "prices.csv").mkdir()
    elif kind == "not-utf8":
        (d / "prices.csv").write_bytes(head + b"\xff\xfe,SOL,1\n")
    else:  # a field over the csv module's limit
        (d / "prices.csv").write_bytes(
            head + b'2025-01-01T00:00:00Z,SOL,"' + b"9" * 200_000 + b'"\n'
        )
    return d


@pytest.mark.parametrize("kind", ["directory", "not-utf8", "huge-field"])
def test_bad_data_files_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    data = bad_data(tmp_path, kind)
    assert main(["backtest", str(data), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xlp: "), err
    assert err.count("\n") == 1, err
    cfg = config(tmp_path, GOOD)
    code = main(run_args(tmp_path, cfg, "--feed", f"replay:{data}", "--static-pool", "JLP:SOL=1"))
    assert_refused(code, capsys.readouterr().err.splitlines()[-1] + "\n", tmp_path)


def test_a_bug_is_one_line_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(args: object) -> int:
        raise TypeError(f"unsupported operand near {KEY}")

    monkeypatch.setenv("XLP_LIGHTER_PRIVATE_KEY", KEY)
    monkeypatch.setattr("xlp_adapters.cli.status.run", broken)
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("xlp: TypeError: internal error")
    assert err.count("\n") == 1
    assert KEY not in err


def test_output_under_a_pseudo_filesystem_is_refused_up_front(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Found by the CLI fuzz: root may 'access' /proc, but nothing can be created there."""
    code = main(["backtest", "--sample", "--engine", "fast", "--csv", "/proc/nope/x.csv"])
    assert_refused(code, capsys.readouterr().err, tmp_path)
