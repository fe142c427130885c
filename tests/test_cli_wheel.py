"""A fresh install of the wheel runs the README's offline commands from any directory.

The wheel is built from this checkout and installed (``--no-deps``) into a new
venv whose dependencies come from the test venv's site-packages through a
``.pth`` line; that line is not a site dir, so the checkout's editable install
is not seen and only the wheel's files can answer. Proxies point at a closed
loopback port so that any network access fails instead of passing unnoticed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def sh(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    return out.stdout


@pytest.mark.slow
def test_wheel_runs_sample_commands_offline(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    sh(sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-q", "-w", wheels)
    (wheel,) = wheels.glob("xlp_core-*.whl")
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    Path(purelib.strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    sh(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
       "-q", wheel)  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    dead = "http://127.0.0.1:9"
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin",
        "HOME": str(work),
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "ALL_PROXY": dead,
    }
    where = sh(python, "-c", "import xlp_adapters; print(xlp_adapters.__file__)", env=env)
    assert where.startswith(str(venv))
    out = sh(venv / "bin" / "xlp", "backtest", "--sample", "--engine", "fast", "--no-progress",
             cwd=work, env=env)  # fmt: skip
    assert "engine fast" in out
    out = sh(venv / "bin" / "xlp", "run", "--sample", "--once", cwd=work, env=env)
    assert "cycle 1:" in out
    assert (work / "xlp.sqlite").exists()
    assert sh(venv / "bin" / "xlp", "--version", env=env).startswith("xlp 0.")
