"""From configured URLs to one notifier.

The rule: ``http://`` and ``https://`` URLs are generic JSON webhooks
(:class:`WebhookNotifier`); every other scheme goes to Apprise (``tgram://``,
``pover://``, ``slack://``, ``discord://``, ``mailto://``, and ``json://`` /
``jsons://`` for Apprise's own JSON format). Each URL gets its own queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from xlp_adapters.notify._apprise import AppriseNotifier
from xlp_adapters.notify._queue import FanoutNotifier
from xlp_adapters.notify._secrets import mask_url
from xlp_adapters.notify._webhook import WebhookNotifier, check_webhook_url
from xlp_core.errors import ConfigError
from xlp_core.ports import Notifier


def is_webhook_url(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def build_notifier(
    urls: Sequence[str],
    *,
    repeat: timedelta,
    clock: Callable[[], datetime] | None = None,
    **queue: Any,
) -> Notifier | None:
    """One notifier for ``urls`` (``None`` when there are none).

    Every URL is checked before anything is built, so a bad one raises
    ``ConfigError`` naming it masked; ``MissingExtraError`` when an Apprise
    URL is configured without ``xlp-core[notify]``.
    """
    if isinstance(urls, str):
        raise ConfigError("notify_urls", "must be a list of URLs, not a single string")
    cleaned: list[str] = []
    for i, url in enumerate(urls):
        if not isinstance(url, str) or "://" not in url:
            shown = mask_url(url) if isinstance(url, str) else type(url).__name__
            raise ConfigError("notify_urls", f"entry {i + 1} ({shown}) is not a URL")
        if is_webhook_url(url):
            check_webhook_url(url)
        if url.strip() not in cleaned:  # the same URL twice would send everything twice
            cleaned.append(url.strip())
    if clock is not None:
        queue["clock"] = clock
    notifiers: list[Notifier] = [
        WebhookNotifier(url, repeat=repeat, **queue)
        if is_webhook_url(url)
        else AppriseNotifier(url, repeat=repeat, **queue)
        for url in cleaned
    ]
    if not notifiers:
        return None
    return notifiers[0] if len(notifiers) == 1 else FanoutNotifier(notifiers)
