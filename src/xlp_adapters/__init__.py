"""Adapters implementing the xlp-core ports: exchanges, pools, stores, audit, backtests.

``from xlp_adapters import PaperExchange, StaticPoolSource`` and so on: names
load lazily on first use, so an adapter whose optional dependency is missing
costs nothing until used, and then raises ``MissingExtraError`` naming the
extra to install (``pip install 'xlp-core[lighter]'``).
"""

from __future__ import annotations

from xlp_core._lazy import attach, package_version

_EXPORTS: dict[str, str] = {
    "PaperExchange": "xlp_adapters.paper",
    "Fault": "xlp_adapters.paper",
    "FaultInjector": "xlp_adapters.paper",
    "LighterExchange": "xlp_adapters.lighter",
    "LighterCredentials": "xlp_adapters.lighter",
    "StaticPoolSource": "xlp_adapters.pools",
    "JlpPoolSource": "xlp_adapters.pools",
    "AlpPoolSource": "xlp_adapters.pools",
    "SeriesPoolSource": "xlp_adapters.pools",
    "SolanaRpc": "xlp_adapters.pools",
    "PoolDataError": "xlp_adapters.pools",
    "PoolRpcError": "xlp_adapters.pools",
    "MemoryStateStore": "xlp_adapters.stores",
    "JsonFileStateStore": "xlp_adapters.stores",
    "SqliteStateStore": "xlp_adapters.stores",
    "MemoryAuditSink": "xlp_adapters.audit",
    "JsonlAuditSink": "xlp_adapters.audit",
    "SqliteAuditSink": "xlp_adapters.audit",
    "SqliteJournal": "xlp_adapters.journal",
    "FileJournal": "xlp_adapters.journal",
    "MemoryJournal": "xlp_adapters.journal",
    "run_backtest": "xlp_adapters.backtest",
    "run_fast": "xlp_adapters.backtest",
    "BacktestResult": "xlp_adapters.backtest",
    "Summary": "xlp_adapters.backtest",
    "Scenario": "xlp_adapters.backtest",
    "load_scenario": "xlp_adapters.backtest",
    "generate_scenario": "xlp_adapters.backtest",
    "write_scenario": "xlp_adapters.backtest",
    "BacktestError": "xlp_adapters.backtest",
    "ScenarioError": "xlp_adapters.backtest",
    "run_loop": "xlp_adapters.runner",
    # Owned by the ops branch (listed ahead; resolved when the module exists).
    "AppriseNotifier": "xlp_adapters.notify",
    "FanoutNotifier": "xlp_adapters.notify",
    "QueuedNotifier": "xlp_adapters.notify",
    "WebhookNotifier": "xlp_adapters.notify",
    "build_notifier": "xlp_adapters.notify",
    "HedgerMetrics": "xlp_adapters.metrics",
    "install_stop_signals": "xlp_adapters.runner",
    "LighterSim": "xlp_adapters.lighter.sim",
    "sweep": "xlp_adapters.backtest",
    "scenario_from_frames": "xlp_adapters.backtest",
    "open_records": "xlp_adapters.journal",
    "mask_url": "xlp_adapters.notify",
    "save_account": "xlp_adapters.paper",
    "load_account": "xlp_adapters.paper",
    "PoolDriftError": "xlp_adapters.pools",
    "PoolPriceError": "xlp_adapters.pools",
    "CustodyMismatchError": "xlp_adapters.pools",
}
_EXTRAS = {
    "xlp_adapters.lighter": "lighter",
    "xlp_adapters.lighter.sim": "lighter",
    "xlp_adapters.backtest": "backtest",
    "xlp_adapters.notify": "notify",
    "xlp_adapters.metrics": "metrics",
}

__all__ = [
    "AlpPoolSource",
    "AppriseNotifier",
    "BacktestError",
    "BacktestResult",
    "CustodyMismatchError",
    "FanoutNotifier",
    "Fault",
    "FaultInjector",
    "FileJournal",
    "HedgerMetrics",
    "JlpPoolSource",
    "JsonFileStateStore",
    "JsonlAuditSink",
    "LighterCredentials",
    "LighterExchange",
    "LighterSim",
    "MemoryAuditSink",
    "MemoryJournal",
    "MemoryStateStore",
    "PaperExchange",
    "PoolDataError",
    "PoolDriftError",
    "PoolPriceError",
    "PoolRpcError",
    "QueuedNotifier",
    "Scenario",
    "ScenarioError",
    "SeriesPoolSource",
    "SolanaRpc",
    "SqliteAuditSink",
    "SqliteJournal",
    "SqliteStateStore",
    "StaticPoolSource",
    "Summary",
    "WebhookNotifier",
    "__version__",
    "build_notifier",
    "generate_scenario",
    "install_stop_signals",
    "load_account",
    "load_scenario",
    "mask_url",
    "open_records",
    "run_backtest",
    "run_fast",
    "run_loop",
    "save_account",
    "scenario_from_frames",
    "sweep",
    "write_scenario",
]

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ms
if TYPE_CHECKING:
    from typing import Any

    from xlp_adapters.audit import JsonlAuditSink as JsonlAuditSink
    from xlp_adapters.audit import MemoryAuditSink as MemoryAuditSink
    from xlp_adapters.audit import SqliteAuditSink as SqliteAuditSink
    from xlp_adapters.backtest import BacktestError as BacktestError
    from xlp_adapters.backtest import BacktestResult as BacktestResult
    from xlp_adapters.backtest import Scenario as Scenario
    from xlp_adapters.backtest import ScenarioError as ScenarioError
    from xlp_adapters.backtest import Summary as Summary
    from xlp_adapters.backtest import generate_scenario as generate_scenario
    from xlp_adapters.backtest import load_scenario as load_scenario
    from xlp_adapters.backtest import run_backtest as run_backtest
    from xlp_adapters.backtest import run_fast as run_fast
    from xlp_adapters.backtest import scenario_from_frames as scenario_from_frames
    from xlp_adapters.backtest import sweep as sweep
    from xlp_adapters.backtest import write_scenario as write_scenario
    from xlp_adapters.journal import FileJournal as FileJournal  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.journal import MemoryJournal as MemoryJournal  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.journal import SqliteJournal as SqliteJournal  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.journal import open_records as open_records
    from xlp_adapters.lighter import LighterCredentials as LighterCredentials
    from xlp_adapters.lighter import LighterExchange as LighterExchange
    from xlp_adapters.lighter.sim import LighterSim as LighterSim
    from xlp_adapters.metrics import HedgerMetrics as HedgerMetrics  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.notify import AppriseNotifier as AppriseNotifier  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.notify import FanoutNotifier as FanoutNotifier  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.notify import QueuedNotifier as QueuedNotifier  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.notify import WebhookNotifier as WebhookNotifier  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.notify import build_notifier as build_notifier  # type: ignore[import-not-found,unused-ignore]
    from xlp_adapters.notify import mask_url as mask_url
    from xlp_adapters.paper import Fault as Fault
    from xlp_adapters.paper import FaultInjector as FaultInjector
    from xlp_adapters.paper import PaperExchange as PaperExchange
    from xlp_adapters.paper import load_account as load_account
    from xlp_adapters.paper import save_account as save_account
    from xlp_adapters.pools import AlpPoolSource as AlpPoolSource
    from xlp_adapters.pools import CustodyMismatchError as CustodyMismatchError
    from xlp_adapters.pools import JlpPoolSource as JlpPoolSource
    from xlp_adapters.pools import PoolDataError as PoolDataError
    from xlp_adapters.pools import PoolDriftError as PoolDriftError
    from xlp_adapters.pools import PoolPriceError as PoolPriceError
    from xlp_adapters.pools import PoolRpcError as PoolRpcError
    from xlp_adapters.pools import SeriesPoolSource as SeriesPoolSource
    from xlp_adapters.pools import SolanaRpc as SolanaRpc
    from xlp_adapters.pools import StaticPoolSource as StaticPoolSource
    from xlp_adapters.runner import install_stop_signals as install_stop_signals
    from xlp_adapters.runner import run_loop as run_loop
    from xlp_adapters.stores import JsonFileStateStore as JsonFileStateStore
    from xlp_adapters.stores import MemoryStateStore as MemoryStateStore
    from xlp_adapters.stores import SqliteStateStore as SqliteStateStore

    __version__: str

_getattr, __dir__ = attach(__name__, globals(), _EXPORTS, extras=_EXTRAS)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = v = package_version("xlp-core")
        return v
    return _getattr(name)
