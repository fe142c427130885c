"""The README's and docs' Python examples run as written and use only public names;
the examples/ scripts run, from the checkout and from an installed wheel."""

from __future__ import annotations

import ast
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import xlp_adapters
import xlp_core

ROOT = Path(__file__).parents[1]
DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
EXAMPLES = ["custom_strategy.py", "custom_exchange.py"]
PUBLIC = {"xlp_core": set(xlp_core.__all__), "xlp_adapters": set(xlp_adapters.__all__)}


def blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown file."""
    out: list[str] = []
    lines: list[str] | None = None
    for line in path.read_text().splitlines():
        if lines is None and line.strip() == "```python":
            lines = []
        elif lines is not None and line.strip() == "```":
            out.append("\n".join(lines) + "\n")
            lines = None
        elif lines is not None:
            lines.append(line)
    return out


@pytest.mark.parametrize("doc", DOCS)
def test_python_blocks_run(doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A document's blocks run in order in one namespace, like a reader pasting them."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    for code in blocks(ROOT / doc):
        if "# not run" in code:
            continue
        exec(compile(code, doc, "exec"), namespace)


def non_public_imports(code: str) -> list[str]:
    """Imports reaching past the flat API (``xlp_core.cycle``, a name not in ``__all__``)."""
    bad: list[str] = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PUBLIC and alias.name not in PUBLIC:
                    bad.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            if top not in PUBLIC:
                continue
            if node.module not in PUBLIC:
                bad.append(f"from {node.module} import ...")
                continue
            bad += [f"{node.module}.{a.name}" for a in node.names if a.name not in PUBLIC[top]]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "xlp"  # `import xlp_core as xlp`
            and node.attr not in PUBLIC["xlp_core"]
        ):
            bad.append(f"xlp.{node.attr}")
    return bad


@pytest.mark.parametrize("source", [*DOCS, *(f"examples/{e}" for e in EXAMPLES)])
def test_examples_use_only_public_names(source: str) -> None:
    path = ROOT / source
    codes = [path.read_text()] if path.suffix == ".py" else blocks(path)
    bad = [b for code in codes for b in non_public_imports(code)]
    assert bad == [], f"{source} reaches past the public API: {bad}"


def test_the_public_name_check_catches_private_paths() -> None:
    assert non_public_imports("from xlp_core.cycle import run_hedge_cycle") == [
        "from xlp_core.cycle import ..."
    ]
    assert non_public_imports("import xlp_core as xlp\nxlp.cycle") == ["xlp.cycle"]
    assert non_public_imports("from xlp_adapters import PaperExchange, Nope") == [
        "xlp_adapters.Nope"
    ]


def _run(script: Path, *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("script", EXAMPLES)
def test_examples_run(script: str) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    out = _run(ROOT / "examples" / script, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip()


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel once (offline: hatchling from the dev extra) and unpack-install it."""
    pytest.importorskip("hatchling", reason="the dev extra's hatchling builds the wheel offline")
    base = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(base / "dist")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (base / "dist").glob("xlp_core-*.whl")
    site = base / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    return site


@pytest.mark.parametrize("script", EXAMPLES)
def test_examples_run_from_the_installed_wheel(
    script: str, installed_wheel: Path, tmp_path: Path
) -> None:
    """Outside the checkout (cwd elsewhere, the wheel's copy first on the path)."""
    copy = tmp_path / script
    copy.write_text((ROOT / "examples" / script).read_text())
    env = {**os.environ, "PYTHONWARNINGS": "error", "PYTHONPATH": str(installed_wheel)}
    probe = subprocess.run(
        [sys.executable, "-c", "import xlp_core, xlp_adapters; print(xlp_core.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert Path(probe.stdout.strip()).is_relative_to(installed_wheel)
    out = _run(copy, cwd=tmp_path, env=env)
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
