"""Transaction batches: what the Lighter adapter sends, and what came of a send.

Pure values and the batch layout; the sending itself (nonces, signing,
posting, the one retry bound) is :class:`~xlp_adapters.lighter.exchange.LighterExchange`'s.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from xlp_adapters.lighter.errors import INVALID_NONCE
from xlp_adapters.lighter.scaling import MarketSpec
from xlp_core.models import OrderRequest

# A batch refused 21104 ("invalid nonce": nothing of it ran) is re-signed with a
# fresh nonce at most this many times, by every send (one tx, place, cancel,
# replace alike). A batch that only raced ahead is posted again as signed
# instead, which spends none of these (see ``LighterExchange._repost_raced``).
NONCE_RETRIES = 1
# Seconds between the posts of batches sent again together after racing ahead:
# posts sent at one instant reach the venue in any order (on the simulator,
# 50 markets in 10 batches with 9 raced: 8-37% of the orders raced again with
# no gap; with 2 ms none in most runs, up to 20% under load). Those that race
# again go once more (each round runs at least the first of them): the gap
# keeps that rare, so the whole run costs about one round trip.
REPOST_SPACING = 0.002

Signed = tuple[int, str]
"""(tx_type, tx_info) of one signed transaction."""


@attrs.frozen
class Prepared:
    """An order checked and scaled, ready to sign with a nonce."""

    request: OrderRequest
    spec: MarketSpec
    size: int
    price: int
    expiry_ms: int


@attrs.frozen(eq=False)
class Tx:
    """One transaction to send: a market's cancel-all (``index`` None) or an order."""

    symbol: str
    sign: Callable[[int], tuple[Any, ...]]
    index: int | None = None
    prepared: Prepared | None = None


@attrs.frozen(eq=False)
class Batch:
    """A batch as it finally went out (or was held back), with its error (``None``: all ran)."""

    what: str
    txs: Sequence[Tx]
    error: Exception | None


def ran_orders(batches: Sequence[Batch]) -> list[Prepared]:
    """The orders of the batches that ran whole (what the next round will likely cancel)."""
    return [t.prepared for b in batches if b.error is None for t in b.txs if t.prepared]


class Held(Exception):
    """Not sent, because its market's cancel-all did not run."""


def no_sign(nonce: int) -> tuple[Any, ...]:
    raise AssertionError("a layout guess is never signed")


def invalid_nonce(err: Exception | None) -> bool:
    return isinstance(err, Refused) and err.code == INVALID_NONCE


def raced(errors: Sequence[Exception | None]) -> list[int]:
    """The batches that may be posted again exactly as signed, in nonce order.

    The run refused "invalid nonce" that starts at the first failed batch,
    when that is not the round's first: every batch before the run ran at the
    nonces it was signed with, so the run only raced ahead and its nonces are
    the next ones. A first batch refused so met a stale nonce; a batch after
    a run's end followed a failure: both are re-signed instead.
    """
    start = next((k for k, e in enumerate(errors) if e is not None), 0)
    if not start:
        return []
    later = range(start, len(errors))
    return list(itertools.takewhile(lambda k: invalid_nonce(errors[k]), later))


class NotSent(Exception):
    """A batch held back because one before it failed; nothing of it ran."""


def batches_by_market(txs: Sequence[Tx], size: int) -> list[list[Tx]]:
    """Cut a replace into batches of at most ``size`` that never split a market that fits.

    Each market's cancel-all and orders stay in one batch, cancel-alls first
    within it (a refused order then stops no cancel-all of its batch), so a
    batch never depends on another and all can be in flight together. Only a
    market with more than ``size`` transactions spills over into the next.
    """
    groups: dict[str, list[Tx]] = {}
    for t in txs:
        groups.setdefault(t.symbol, []).append(t)
    chunks: list[list[Tx]] = [[]]
    for group in groups.values():
        if chunks[-1] and len(chunks[-1]) + len(group) > size:
            chunks.append([])
        for t in group:
            if len(chunks[-1]) == size:
                chunks.append([])
            chunks[-1].append(t)
    return [sorted(c, key=lambda t: t.index is not None) for c in chunks if c]


class Refused(Exception):
    """The venue refused; nothing executed."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"venue code {code}: {message}")
        self.code, self.message = code, message


class Unknown(Exception):
    """The send may or may not have gone through."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what}: {detail}")
        self.what, self.detail = what, detail
