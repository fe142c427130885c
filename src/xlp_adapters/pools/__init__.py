"""Pool sources: what one LP token is exposed to."""

from xlp_adapters.pools.alp import AdrenaCustodySpec, AlpPoolSource
from xlp_adapters.pools.errors import PoolDataError, PoolRpcError
from xlp_adapters.pools.jlp import JlpPoolSource
from xlp_adapters.pools.rpc import SolanaRpc
from xlp_adapters.pools.series import CompositionPath, SeriesPoolSource
from xlp_adapters.pools.static import StaticPoolSource

__all__ = [
    "AdrenaCustodySpec",
    "AlpPoolSource",
    "CompositionPath",
    "JlpPoolSource",
    "PoolDataError",
    "PoolRpcError",
    "SeriesPoolSource",
    "SolanaRpc",
    "StaticPoolSource",
]
