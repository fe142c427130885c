"""Dask for sweeps: a client from an address, behind the ``distributed`` extra."""

from __future__ import annotations

from typing import Any

from xlp_core.errors import InvalidInputError, MissingExtraError


def dask_client(address: str) -> Any:
    """A ``distributed.Client`` connected to ``address`` (``client.get_executor()`` for sweeps)."""
    try:
        from distributed import Client
    except ImportError:
        raise MissingExtraError("distributed", "running sweeps on a Dask cluster") from None
    try:
        return Client(address, timeout=10)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise InvalidInputError(
            f"cannot reach Dask scheduler {address}: {type(exc).__name__}"
        ) from None
