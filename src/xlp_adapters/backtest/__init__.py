"""Backtesting: replay price and pool-composition history through the hedger.

Needs the ``backtest`` extra (pandas, matplotlib, tqdm). Start with
:func:`run_backtest`; :func:`load_scenario` and :func:`generate_scenario`
provide its input; :func:`sweep` runs a grid of configs. The ``compiled``
engine needs the ``fast`` extra (numba). See docs/backtesting.md.

Names are imported on first use, so ``import xlp_adapters.backtest.sweep_cli``
(which the command line does to build its parser) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xlp_adapters.backtest.data import (
        PoolPath,
        Scenario,
        ScenarioError,
        generate_scenario,
        load_scenario,
        write_scenario,
    )
    from xlp_adapters.backtest.engine import BacktestError, PaperVenue, SimClock, run_backtest
    from xlp_adapters.backtest.fast import FillModel, run_fast
    from xlp_adapters.backtest.frames import scenario_from_frames
    from xlp_adapters.backtest.results import BacktestResult, FillRecord, Record, Summary
    from xlp_adapters.backtest.sweeps import sweep

_HOME = {
    "PoolPath": "data",
    "Scenario": "data",
    "ScenarioError": "data",
    "generate_scenario": "data",
    "load_scenario": "data",
    "write_scenario": "data",
    "BacktestError": "engine",
    "PaperVenue": "engine",
    "SimClock": "engine",
    "run_backtest": "engine",
    "FillModel": "fast",
    "run_fast": "fast",
    "scenario_from_frames": "frames",
    "BacktestResult": "results",
    "FillRecord": "results",
    "Record": "results",
    "Summary": "results",
    "sweep": "sweeps",
}

__all__ = [
    "BacktestError",
    "BacktestResult",
    "FillModel",
    "FillRecord",
    "PaperVenue",
    "PoolPath",
    "Record",
    "Scenario",
    "ScenarioError",
    "SimClock",
    "Summary",
    "generate_scenario",
    "load_scenario",
    "run_backtest",
    "run_fast",
    "scenario_from_frames",
    "sweep",
    "write_scenario",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
