"""Pool sources: what one LP token is exposed to."""

from xlp_adapters.pools.series import CompositionPath, SeriesPoolSource
from xlp_adapters.pools.static import StaticPoolSource

__all__ = ["CompositionPath", "SeriesPoolSource", "StaticPoolSource"]
