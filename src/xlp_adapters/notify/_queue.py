"""Delivery off the order path: a bounded queue, one drain task, bounded retries.

``notify`` only throttles and enqueues, so a cycle never waits for a phone to
ring; the drain task delivers one notice at a time with capped exponential
backoff. A full queue drops its *oldest* notice (the newest says more about
the present, and the final "stop" notice must get through), with a WARNING.
Delivery errors are logged by type only: their text may hold the URL.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta

import attrs
from typing_extensions import override

from xlp_core.errors import ConfigError
from xlp_core.ports import Notice, Notifier

log = logging.getLogger("xlp_adapters.notify")

Deliver = Callable[[Notice], Awaitable[None]]

ALWAYS_SENT: frozenset[str] = frozenset({"start", "stop"})
"""Notice kinds never rate-limited: process start and stop."""


class DeliveryError(Exception):
    """A delivery failed in a way worth retrying (network, timeout, HTTP 5xx/429).

    Its message must never contain the destination URL.
    """


class PermanentDeliveryError(DeliveryError):
    """A delivery the destination refused for good (HTTP 4xx): not retried."""


@attrs.frozen
class DeliveryRetry:
    """Bounded retries with capped exponential backoff and jitter (stamina-like)."""

    attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.1
    attempt_timeout: float = 15.0
    """Upper bound on one delivery attempt: a hung destination costs this, not more."""

    def __attrs_post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError("attempts", "must be >= 1")
        if min(self.initial_delay, self.max_delay) < 0 or not self.attempt_timeout > 0:
            raise ConfigError("delay", "delays must be >= 0 and attempt_timeout > 0")
        if self.multiplier < 1 or not 0 <= self.jitter <= 1:
            raise ConfigError("multiplier", "must be >= 1, and jitter in [0, 1]")

    def delay(self, attempt: int) -> float:
        """Wait before retry number ``attempt`` (1-based); 0 in testing mode."""
        if _testing:
            return 0.0
        base = min(self.initial_delay * self.multiplier ** (attempt - 1), self.max_delay)
        return max(base * (1.0 + self.jitter * (2.0 * random.random() - 1.0)), 0.0)


NO_WAIT = DeliveryRetry(attempts=3, initial_delay=0.0, max_delay=0.0)
"""Same bounds on attempts, no waiting: for tests."""

_testing = False


def set_testing(enabled: bool) -> None:
    """Make every retry wait zero (like ``stamina.set_testing``), process-wide."""
    global _testing
    _testing = enabled


def _utcnow() -> datetime:
    return datetime.now(UTC)


class QueuedNotifier(Notifier):
    """Queue, throttle and deliver notices in the background.

    At most one notice per ``(kind, symbol)`` per ``repeat`` is queued (kinds
    in ``always`` are never held back); the next one that passes carries
    ``data["suppressed"]``, the count held back meanwhile. ``aclose`` stops
    accepting, flushes for at most ``close_timeout`` seconds, then gives up on
    what is left (logged).
    """

    def __init__(
        self,
        deliver: Deliver,
        *,
        maxsize: int = 256,
        retry: DeliveryRetry = DeliveryRetry(),
        repeat: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = _utcnow,
        always: Collection[str] = ALWAYS_SENT,
        close_timeout: float = 10.0,
        name: str = "notifier",
    ) -> None:
        if maxsize < 1:
            raise ConfigError("maxsize", "must be >= 1")
        if repeat < timedelta(0) or close_timeout < 0:
            raise ConfigError("repeat", "repeat and close_timeout must be >= 0")
        self._deliver = deliver
        self._maxsize = maxsize
        self._retry = retry
        self._repeat = repeat
        self._clock = clock
        self._always = frozenset(always)
        self._close_timeout = close_timeout
        self._name = name
        self._pending: collections.deque[Notice] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_sent: dict[tuple[str, str | None], datetime] = {}
        self._held: collections.Counter[tuple[str, str | None]] = collections.Counter()
        self._closed = False
        self._in_flight = False
        self.delivered = 0
        """Notices delivered so far (for tests and status)."""
        self.dropped = 0
        """Notices lost: queue overflow, retries exhausted, refused, or unflushed at close."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name})"

    @override
    async def notify(self, notice: Notice) -> None:
        """Throttle and enqueue; never blocks and never raises."""
        try:
            self._enqueue(notice)
        except Exception as exc:
            self.dropped += 1
            log.warning("%s: notice %s dropped: %s", self._name, notice.kind, type(exc).__name__)

    def _enqueue(self, notice: Notice) -> None:
        if self._closed:
            self.dropped += 1
            log.warning("%s: closed; notice %s dropped", self._name, notice.kind)
            return
        key = (notice.kind, notice.symbol)
        if notice.kind not in self._always:
            now = self._clock()
            last = self._last_sent.get(key)
            if last is not None and now - last < self._repeat:
                self._held[key] += 1
                log.debug("%s: notice %s/%s held back (repeat)", self._name, *key)
                return
            self._last_sent[key] = now
            if held := self._held.pop(key, 0):
                notice = attrs.evolve(notice, data={**notice.data, "suppressed": held})
        if len(self._pending) >= self._maxsize:
            old = self._pending.popleft()
            self.dropped += 1
            log.warning(
                "%s: queue full (%d); dropped the oldest notice (%s)",
                self._name, self._maxsize, old.kind,
            )  # fmt: skip
        self._pending.append(notice)
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._drain())
        assert self._wakeup is not None
        self._wakeup.set()

    async def _drain(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._pending:
                if self._closed:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            notice = self._pending.popleft()
            self._in_flight = True
            try:
                await self._deliver_one(notice)
            finally:
                self._in_flight = False

    async def _deliver_one(self, notice: Notice) -> None:
        attempts = self._retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                await asyncio.wait_for(self._deliver(notice), self._retry.attempt_timeout)
            except asyncio.CancelledError:
                raise
            except PermanentDeliveryError as exc:
                self.dropped += 1
                log.warning("%s: notice %s refused: %s", self._name, notice.kind, exc)
                return
            except Exception as exc:
                why = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
                if attempt == attempts:
                    self.dropped += 1
                    log.warning(
                        "%s: notice %s not delivered after %d attempts: %s",
                        self._name, notice.kind, attempts, why,
                    )  # fmt: skip
                    return
                delay = self._retry.delay(attempt)
                log.warning(
                    "%s: notice %s attempt %d/%d failed (%s); retrying in %.1f s",
                    self._name, notice.kind, attempt, attempts, why, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
            else:
                self.delivered += 1
                return

    @override
    async def aclose(self) -> None:
        """Stop accepting, flush for at most ``close_timeout`` s, release resources."""
        if self._closed:
            return
        self._closed = True
        task = self._task
        if task is not None:
            assert self._wakeup is not None
            self._wakeup.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), self._close_timeout)
            except TimeoutError:
                lost = len(self._pending) + int(self._in_flight)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                self.dropped += lost
                log.warning(
                    "%s: gave up flushing after %.1f s; %d notice(s) not delivered",
                    self._name, self._close_timeout, lost,
                )  # fmt: skip
        await self._release()

    async def _release(self) -> None:
        """Subclass hook: close clients once the queue is done."""


class FanoutNotifier(Notifier):
    """Several notifiers as one; each keeps its own queue, so a hung
    destination never holds back the others."""

    def __init__(self, notifiers: Collection[Notifier]) -> None:
        self._notifiers = tuple(notifiers)

    def __repr__(self) -> str:
        return f"FanoutNotifier({', '.join(map(repr, self._notifiers))})"

    @property
    def notifiers(self) -> tuple[Notifier, ...]:
        return self._notifiers

    @override
    async def notify(self, notice: Notice) -> None:
        for notifier in self._notifiers:
            try:
                await notifier.notify(notice)
            except Exception as exc:  # a contract breach must still not reach the cycle
                log.warning("%r: notify failed: %s", notifier, type(exc).__name__)

    @override
    async def aclose(self) -> None:
        results = await asyncio.gather(
            *(n.aclose() for n in self._notifiers), return_exceptions=True
        )
        for notifier, res in zip(self._notifiers, results, strict=True):
            if isinstance(res, Exception):
                log.warning("%r: close failed: %s", notifier, type(res).__name__)
