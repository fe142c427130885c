"""The README's and docs' Python examples run as written; the examples/ scripts run."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


@pytest.mark.parametrize(
    "doc", ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
)
def test_python_blocks_run(doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for code in blocks(ROOT / doc):
        if "# not run" in code:
            continue
        exec(compile(code, doc, "exec"), {"__name__": "__doc_example__"})


@pytest.mark.parametrize("script", ["custom_strategy.py", "custom_exchange.py"])
def test_examples_run(script: str) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip()


def readme_commands() -> list[list[str]]:
    """The ``$ xlp ...`` lines of README's "Command line" section, comments dropped."""
    section = (ROOT / "README.md").read_text().split("## Command line", 1)[1].split("\n## ", 1)[0]
    out = []
    for line in section.splitlines():
        if line.startswith("$ xlp"):
            out.append(shlex.split(line[2:].split("  #", 1)[0])[1:])
    return out


def test_readme_command_lines_are_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every README command parses; the offline ones run (exit 0) from an empty directory."""
    from xlp_adapters import cli

    commands = readme_commands()
    assert len(commands) >= 8
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "examples" / "data" / "sample" / "hedge.toml", tmp_path / "xlp.toml")
    runnable = {"run --sample --once", "config --config xlp.toml", "status --json", "--version"}
    ran = set()
    for argv in commands:
        parser, _ = cli.build_parser(argv)
        if argv == ["--version"]:
            with pytest.raises(SystemExit) as info:
                cli.main(argv)
            assert info.value.code == 0
            ran.add("--version")
            continue
        parser.parse_args(argv)  # raises SystemExit on an option that does not exist
        text = " ".join(argv)
        if text in runnable or text.startswith("audit "):
            assert cli.main(argv) == 0, capsys.readouterr().err
            ran.add(text)
    assert runnable <= ran
