"""Notices that reach a person: webhook and Apprise notifiers behind a queue.

>>> notifier = build_notifier(config.notify_urls, repeat=timedelta(minutes=15))
>>> await notifier.notify(Notice("alert", "SOL offset $1,200 above max", now, "SOL"))
>>> await notifier.aclose()   # flushes (bounded)

``notify`` never blocks a cycle and never raises; delivery, retries and rate
limiting happen in a background task (see :class:`QueuedNotifier`). URLs are
secrets: show them with :func:`mask_url` only.
"""

from __future__ import annotations

from xlp_adapters.notify._apprise import AppriseNotifier
from xlp_adapters.notify._build import build_notifier, is_webhook_url
from xlp_adapters.notify._queue import (
    ALWAYS_SENT,
    NO_WAIT,
    Deliver,
    DeliveryError,
    DeliveryRetry,
    FanoutNotifier,
    PermanentDeliveryError,
    QueuedNotifier,
    set_testing,
)
from xlp_adapters.notify._secrets import mask_url
from xlp_adapters.notify._webhook import WebhookNotifier, notice_json

__all__ = [
    "ALWAYS_SENT",
    "NO_WAIT",
    "AppriseNotifier",
    "Deliver",
    "DeliveryError",
    "DeliveryRetry",
    "FanoutNotifier",
    "PermanentDeliveryError",
    "QueuedNotifier",
    "WebhookNotifier",
    "build_notifier",
    "is_webhook_url",
    "mask_url",
    "notice_json",
    "set_testing",
]
