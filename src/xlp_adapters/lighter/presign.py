"""Cancel-alls signed ahead of the next replace round (Lighter).

The markets where a replace leaves a resting order are the markets the next
active cycle cancels first. A market's IMMEDIATE cancel-all is the same
transaction whenever it is signed, given the market and the nonce, so it can
be signed on a spare thread between cycles and used if the next round puts
that market's cancel-all at that nonce: the round then signs only its
orders. A wrong guess costs only spare CPU: nothing signed ahead is sent
unless a round asks for exactly that (market, nonce), and a signed
transaction is only taken while it has most of its validity left (the
signer's ``ExpiredAt`` is about 10 minutes out).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any

MAX_AGE = 300.0  # seconds a transaction signed ahead may wait before it is used

SignCancelAll = Callable[[int, int], tuple[Any, ...]]
"""``sign(market_id, nonce)``: the signer's answer for an IMMEDIATE cancel-all."""


class Presigned:
    """Cancel-all signatures under way or done, keyed by (market id, nonce); loop thread only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[tuple[int, int], tuple[float, Future[tuple[Any, ...]]]] = {}
        self.taken = 0  # signatures a round used (tests and benchmarks read it)

    def start(self, pool: Executor, sign: SignCancelAll, plan: Iterable[tuple[int, int]]) -> None:
        """Drop what was signed before and sign ``plan``'s (market id, nonce) pairs on ``pool``."""
        self.clear()
        now = self._clock()
        for market, nonce in plan:
            self._entries[(market, nonce)] = (now, pool.submit(sign, market, nonce))

    def take(self, market: int, nonce: int) -> Future[tuple[Any, ...]] | None:
        """The signature for this cancel-all at this nonce, if one was started and is fresh."""
        entry = self._entries.pop((market, nonce), None)
        if entry is None:
            return None
        at, future = entry
        if self._clock() - at > MAX_AGE or future.cancelled():
            future.cancel()
            return None
        self.taken += 1
        return future

    def clear(self) -> None:
        for _, future in self._entries.values():
            future.cancel()
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
