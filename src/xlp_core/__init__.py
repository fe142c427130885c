"""xlp-core: delta-hedge liquidity-pool tokens with perpetual futures.

Everything a bot author needs is here, flat::

    import xlp_core as xlp

    async with xlp.Hedger(config, exchange, pools) as hedger:
        await hedger.run_forever(stop=stop)

Names load lazily on first use (``import xlp_core`` imports no submodule),
and ``__version__`` is read from the package metadata only when asked for.
The submodules stay importable for the lower layers.
"""

from __future__ import annotations

from xlp_core._lazy import attach, package_version

_EXPORTS: dict[str, str] = {
    "Hedger": "xlp_core.hedger",
    "LoopResult": "xlp_core.hedger",
    "HedgeConfig": "xlp_core.config",
    "run_hedge_cycle": "xlp_core.cycle",
    "CycleReport": "xlp_core.cycle",
    "SymbolReport": "xlp_core.cycle",
    "ActionReport": "xlp_core.cycle",
    "reconcile": "xlp_core.reconcile",
    "ReconcileReport": "xlp_core.reconcile",
    "wrap_exchange": "xlp_core.safety",
    "NotionalGuardExchange": "xlp_core.safety",
    "RetryPolicy": "xlp_core.execution",
    "NO_WAIT": "xlp_core.execution",
    "Exchange": "xlp_core.ports",
    "ExchangeDefaults": "xlp_core.ports",
    "PoolSource": "xlp_core.ports",
    "StateStore": "xlp_core.ports",
    "AuditSink": "xlp_core.ports",
    "Journal": "xlp_core.ports",
    "Notifier": "xlp_core.ports",
    "Notice": "xlp_core.ports",
    "PlaceOutcome": "xlp_core.ports",
    "ReplaceOutcome": "xlp_core.ports",
    "CancelOutcome": "xlp_core.ports",
    "OrderRequest": "xlp_core.models",
    "Order": "xlp_core.models",
    "Side": "xlp_core.models",
    "OrderType": "xlp_core.models",
    "OrderStatus": "xlp_core.models",
    "MarketRules": "xlp_core.models",
    "PoolSnapshot": "xlp_core.models",
    "HedgeState": "xlp_core.state",
    "SymbolState": "xlp_core.state",
    "AuditEvent": "xlp_core.audit",
    "Strategy": "xlp_core.strategy",
    "ZoneStrategy": "xlp_core.strategy",
    "DecisionParams": "xlp_core.decision",
    "Decision": "xlp_core.decision",
    "Action": "xlp_core.decision",
    "ActionKind": "xlp_core.decision",
    "Observation": "xlp_core.decision",
    "Observed": "xlp_core.decision",
    "observe": "xlp_core.decision",
    "calculate_offset_and_cost": "xlp_core.offset",
    "ideal_hedges": "xlp_core.hedge",
    "fit_to_market": "xlp_core.sizing",
    "side_for": "xlp_core.sizing",
    "Thresholds": "xlp_core.zones",
    "order_id": "xlp_core.ids",
    "is_ours": "xlp_core.ids",
    "XlpError": "xlp_core.errors",
    "ConfigError": "xlp_core.errors",
    "InvalidInputError": "xlp_core.errors",
    "InvalidPriceError": "xlp_core.errors",
    "MissingSymbolError": "xlp_core.errors",
    "NegativeCostBasisError": "xlp_core.errors",
    "StateError": "xlp_core.errors",
    "StateCorruptError": "xlp_core.errors",
    "StateLockedError": "xlp_core.errors",
    "AuditError": "xlp_core.errors",
    "ExchangeError": "xlp_core.errors",
    "TransientExchangeError": "xlp_core.errors",
    "RateLimitedError": "xlp_core.errors",
    "OrderRejectedError": "xlp_core.errors",
    "OrderOutcomeUnknownError": "xlp_core.errors",
    "DuplicateOrderError": "xlp_core.errors",
    "CircuitOpenError": "xlp_core.errors",
    "NotionalLimitError": "xlp_core.errors",
    "StartupError": "xlp_core.errors",
    "LifecycleError": "xlp_core.errors",
    "ActionRefusedError": "xlp_core.errors",
    "MissingExtraError": "xlp_core.errors",
    "LiveTradingNotEnabledError": "xlp_core.errors",
}

__all__ = [
    "NO_WAIT",
    "Action",
    "ActionKind",
    "ActionRefusedError",
    "ActionReport",
    "AuditError",
    "AuditEvent",
    "AuditSink",
    "CancelOutcome",
    "CircuitOpenError",
    "ConfigError",
    "CycleReport",
    "Decision",
    "DecisionParams",
    "DuplicateOrderError",
    "Exchange",
    "ExchangeDefaults",
    "ExchangeError",
    "HedgeConfig",
    "HedgeState",
    "Hedger",
    "InvalidInputError",
    "InvalidPriceError",
    "Journal",
    "LifecycleError",
    "LiveTradingNotEnabledError",
    "LoopResult",
    "MarketRules",
    "MissingExtraError",
    "MissingSymbolError",
    "NegativeCostBasisError",
    "Notice",
    "Notifier",
    "NotionalGuardExchange",
    "NotionalLimitError",
    "Observation",
    "Observed",
    "Order",
    "OrderOutcomeUnknownError",
    "OrderRejectedError",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "PlaceOutcome",
    "PoolSnapshot",
    "PoolSource",
    "RateLimitedError",
    "ReconcileReport",
    "ReplaceOutcome",
    "RetryPolicy",
    "Side",
    "StartupError",
    "StateCorruptError",
    "StateError",
    "StateLockedError",
    "StateStore",
    "Strategy",
    "SymbolReport",
    "SymbolState",
    "Thresholds",
    "TransientExchangeError",
    "XlpError",
    "ZoneStrategy",
    "__version__",
    "calculate_offset_and_cost",
    "fit_to_market",
    "ideal_hedges",
    "is_ours",
    "observe",
    "order_id",
    "reconcile",
    "run_hedge_cycle",
    "side_for",
    "wrap_exchange",
]

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ms
if TYPE_CHECKING:
    from typing import Any

    from xlp_core.audit import AuditEvent as AuditEvent
    from xlp_core.config import HedgeConfig as HedgeConfig
    from xlp_core.cycle import ActionReport as ActionReport
    from xlp_core.cycle import CycleReport as CycleReport
    from xlp_core.cycle import SymbolReport as SymbolReport
    from xlp_core.cycle import run_hedge_cycle as run_hedge_cycle
    from xlp_core.decision import Action as Action
    from xlp_core.decision import ActionKind as ActionKind
    from xlp_core.decision import Decision as Decision
    from xlp_core.decision import DecisionParams as DecisionParams
    from xlp_core.decision import Observation as Observation
    from xlp_core.decision import Observed as Observed
    from xlp_core.decision import observe as observe
    from xlp_core.errors import ActionRefusedError as ActionRefusedError
    from xlp_core.errors import AuditError as AuditError
    from xlp_core.errors import CircuitOpenError as CircuitOpenError
    from xlp_core.errors import ConfigError as ConfigError
    from xlp_core.errors import DuplicateOrderError as DuplicateOrderError
    from xlp_core.errors import ExchangeError as ExchangeError
    from xlp_core.errors import InvalidInputError as InvalidInputError
    from xlp_core.errors import InvalidPriceError as InvalidPriceError
    from xlp_core.errors import LifecycleError as LifecycleError
    from xlp_core.errors import LiveTradingNotEnabledError as LiveTradingNotEnabledError
    from xlp_core.errors import MissingExtraError as MissingExtraError
    from xlp_core.errors import MissingSymbolError as MissingSymbolError
    from xlp_core.errors import NegativeCostBasisError as NegativeCostBasisError
    from xlp_core.errors import NotionalLimitError as NotionalLimitError
    from xlp_core.errors import OrderOutcomeUnknownError as OrderOutcomeUnknownError
    from xlp_core.errors import OrderRejectedError as OrderRejectedError
    from xlp_core.errors import RateLimitedError as RateLimitedError
    from xlp_core.errors import StartupError as StartupError
    from xlp_core.errors import StateCorruptError as StateCorruptError
    from xlp_core.errors import StateError as StateError
    from xlp_core.errors import StateLockedError as StateLockedError
    from xlp_core.errors import TransientExchangeError as TransientExchangeError
    from xlp_core.errors import XlpError as XlpError
    from xlp_core.execution import NO_WAIT as NO_WAIT
    from xlp_core.execution import RetryPolicy as RetryPolicy
    from xlp_core.hedge import ideal_hedges as ideal_hedges
    from xlp_core.hedger import Hedger as Hedger
    from xlp_core.hedger import LoopResult as LoopResult
    from xlp_core.ids import is_ours as is_ours
    from xlp_core.ids import order_id as order_id
    from xlp_core.models import MarketRules as MarketRules
    from xlp_core.models import Order as Order
    from xlp_core.models import OrderRequest as OrderRequest
    from xlp_core.models import OrderStatus as OrderStatus
    from xlp_core.models import OrderType as OrderType
    from xlp_core.models import PoolSnapshot as PoolSnapshot
    from xlp_core.models import Side as Side
    from xlp_core.offset import calculate_offset_and_cost as calculate_offset_and_cost
    from xlp_core.ports import AuditSink as AuditSink
    from xlp_core.ports import CancelOutcome as CancelOutcome
    from xlp_core.ports import Exchange as Exchange
    from xlp_core.ports import ExchangeDefaults as ExchangeDefaults
    from xlp_core.ports import Journal as Journal
    from xlp_core.ports import Notice as Notice
    from xlp_core.ports import Notifier as Notifier
    from xlp_core.ports import PlaceOutcome as PlaceOutcome
    from xlp_core.ports import PoolSource as PoolSource
    from xlp_core.ports import ReplaceOutcome as ReplaceOutcome
    from xlp_core.ports import StateStore as StateStore
    from xlp_core.reconcile import ReconcileReport as ReconcileReport
    from xlp_core.reconcile import reconcile as reconcile
    from xlp_core.safety import NotionalGuardExchange as NotionalGuardExchange
    from xlp_core.safety import wrap_exchange as wrap_exchange
    from xlp_core.sizing import fit_to_market as fit_to_market
    from xlp_core.sizing import side_for as side_for
    from xlp_core.state import HedgeState as HedgeState
    from xlp_core.state import SymbolState as SymbolState
    from xlp_core.strategy import Strategy as Strategy
    from xlp_core.strategy import ZoneStrategy as ZoneStrategy
    from xlp_core.zones import Thresholds as Thresholds

    __version__: str

_getattr, __dir__ = attach(__name__, globals(), _EXPORTS)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = v = package_version("xlp-core")
        return v
    return _getattr(name)
