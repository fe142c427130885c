"""The ports: what the core needs from the outside world.

Adapters implement these structurally (no base class to inherit). Exchange and
PoolSource are async because they talk to the network; StateStore and
AuditSink are synchronous on purpose: they are local and durable, and an order
must not be sent until ``AuditSink.append`` has returned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from xlp_core.audit import AuditEvent
from xlp_core.errors import ExchangeError, OrderRejectedError
from xlp_core.models import MarketRules, Order, OrderRequest, PoolSnapshot
from xlp_core.state import HedgeState


@attrs.frozen
class PlaceOutcome:
    """One order's outcome inside a batch: exactly one of ``order`` / ``error``.

    ``error`` keeps its type: ``DuplicateOrderError`` (look it up and adopt),
    ``OrderRejectedError`` (not on the book), ``OrderOutcomeUnknownError``
    (maybe sent), ``RateLimitedError`` (definitely not accepted).
    """

    request: OrderRequest
    order: Order | None = None
    error: ExchangeError | None = None


@attrs.frozen
class CancelOutcome:
    """One market's cancel-all inside a replace: applied (with a count) or an error.

    ``error`` set means the cancel is not known to have run: the replace
    sent no order for that symbol (or, where an order travelled in the same
    all-or-nothing unit, that order's outcome is just as ambiguous).
    """

    symbol: str
    cancelled: int = 0
    error: ExchangeError | None = None

    @property
    def applied(self) -> bool:
        return self.error is None


@attrs.frozen
class ReplaceOutcome:
    """What :meth:`Exchange.replace_orders` did: one cancel per symbol, one place per request."""

    cancels: Mapping[str, CancelOutcome]
    places: tuple[PlaceOutcome, ...]


def cancel_not_applied(request: OrderRequest) -> PlaceOutcome:
    """The refused outcome of an order held back because its market's cancel did not apply."""
    return PlaceOutcome(
        request,
        error=OrderRejectedError(f"{request.symbol}: not sent: cancel before it not applied"),
    )


@runtime_checkable
class Exchange(Protocol):
    """A perpetual-futures venue, in base units and USD per base unit.

    Failures raise :class:`~xlp_core.errors.ExchangeError` subclasses; a
    method never returns a made-up value (a failed position read is an error,
    never 0).
    """

    @property
    def name(self) -> str: ...

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        """Trading rules for the symbols the venue lists; unknown ones are omitted."""
        ...

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        """Mid (or mark) prices; a symbol without a price is omitted."""
        ...

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        """Signed positions (short < 0) for every requested symbol; flat = 0."""
        ...

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        """Orders resting on the book for these symbols; ``()`` means every market.

        Reconciliation asks for every market, so an order of a crashed first
        cycle is found whatever the state says.
        """
        ...

    async def place_order(self, request: OrderRequest) -> Order:
        """Submit; raise ``DuplicateOrderError`` if the client id is known already."""
        ...

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        """Look an order up by client id; ``None`` if the venue never saw it."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        """Cancel one order; ``False`` if it was not open."""
        ...

    async def cancel_all_orders(self, symbol: str) -> int:
        """Cancel every open order of ours on ``symbol``; return how many."""
        ...

    # --- batched calls: O(1) venue round trips per cycle ---------------------

    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        """Submit several orders (one venue request where possible).

        One outcome per request, in order. A failure of the whole request
        raises like ``place_order`` (ambiguous: ``OrderOutcomeUnknownError``).
        """
        ...

    async def cancel_orders(self, symbols: Sequence[str]) -> Mapping[str, int]:
        """Cancel every open order of ours on each symbol; how many per symbol."""
        ...

    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        """Look orders up by ``(symbol, client_order_id)`` in one read.

        An id the venue never saw is absent from the result.
        """
        ...

    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        """Cancel every open order of ours on ``cancel_symbols``, then place ``requests``.

        Contract: every open order on a cancel symbol's market is cancelled
        before any request for that symbol can execute, and a request whose
        symbol's cancel was not applied is never sent (its outcome is
        :func:`cancel_not_applied`'s refusal), so a replace never leaves two
        live orders of ours on one market. Requests for other symbols are
        plain places. One ``CancelOutcome`` per cancel symbol and one
        ``PlaceOutcome`` per request, in order. A failure of the whole call
        raises like ``place_orders`` (ambiguous for every part).
        """
        ...

    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        """Schedule a venue-side cancel of all our orders at ``at`` (``None`` disarms).

        Re-armed every cycle, it leaves nothing resting for long after the
        process dies. ``False`` if the venue has no such feature.
        """
        ...

    @property
    def request_weights(self) -> Mapping[str, int]:
        """HTTP requests each port method costs (for the rate limiter); ``{}``: 1 each."""
        ...

    async def close(self) -> None: ...


class ExchangeDefaults:
    """Base for adapters: the batched calls built from the single ones.

    Subclass it (as well as satisfying :class:`Exchange`) to get correct,
    if unbatched, ``place_orders`` / ``cancel_orders`` / ``get_orders``, a
    ``replace_orders`` made of those three steps, no dead-man switch and unit
    request weights.
    """

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        raise NotImplementedError

    async def place_order(self, request: OrderRequest) -> Order:
        raise NotImplementedError

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        raise NotImplementedError

    async def cancel_all_orders(self, symbol: str) -> int:
        raise NotImplementedError

    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        # Concurrent, so an unbatched venue still costs one round trip, not N.
        async def one(request: OrderRequest) -> PlaceOutcome:
            try:
                return PlaceOutcome(request, order=await self.place_order(request))
            except ExchangeError as exc:
                return PlaceOutcome(request, error=exc)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def cancel_orders(self, symbols: Sequence[str]) -> Mapping[str, int]:
        counts = await asyncio.gather(*(self.cancel_all_orders(s) for s in symbols))
        return dict(zip(symbols, counts, strict=True))

    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        found = await asyncio.gather(*(self.get_order(s, cid) for s, cid in keys))
        return {cid: o for (_, cid), o in zip(keys, found, strict=True) if o is not None}

    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        """``cancel_orders``, a confirming ``open_orders`` read, then ``place_orders``
        for the requests whose symbol has nothing left open (three round trips)."""
        symbols = list(dict.fromkeys(cancel_symbols))
        cancels = {s: CancelOutcome(s) for s in symbols}
        if symbols:
            cancels = await self._cancel_confirmed(symbols)
        held = {s for s, c in cancels.items() if not c.applied}
        send = [r for r in requests if r.symbol not in held]
        sent = iter(await self.place_orders(send) if send else ())
        places = tuple(cancel_not_applied(r) if r.symbol in held else next(sent) for r in requests)
        return ReplaceOutcome(cancels=cancels, places=places)

    async def _cancel_confirmed(self, symbols: Sequence[str]) -> dict[str, CancelOutcome]:
        counts: Mapping[str, int] = {}
        with contextlib.suppress(ExchangeError):  # maybe applied anyway: the read tells
            counts = await self.cancel_orders(symbols)
        try:
            still = {o.symbol for o in await self.open_orders(symbols)}
        except ExchangeError as exc:
            return {s: CancelOutcome(s, counts.get(s, 0), exc) for s in symbols}
        left = ExchangeError("order(s) still open after the cancel")
        return {
            s: CancelOutcome(s, counts.get(s, 0), left if s in still else None) for s in symbols
        }

    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        return False

    @property
    def request_weights(self) -> Mapping[str, int]:
        return {}


@runtime_checkable
class PoolSource(Protocol):
    """Reads one liquidity pool's per-LP-token exposure."""

    @property
    def name(self) -> str: ...

    async def fetch(self) -> PoolSnapshot: ...


@runtime_checkable
class StateStore(Protocol):
    """Durable home of :class:`HedgeState`.

    ``save`` is atomic: after a crash ``load`` returns either the old or the
    new state, never a mix. ``load`` returns ``None`` when nothing was ever
    saved and raises ``StateCorruptError`` (leaving the data in place) when
    what is stored cannot be read.
    """

    def load(self) -> HedgeState | None: ...

    def save(self, state: HedgeState) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class AuditSink(Protocol):
    """Append-only event log; ``append`` returns only once the event is durable."""

    def append(self, event: AuditEvent) -> None: ...

    def append_many(self, events: Sequence[AuditEvent]) -> None:
        """Append several events with one durable write (all or none)."""
        ...

    def events(self) -> Iterator[AuditEvent]:
        """Every event recorded so far, oldest first."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Journal(StateStore, AuditSink, Protocol):
    """A state store and an audit log in one place (e.g. one SQLite file).

    ``commit`` records a cycle's events and its new state with one durable
    write, so a cycle costs one write besides each order's write-ahead record.
    """

    def commit(self, events: Sequence[AuditEvent], state: HedgeState) -> None: ...


@attrs.frozen
class Notice:
    """Something a person should hear about (alert, breaker trip, unknown order...)."""

    kind: str
    message: str
    at: datetime
    symbol: str | None = None
    severity: str = "warning"  # "info" | "warning" | "error"
    data: Mapping[str, object] = attrs.field(factory=dict)


@runtime_checkable
class Notifier(Protocol):
    """Delivers notices to people, off the order path (see xlp_adapters.notify).

    ``notify`` must not block for long: adapters queue and deliver in the
    background; a failing notifier never delays or breaks a cycle.
    """

    async def notify(self, notice: Notice) -> None: ...

    async def aclose(self) -> None: ...
