"""Apprise: Telegram, Pushover, Slack, Discord, e-mail, ntfy... by URL.

Apprise is synchronous (``requests`` underneath), so each send runs in a
daemon thread: the event loop never blocks on it, and a send still stuck
when the process exits does not hold the exit up (a thread-pool worker
would). One Apprise object per URL, so a retry re-sends only to the
destinations that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from xlp_adapters.notify._queue import DeliveryError, QueuedNotifier
from xlp_adapters.notify._secrets import mask_url, protect
from xlp_core.errors import ConfigError, MissingExtraError
from xlp_core.ports import Notice

T = TypeVar("T")


def _load_apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise MissingExtraError("notify", "Apprise notifications") from None
    return apprise


async def run_in_daemon_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh daemon thread and await its result."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the awaiting side timed out and moved on
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:
            result, error = None, exc
        # RuntimeError: the loop is closed, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="xlp-notify-apprise", daemon=True).start()
    return await future


_TYPES = {"info": "INFO", "warning": "WARNING", "error": "FAILURE"}


def title_of(notice: Notice) -> str:
    where = f" {notice.symbol}" if notice.symbol else ""
    return f"xlp {notice.severity}: {notice.kind}{where}"


def body_of(notice: Notice) -> str:
    lines = [notice.message, f"at {notice.at.isoformat()}"]
    lines += [f"{k}: {v}" for k, v in notice.data.items()]
    return "\n".join(lines)


class AppriseNotifier(QueuedNotifier):
    """Send each notice to every Apprise URL in ``urls`` (queued, throttled, retried)."""

    def __init__(self, urls: str | Sequence[str], **queue: Any) -> None:
        apprise = _load_apprise()
        urls = [urls] if isinstance(urls, str) else list(urls)
        if not urls:
            raise ConfigError("notify_urls", "AppriseNotifier needs at least one URL")
        urls = [u.strip() for u in urls]
        protect(urls)  # before Apprise sees them: it logs a URL it cannot parse
        self._apps: list[Any] = []
        for url in urls:
            app = apprise.Apprise()
            with warnings.catch_warnings():
                # Apprise loads its plugins on first use; some import modules
                # deprecated in newer Pythons (imghdr): noise, not our problem.
                warnings.simplefilter("ignore", DeprecationWarning)
                added = app.add(url)
            if not added:
                scheme = urlsplit(url).scheme or "(none)"
                raise ConfigError(
                    "notify_urls", f"{mask_url(url)}: Apprise does not understand this "
                    f"{scheme}:// URL (see https://github.com/caronc/apprise/wiki)",
                )  # fmt: skip
            self._apps.append(app)
        self._types = {k: getattr(apprise.NotifyType, v) for k, v in _TYPES.items()}
        label = ", ".join(mask_url(u) for u in urls)
        super().__init__(self._send, name=f"apprise {label}", **queue)
        self._current: Notice | None = None
        self._done: set[int] = set()

    async def _send(self, notice: Notice) -> None:
        if notice is not self._current:  # a new notice, not a retry
            self._current, self._done = notice, set()
        title, body = title_of(notice), body_of(notice)
        kind = self._types.get(notice.severity, self._types["warning"])
        failed = 0
        for i, app in enumerate(self._apps):
            if i in self._done:
                continue

            def send(app: Any = app) -> bool:
                return bool(app.notify(body=body, title=title, notify_type=kind))

            if await run_in_daemon_thread(send):
                self._done.add(i)
            else:
                failed += 1
        if failed:
            raise DeliveryError(f"{failed} of {len(self._apps)} Apprise destination(s) failed")
