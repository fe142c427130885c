"""The bundled sample data set: inside the wheel, or ``examples/data/sample`` in a checkout."""

from __future__ import annotations

from pathlib import Path

from xlp_core.errors import ConfigError


def sample_dir() -> Path:
    """The sample scenario (prices.csv, pools.csv, funding.csv, hedge.toml)."""
    packaged = Path(__file__).resolve().parents[1] / "data" / "sample"
    source = Path(__file__).resolve().parents[3] / "examples" / "data" / "sample"
    for candidate in (packaged, source):
        if (candidate / "prices.csv").is_file():
            return candidate
    raise ConfigError("--sample", "the sample data set is not installed with this package")
