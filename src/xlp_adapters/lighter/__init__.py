"""The Lighter venue (extra ``xlp-core[lighter]``, ``lighter-sdk==1.1.8``)."""

from xlp_adapters.lighter.credentials import LighterCredentials
from xlp_adapters.lighter.exchange import LighterExchange
from xlp_adapters.lighter.scaling import MarketSpec

__all__ = ["LighterCredentials", "LighterExchange", "MarketSpec"]
