"""Pool sources: what one LP token is exposed to."""

from xlp_adapters.pools.alp import AdrenaCustodySpec, AlpPoolSource, OracleFeed
from xlp_adapters.pools.errors import (
    CustodyMismatchError,
    PoolDataError,
    PoolDriftError,
    PoolPriceError,
    PoolRpcError,
)
from xlp_adapters.pools.exposure import PriceProvider
from xlp_adapters.pools.jlp import JlpPoolSource
from xlp_adapters.pools.rpc import SolanaRpc
from xlp_adapters.pools.series import CompositionPath, SeriesPoolSource
from xlp_adapters.pools.static import StaticPoolSource

__all__ = [
    "AdrenaCustodySpec",
    "AlpPoolSource",
    "CompositionPath",
    "CustodyMismatchError",
    "JlpPoolSource",
    "OracleFeed",
    "PoolDataError",
    "PoolDriftError",
    "PoolPriceError",
    "PoolRpcError",
    "PriceProvider",
    "SeriesPoolSource",
    "SolanaRpc",
    "StaticPoolSource",
]
