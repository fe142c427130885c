"""Backtesting: replay price and pool-composition history through the hedger.

Needs the ``backtest`` extra (pandas, matplotlib, tqdm). Start with
:func:`run_backtest`; :func:`load_scenario` and :func:`generate_scenario`
provide its input; :func:`sweep` runs a grid of configs. The ``compiled``
engine needs the ``fast`` extra (numba). See docs/backtesting.md.
"""

from __future__ import annotations

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
