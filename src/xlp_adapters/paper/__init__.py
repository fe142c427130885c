"""The paper exchange: default venue, backtest venue, fault-injection venue."""

from xlp_adapters.paper.exchange import DEFAULT_MARKETS, Fill, PaperExchange
from xlp_adapters.paper.faults import Fault, FaultInjector

__all__ = ["DEFAULT_MARKETS", "Fault", "FaultInjector", "Fill", "PaperExchange"]
