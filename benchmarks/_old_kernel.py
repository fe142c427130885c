"""An earlier compiled loop (``_kernel.py`` at a given commit), as a baseline.

Loaded from git into a file under the user's cache directory (so numba can
cache its compiled code there too) and imported under its own name; ``None``
without git. Used by ``backtest_throughput.py`` and ``sweep.py`` to print
each figure beside the previous kernel's, measured in the same run.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from _baseline import git_source

BASELINE = "76c96cc"
PATH = "src/xlp_adapters/backtest/_kernel.py"


def old_kernel(rev: str = BASELINE) -> ModuleType | None:
    """``_kernel.py`` at ``rev`` (76c96cc: before the totals loop), imported under its own name."""
    src = git_source(rev, PATH)
    if src is None:
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xlp-bench"
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"kernel_{rev}.py"
    if not path.exists() or path.read_text() != src:
        path.write_text(src)
    name = f"_xlp_kernel_{rev}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
