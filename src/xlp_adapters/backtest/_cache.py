"""A columnar cache of ``prices.csv``: a NumPy ``.npz`` file beside it.

Parsing a year of minute prices (two million CSV rows) takes seconds; the
cache loads in a fraction of that. It is keyed by the CSV's size,
modification time *and* a BLAKE2 hash of its bytes, so an edited file (even
one rewritten within the same second at the same size) is re-parsed, and it
holds only already-validated data (it is written after a successful parse).
Any problem with the cache (missing, stale, corrupt, unwritable directory)
falls back to the CSV silently: it is an optimisation, never a source.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger("xlp_adapters.backtest.cache")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VERSION = "1"
_CHUNK = 1 << 20


def cache_path(csv_path: Path) -> Path:
    return csv_path.with_name(f".{csv_path.name}.xlp-cache.npz")


def _key(csv_path: Path) -> str | None:
    try:
        st = csv_path.stat()
        h = hashlib.blake2b(digest_size=16)
        with csv_path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except OSError:
        return None
    return f"v{VERSION}:{st.st_size}:{st.st_mtime_ns}:{h.hexdigest()}"


Prices = tuple[tuple[datetime, ...], dict[str, tuple[float, ...]]]


def load(csv_path: Path) -> tuple[str | None, Prices | None]:
    """``(key, (times, prices))`` from a valid cache, else ``(key, None)``."""
    key = _key(csv_path)
    if key is None:
        return None, None
    try:
        import numpy as np

        with np.load(cache_path(csv_path), allow_pickle=False) as z:
            if str(z["key"]) != key:
                return key, None
            micros = z["micros"].tolist()
            symbols = [str(s) for s in z["symbols"].tolist()]
            prices = z["prices"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, ImportError):
        return key, None
    if prices.ndim != 2 or prices.shape != (len(symbols), len(micros)):
        return key, None
    us = timedelta(microseconds=1)
    times = tuple(EPOCH + us * m for m in micros)
    return key, (times, {s: tuple(prices[j].tolist()) for j, s in enumerate(symbols)})


def store(
    csv_path: Path,
    key: str,
    times: tuple[datetime, ...],
    prices: Mapping[str, tuple[float, ...]],
) -> None:
    """Write the cache atomically; log and carry on if the directory is read-only."""
    target = cache_path(csv_path)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    try:
        import numpy as np

        us = timedelta(microseconds=1)
        symbols = sorted(prices)
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                key=np.asarray(key),
                micros=np.fromiter(((t - EPOCH) // us for t in times), np.int64, len(times)),
                symbols=np.asarray(symbols, dtype=str),
                prices=np.asarray([prices[s] for s in symbols], dtype=np.float64).reshape(
                    len(symbols), len(times)
                ),
            )
        os.replace(tmp, target)
    except (OSError, ImportError) as exc:
        log.info("no price cache for %s: %s", csv_path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
