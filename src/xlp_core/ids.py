"""Deterministic client order ids.

The id is a hash of (namespace, symbol, cycle, slot), so the same intended
order always carries the same id: a retry after a timeout is recognised by the
venue (or by our own status lookup) instead of becoming a second order.
"""

from __future__ import annotations

import hashlib

# Lighter's client_order_index is a 48-bit integer; keep ids below that.
CLIENT_ID_BITS = 47


def client_order_id(namespace: str, symbol: str, cycle: int, slot: int) -> int:
    """Return a stable non-negative id for the ``slot``-th order of a cycle."""
    key = f"{namespace}\x1f{symbol}\x1f{cycle}\x1f{slot}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    value = int.from_bytes(digest, "big") >> (64 - CLIENT_ID_BITS)
    return value or 1
