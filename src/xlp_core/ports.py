"""The ports: what the core needs from the outside world.

Adapters implement these structurally (no base class to inherit). Exchange and
PoolSource are async because they talk to the network; StateStore and
AuditSink are synchronous on purpose: they are local and durable, and an order
must not be sent until ``AuditSink.append`` has returned.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from xlp_core.audit import AuditEvent
from xlp_core.models import MarketRules, Order, OrderRequest, PoolSnapshot
from xlp_core.state import HedgeState


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
        """Orders resting on the book for these symbols."""
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

    async def close(self) -> None: ...


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

    def events(self) -> Iterator[AuditEvent]:
        """Every event recorded so far, oldest first."""
        ...

    def close(self) -> None: ...
