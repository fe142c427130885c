"""Cooldown after a fill: give the market time before trading the same symbol again."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from xlp_core.zones import MAX_ZONE


class CooldownStatus(enum.StrEnum):
    NORMAL = "normal"
    CANCEL_ONLY = "cancel_only"
    RE_ORDER = "re_order"
    HOLD = "hold"


def in_cooldown(last_fill_at: datetime | None, now: datetime, cooldown: timedelta) -> bool:
    return last_fill_at is not None and now - last_fill_at < cooldown


def cooldown_status(
    last_fill_at: datetime | None,
    now: datetime,
    cooldown: timedelta,
    reference_zone: int | None,
    zone: int | None,
) -> CooldownStatus:
    """Classify the cycle relative to the last fill.

    ``reference_zone`` is the zone of the live order, or the zone seen just
    before the fill when no order is live (comparing against the post-fill
    zone always looks stable). Inside the window only a zone worse than the
    reference trades; back within threshold cancels; anything else holds. A
    fill made above max followed by any lower zone is an improvement: hold.
    No reference at all (e.g. after a restart) re-orders. The max zone itself
    never reaches here: its alert is not subject to cooldown.
    """
    if not in_cooldown(last_fill_at, now, cooldown):
        return CooldownStatus.NORMAL
    if zone is None:
        return CooldownStatus.CANCEL_ONLY
    if zone == MAX_ZONE:
        return CooldownStatus.NORMAL
    if reference_zone is None:
        return CooldownStatus.RE_ORDER
    if reference_zone == MAX_ZONE or zone <= reference_zone:
        return CooldownStatus.HOLD  # not worse (anything below max beats above max)
    return CooldownStatus.RE_ORDER
