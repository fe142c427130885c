"""The paper exchange: default venue, backtest venue, fault-injection venue."""

from xlp_adapters.paper.exchange import DEFAULT_MARKETS, Fill, PaperExchange
from xlp_adapters.paper.faults import Fault, FaultInjector
from xlp_adapters.paper.snapshot import load_account, save_account

__all__ = [
    "DEFAULT_MARKETS",
    "Fault",
    "FaultInjector",
    "Fill",
    "PaperExchange",
    "load_account",
    "save_account",
]
