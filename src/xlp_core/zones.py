"""Zones: bucket the USD size of an exposure into steps between min and max."""

from __future__ import annotations

import math

import attrs

from xlp_core.errors import ConfigError, InvalidInputError

MAX_ZONE = -1
"""Sentinel zone: the exposure exceeds the maximum threshold (alert, no order)."""


@attrs.frozen
class Thresholds:
    """USD thresholds: below ``min_usd`` nothing is done; above ``max_usd`` we alert."""

    min_usd: float = 5.0
    max_usd: float = 20.0
    step_usd: float = 2.5

    def __attrs_post_init__(self) -> None:
        for name in ("min_usd", "max_usd", "step_usd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"threshold_{name}", f"must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"threshold_{name}", f"must be finite and > 0, got {value!r}")
        if self.min_usd >= self.max_usd:
            raise ConfigError(
                "threshold_max_usd",
                f"must be greater than threshold_min_usd ({self.min_usd} >= {self.max_usd})",
            )
        if (self.max_usd - self.min_usd) / self.step_usd > 10_000:
            raise ConfigError("threshold_step_usd", "more than 10,000 zones: step too small")


def zone_for(offset_usd: float, thresholds: Thresholds) -> int | None:
    """``None`` below min, :data:`MAX_ZONE` above max, else the step index.

    Max itself is inclusive (20.0 with the defaults is zone 6, not an alert).
    """
    if not math.isfinite(offset_usd):
        raise InvalidInputError(f"offset_usd must be finite, got {offset_usd!r}")
    a = abs(offset_usd)
    if a < thresholds.min_usd:
        return None
    if a > thresholds.max_usd:
        return MAX_ZONE
    return int((a - thresholds.min_usd) / thresholds.step_usd)
