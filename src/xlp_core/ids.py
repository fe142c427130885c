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


def client_order_id(namespace: str, symbol: str, cycle: int, slot: int) -> int:
    """Legacy hash id of the ``slot``-th order of a cycle (to be replaced by :func:`order_id`)."""
    key = f"{namespace}\x1f{symbol}\x1f{cycle}\x1f{slot}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    value = int.from_bytes(digest, "big") >> (64 - CLIENT_ID_BITS)
    return value or 1
