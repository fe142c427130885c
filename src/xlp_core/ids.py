"""Deterministic client order ids.

Layout (47 bits, below Lighter's 48-bit ``client_order_index``)::

    [ 16-bit namespace tag | 31-bit order serial ]

The tag is a hash of the configured ``namespace``, so reconciliation can tell
this bot's orders from anyone else's on every market of a shared account
(:func:`is_ours`); two bots on one account must use different namespaces.
The serial identifies one intended order and is made durable (written ahead
with the order's intent) before the order is sent, so two different orders
never share an id and a retry of the same order always reuses its id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from typing_extensions import deprecated

from xlp_core.audit import ORDER_INTENT, AuditEvent

# Lighter's client_order_index is a 48-bit integer; keep ids below that.
CLIENT_ID_BITS = 47
NAMESPACE_BITS = 16
SERIAL_BITS = CLIENT_ID_BITS - NAMESPACE_BITS
MAX_SERIAL = (1 << SERIAL_BITS) - 1


def namespace_tag(namespace: str) -> int:
    """The 16-bit tag of ``namespace`` (never 0, so an id is never 0)."""
    digest = hashlib.blake2b(namespace.encode(), digest_size=2).digest()
    return int.from_bytes(digest, "big") or 1


def order_id(namespace: str, serial: int) -> int:
    """The client id of the ``serial``-th order of ``namespace``."""
    if not 0 < serial <= MAX_SERIAL:
        raise ValueError(f"order serial out of range: {serial}")
    return (namespace_tag(namespace) << SERIAL_BITS) | serial


def serial_of(client_order_id: int) -> int:
    return client_order_id & MAX_SERIAL


def is_ours(client_order_id: int, namespace: str) -> bool:
    """Whether an id was made by :func:`order_id` for ``namespace``."""
    return client_order_id >> SERIAL_BITS == namespace_tag(namespace)


_SERIAL_ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)
SERIALS_PER_SECOND = 4


def first_serial(now: datetime) -> int:
    """Where a fresh state starts its serials: ``4 x`` seconds since 2024-01-01.

    A state lost with its audit log cannot say which serials it used. Starting
    from the clock keeps a new run above any earlier run that issued fewer
    than four orders per second of wall time on average (a hedger issues a
    few per minute), so their ids do not collide; the range lasts until 2040,
    then wraps.
    """
    seconds = max(int((now - _SERIAL_ORIGIN).total_seconds()), 0)
    return (seconds * SERIALS_PER_SECOND) % MAX_SERIAL + 1


def next_serial(serial: int) -> int:
    """The serial after ``serial`` (wrapping inside ``1..MAX_SERIAL``)."""
    return serial % MAX_SERIAL + 1


# Highest serial written ahead by this process, per (namespace, audit sink):
# a cycle whose state save failed must not make the next cycle reuse its
# serials. Keyed by sink too, so independent runs in one process (backtests)
# stay reproducible; a sink seen for the first time is scanned instead.
_ISSUED: dict[tuple[str, int], int] = {}
_SCANNED: set[tuple[str, int]] = set()


def note_issued(namespace: str, serial: int, sink: int = 0) -> None:
    """Remember that ``serial`` was written ahead (durable) in this process."""
    key = (namespace, sink)
    if serial > _ISSUED.get(key, 0):
        _ISSUED[key] = serial


def issued_high_water(namespace: str, sink: int = 0) -> int:
    """The highest serial this process wrote ahead for ``namespace`` (0: none)."""
    return _ISSUED.get((namespace, sink), 0)


def serial_floor(
    namespace: str, audit_events: Callable[[], Iterable[AuditEvent]], sink: int
) -> int:
    """The highest serial known to be used with this sink (its log is read once).

    The first cycle with orders in a process reads the audit log once
    (``sink`` identifies the sink, e.g. ``id(audit)``), so a crash between an
    order's write-ahead record and the state save never makes a restarted
    process reuse that order's id; later cycles use what this process wrote.
    """
    key = (namespace, sink)
    if key not in _SCANNED:
        note_issued(namespace, highest_logged_serial(audit_events(), namespace), sink)
        _SCANNED.add(key)
    return issued_high_water(namespace, sink)


def note_scanned(namespace: str, high: int, sink: int) -> int:
    """Record a scan of ``sink``'s log made elsewhere (start-up); returns the floor.

    Reconciliation reads the log once for both the highest serial and the
    unresolved intents, and tells :func:`serial_floor` here so the first
    cycle does not read it again.
    """
    note_issued(namespace, high, sink)
    _SCANNED.add((namespace, sink))
    return issued_high_water(namespace, sink)


def highest_logged_serial(events: Iterable[AuditEvent], namespace: str) -> int:
    """The highest serial among ``order_intent`` records of ``namespace`` (0: none).

    Start-up reconciliation moves ``HedgeState.next_serial`` past it, so a
    crash between the write-ahead record and the state save never lets two
    orders share an id.
    """
    return max((logged_serial(ev, namespace) for ev in events), default=0)


def logged_serial(event: AuditEvent, namespace: str) -> int:
    """The serial an ``order_intent`` record of ``namespace`` used; 0 for any other record."""
    cid = event.data.get("client_order_id")
    if event.kind == ORDER_INTENT and isinstance(cid, int) and is_ours(cid, namespace):
        return serial_of(cid)
    return 0


@deprecated("use order_id(namespace, serial): hashed ids are not unique per order")
def client_order_id(namespace: str, symbol: str, cycle: int, slot: int) -> int:
    """Legacy hash id of the ``slot``-th order of a cycle (to be replaced by :func:`order_id`)."""
    key = f"{namespace}\x1f{symbol}\x1f{cycle}\x1f{slot}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    value = int.from_bytes(digest, "big") >> (64 - CLIENT_ID_BITS)
    return value or 1
