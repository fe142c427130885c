"""A columnar cache of a scenario's CSVs: one NumPy ``.npz`` file beside them.

Parsing a year of minute prices (two million CSV rows) and hourly pool
compositions takes many seconds; the cache loads in about one. It is keyed
by each CSV's size, nanosecond modification time and a BLAKE2 hash of a
sample of its bytes (the first and last MiB and 64 KiB at each eighth), not
of all of it: hashing a year's CSVs in full cost a good part of the load.
Any edit changes the size or the nanosecond mtime (a rewrite within the same
second at the same size included); only a tool that forges the mtime back
*and* edits outside the sample would be missed. It holds only
already-validated data (it is written after a successful parse; the
scenario is validated again when built). Any
problem with the cache (missing, stale, corrupt, unwritable directory)
falls back to the CSVs silently: it is an optimisation, never a source.
No pickles: ``allow_pickle=False``.
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xlp_adapters.backtest.data import PoolPath

log = logging.getLogger("xlp_adapters.backtest.cache")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VERSION = "3"
_EDGE = 1 << 20  # bytes hashed at each end of a CSV
_PROBE = 1 << 16  # bytes hashed at each eighth in between
_US = timedelta(microseconds=1)
FILES = ("prices.csv", "pools.csv", "funding.csv")

Times = tuple[datetime, ...]
Parsed = tuple[
    Times,
    dict[str, tuple[float, ...]],
    dict[str, tuple[Times, tuple[dict[str, float], ...]]],
    dict[str, tuple[tuple[datetime, float], ...]],
]


def cache_path(csv_path: Path) -> Path:
    """The cache of the scenario whose ``prices.csv`` is ``csv_path``."""
    return csv_path.with_name(f".{csv_path.name}.xlp-cache.npz")


def _file_key(path: Path) -> str | None:
    if not path.exists():
        return "absent"
    try:
        st = path.stat()
        h = hashlib.blake2b(digest_size=16)
        with path.open("rb") as fh:
            if st.st_size <= 2 * _EDGE + 8 * _PROBE:
                h.update(fh.read())
            else:
                spans = [(0, _EDGE), (st.st_size - _EDGE, _EDGE)]
                spans += [(st.st_size * j // 8, _PROBE) for j in range(1, 8)]
                for at, size in spans:
                    fh.seek(at)
                    h.update(fh.read(size))
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{h.hexdigest()}"


def key_of(directory: Path) -> str | None:
    """The key of the directory's CSVs as they are now; ``None`` if unreadable."""
    parts = [_file_key(directory / name) for name in FILES]
    if any(p is None for p in parts):
        return None
    return f"v{VERSION}|" + "|".join(str(p) for p in parts)


def _times(micros: Any) -> Times:
    """Aware UTC datetimes from int64 microseconds (pandas builds them in C)."""
    import numpy as np
    import pandas as pd

    values = np.asarray(micros, dtype=np.int64)
    index = pd.DatetimeIndex(values.astype("datetime64[us]"), tz=UTC)
    out = tuple(index.to_pydatetime().tolist())
    if out and (out[0].tzinfo is None or (out[0] - EPOCH) // _US != values[0]):
        raise ValueError("timestamps did not round-trip")
    return out


def _micros(times: Any) -> Any:
    import numpy as np

    return np.fromiter(((t - EPOCH) // _US for t in times), np.int64, len(times))


def load(directory: Path, key: str) -> Parsed | None:
    """The cached scenario of ``directory`` if its key is ``key``; else ``None``."""
    try:
        import numpy as np

        with np.load(cache_path(directory / "prices.csv"), allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            symbols = [str(s) for s in z["symbols"].tolist()]
            prices = z["prices"]
            if prices.ndim != 2 or prices.shape[0] != len(symbols):
                return None
            times = _times(z["micros"])
            if prices.shape[1] != len(times):
                return None
            pools: dict[str, tuple[Times, tuple[dict[str, float], ...]]] = {}
            for j, name in enumerate(str(s) for s in z["pool_names"].tolist()):
                syms = [str(s) for s in z[f"pool{j}_symbols"].tolist()]
                values = z[f"pool{j}_values"].tolist()
                comps = tuple(
                    {s: v for s, v in zip(syms, row, strict=True) if v == v} for row in values
                )
                pools[name] = (_times(z[f"pool{j}_micros"]), comps)
            funding: dict[str, tuple[tuple[datetime, float], ...]] = {}
            for j, sym in enumerate(str(s) for s in z["fund_symbols"].tolist()):
                f_times = _times(z[f"fund{j}_micros"])
                rates = z[f"fund{j}_rates"].tolist()
                funding[sym] = tuple(zip(f_times, rates, strict=True))
            series = {s: tuple(prices[j].tolist()) for j, s in enumerate(symbols)}
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile, ImportError):
        return None
    return times, series, pools, funding


def store(
    directory: Path,
    key: str,
    times: Times,
    prices: Mapping[str, tuple[float, ...]],
    pools: Mapping[str, PoolPath],
    funding: Mapping[str, tuple[tuple[datetime, float], ...]],
) -> None:
    """Write the cache atomically; log and carry on if the directory is read-only."""
    target = cache_path(directory / "prices.csv")
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    try:
        import numpy as np

        symbols = sorted(prices)
        arrays: dict[str, Any] = {
            "key": np.asarray(key),
            "micros": _micros(times),
            "symbols": np.asarray(symbols, dtype=str),
            "prices": np.asarray([prices[s] for s in symbols], dtype=np.float64).reshape(
                len(symbols), len(times)
            ),
            "pool_names": np.asarray(sorted(pools), dtype=str),
            "fund_symbols": np.asarray(sorted(funding), dtype=str),
        }
        for j, name in enumerate(sorted(pools)):
            path = pools[name]
            syms = sorted(path.symbols)
            arrays[f"pool{j}_micros"] = _micros(path.times)
            arrays[f"pool{j}_symbols"] = np.asarray(syms, dtype=str)
            arrays[f"pool{j}_values"] = np.asarray(
                [[c.get(s, np.nan) for s in syms] for c in path.per_token], dtype=np.float64
            ).reshape(len(path.times), len(syms))
        for j, sym in enumerate(sorted(funding)):
            arrays[f"fund{j}_micros"] = _micros([t for t, _ in funding[sym]])
            arrays[f"fund{j}_rates"] = np.asarray([r for _, r in funding[sym]], np.float64)
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, target)
    except (OSError, ImportError) as exc:
        log.info("no scenario cache in %s: %s", directory, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
