"""Backtest input: a price series, pool compositions over time, optional funding.

A scenario is validated whole when it is built (loaded or generated), so a bad
row stops the backtest before the first simulated cycle instead of half-way
through a year. A scenario directory holds

* ``prices.csv``  ``timestamp,symbol,price``: one row per symbol and step;
  every symbol must be priced at every timestamp;
* ``pools.csv``   ``timestamp,pool,symbol,per_token``: compositions, held
  until the pool's next row (so they can be much sparser than prices);
* ``funding.csv`` ``timestamp,symbol,rate`` (optional): a rate per funding
  event, paid by longs when positive, applied at the first step at or after
  its timestamp.

``python -m xlp_adapters.backtest DIR`` regenerates the sample data set.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from xlp_adapters.backtest import _cache
from xlp_core.config import HedgeConfig
from xlp_core.errors import InvalidInputError, InvalidPriceError, MissingSymbolError
from xlp_core.hedge import STABLECOINS, ideal_hedges, normalise_symbol
from xlp_core.models import PoolSnapshot

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


class ScenarioError(InvalidInputError):
    """A scenario file is missing, malformed or inconsistent."""


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise ScenarioError(f"{what}: timestamp without timezone: {value!r}")
    return value.astimezone(UTC)


def _all_positive_floats(series: Sequence[float]) -> bool:
    """A vectorised check for the common case; ``False`` sends the caller to the slow loop.

    Only plain floats and ints (never bools, strings or other objects) that
    are all finite and > 0 pass.
    """
    if not set(map(type, series)) <= {float, int}:
        return False
    try:
        import numpy as np
    except ImportError:
        return False
    try:
        arr = np.fromiter(series, dtype=np.float64, count=len(series))
    except (OverflowError, ValueError):
        return False
    return bool(((arr > 0) & (arr != np.inf)).all())


def _increasing(times: Sequence[datetime], what: str) -> None:
    for prev, cur in itertools.pairwise(times):
        if cur <= prev:
            raise ScenarioError(f"{what}: timestamps not strictly increasing at {cur.isoformat()}")


@attrs.frozen(eq=False)
class PoolPath:
    """One pool's per-LP-token exposure, as step changes over time."""

    pool: str
    times: tuple[datetime, ...]
    per_token: tuple[Mapping[str, float], ...]
    # ``symbols``, computed on first use: a sweep asks once per config.
    _symbols: frozenset[str] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.times:
            raise ScenarioError(f"pool {self.pool}: no composition rows")
        if len(self.times) != len(self.per_token):
            raise ScenarioError(
                f"pool {self.pool}: {len(self.times)} times, {len(self.per_token)} compositions"
            )
        for t in self.times:
            _utc(t, f"pool {self.pool}")
        _increasing(self.times, f"pool {self.pool}")
        for t, comp in zip(self.times, self.per_token, strict=True):
            for sym, v in comp.items():
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise ScenarioError(f"pool {self.pool} {sym} at {t.isoformat()}: {v!r}")
                if not math.isfinite(v) or v < 0:
                    raise InvalidInputError(
                        f"pool {self.pool} {sym} per_token at {t.isoformat()} "
                        f"must be finite and >= 0, got {v!r}"
                    )

    @property
    def symbols(self) -> frozenset[str]:
        if self._symbols is None:
            found = frozenset(s for comp in self.per_token for s in comp)
            object.__setattr__(self, "_symbols", found)
            return found
        return self._symbols

    def index_at(self, t: datetime) -> int:
        """Index of the composition in force at ``t``; -1 before the first row."""
        return bisect.bisect_right(self.times, t) - 1

    def at(self, t: datetime) -> Mapping[str, float]:
        i = self.index_at(t)
        if i < 0:
            raise MissingSymbolError(self.pool, f"composition at {t.isoformat()}")
        return self.per_token[i]


@attrs.frozen(eq=False)
class Scenario:
    """Aligned market history: ``prices[symbol][i]`` is the price at ``times[i]``."""

    times: tuple[datetime, ...]
    prices: Mapping[str, tuple[float, ...]]
    pools: Mapping[str, PoolPath]
    funding: Mapping[str, tuple[tuple[datetime, float], ...]] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if not self.times:
            raise ScenarioError("scenario has no timestamps")
        if any(t.tzinfo is None for t in self.times):
            for t in self.times:
                _utc(t, "prices")
        _increasing(self.times, "prices")
        n = len(self.times)
        for sym, series in self.prices.items():
            if len(series) != n:
                raise MissingSymbolError(sym, f"price at every timestamp ({len(series)} of {n})")
            if _all_positive_floats(series):
                continue
            for i, p in enumerate(series):
                # Written out (not check_price) because this loop runs millions of times.
                try:
                    ok = p > 0 and p != math.inf and not isinstance(p, bool)
                except TypeError:
                    ok = False
                if not ok:
                    raise InvalidPriceError(
                        f"{sym} price at {self.times[i].isoformat()} must be finite and > 0,"
                        f" got {p!r}"
                    )
        for sym, rows in self.funding.items():
            for t, rate in rows:
                if not math.isfinite(rate):
                    raise InvalidInputError(f"{sym} funding rate at {t.isoformat()}: {rate!r}")
            _increasing([t for t, _ in rows], f"funding {sym}")

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted(self.prices))

    @property
    def start(self) -> datetime:
        return self.times[0]

    @property
    def end(self) -> datetime:
        return self.times[-1]

    def __len__(self) -> int:
        return len(self.times)

    def head(self, steps: int) -> Scenario:
        """The first ``steps`` timestamps (pools and funding kept whole)."""
        return Scenario(
            times=self.times[:steps],
            prices={s: p[:steps] for s, p in self.prices.items()},
            pools=self.pools,
            funding=self.funding,
        )

    def hedged_symbols(self, config: HedgeConfig) -> tuple[str, ...]:
        """The symbols a hedge of ``config`` trades, as the cycle would pick them."""
        if config.symbols:
            return tuple(sorted(normalise_symbol(s) for s in config.symbols))
        out: set[str] = set()
        for pool, amount in config.pools.items():
            if amount > 0 and pool in self.pools:
                out.update(normalise_symbol(s) for s in self.pools[pool].symbols)
        return tuple(sorted(out - STABLECOINS))

    def check(self, config: HedgeConfig) -> tuple[str, ...]:
        """Raise unless everything ``config`` needs is here; return the hedged symbols."""
        for pool, amount in config.pools.items():
            if amount <= 0:
                continue
            path = self.pools.get(pool)
            if path is None:
                raise MissingSymbolError(pool, "pool composition (not in pools.csv)")
            if path.times[0] > self.start:
                raise MissingSymbolError(pool, f"composition at {self.start.isoformat()}")
        symbols = self.hedged_symbols(config)
        if not symbols:
            raise ScenarioError("nothing to hedge: no held pool exposes a non-stable asset")
        for sym in symbols:
            if sym not in self.prices:
                raise MissingSymbolError(sym, "price series (not in prices.csv)")
        return symbols


# --- aligning a scenario with a hedge ----------------------------------------


def _segments(scenario: Scenario, pools: Iterable[str]) -> list[int]:
    """Step indices where some pool's composition changes (always including 0)."""
    n = len(scenario.times)
    starts = {0}
    for pool in pools:
        for t in scenario.pools[pool].times:
            i = bisect.bisect_left(scenario.times, t)
            if 0 < i < n:
                starts.add(i)
    return sorted(starts)


def ideal_series(
    scenario: Scenario, config: HedgeConfig, symbols: Sequence[str]
) -> dict[str, list[float]]:
    """The ideal hedge of each symbol at each step, via the core's ``ideal_hedges``.

    Computed once per composition change rather than per step; a symbol the
    pools do not expose at some step has an ideal of 0 there, as in the cycle.
    """
    n = len(scenario.times)
    out: dict[str, list[float]] = {s: [0.0] * n for s in symbols}
    for a, b, ideals in _ideal_segments(scenario, config):
        for s in symbols:
            value = ideals.get(s, 0.0)
            if value != 0.0:
                out[s][a:b] = [value] * (b - a)
    return out


def ideal_array(
    scenario: Scenario, config: HedgeConfig, symbols: Sequence[str]
) -> npt.NDArray[np.float64]:
    """:func:`ideal_series` as a ``[step, symbol]`` array, filled without Python lists."""
    import numpy as np

    out = np.zeros((len(scenario.times), len(symbols)), dtype=np.float64)
    for a, b, ideals in _ideal_segments(scenario, config):
        for j, s in enumerate(symbols):
            value = ideals.get(s, 0.0)
            if value != 0.0:
                out[a:b, j] = value
    return out


def _ideal_segments(
    scenario: Scenario, config: HedgeConfig
) -> Iterator[tuple[int, int, Mapping[str, float]]]:
    """``(first, end, ideal hedges)`` for each span of steps with fixed compositions."""
    held = [p for p, amount in config.pools.items() if amount > 0]
    bounds = [*_segments(scenario, held), len(scenario.times)]
    for a, b in itertools.pairwise(bounds):
        t = scenario.times[a]
        snaps = [PoolSnapshot(p, scenario.pools[p].at(t), observed_at=t) for p in held]
        yield a, b, ideal_hedges(config.pools, snaps)


def funding_schedule(
    scenario: Scenario, symbols: Sequence[str]
) -> dict[int, tuple[tuple[str, float], ...]]:
    """Step index -> ``(symbol, rate)`` events due at that step."""
    wanted = set(symbols)
    due: dict[int, list[tuple[str, float]]] = {}
    n = len(scenario.times)
    for sym in sorted(scenario.funding):
        if sym not in wanted:
            continue
        for t, rate in scenario.funding[sym]:
            i = bisect.bisect_left(scenario.times, t)
            if i < n:
                due.setdefault(i, []).append((sym, rate))
    return {i: tuple(ev) for i, ev in sorted(due.items())}


def lp_values(
    scenario: Scenario, config: HedgeConfig, steps: Sequence[int] | npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """USD value of the LP holdings at each of ``steps``; NaN if an asset has no price.

    Stablecoins count at 1.0. Vectorised, because it is evaluated for every
    sampled step of a run.
    """
    import numpy as np

    idx = np.asarray(steps, dtype=np.int64)
    total = np.zeros(len(idx), dtype=np.float64)
    for pool, amount in config.pools.items():
        if amount <= 0:
            continue
        path = scenario.pools.get(pool)
        if path is None:
            return np.full(len(idx), np.nan)
        starts = np.asarray([bisect.bisect_left(scenario.times, t) for t in path.times])
        comp = np.searchsorted(starts, idx, side="right") - 1
        if len(comp) and comp.min() < 0:
            return np.full(len(idx), np.nan)
        for raw in sorted(path.symbols):
            sym = normalise_symbol(raw)
            per_token = np.asarray([c.get(raw, 0.0) for c in path.per_token], dtype=np.float64)
            if sym in STABLECOINS:
                total += amount * per_token[comp]
            elif sym in scenario.prices:
                price = np.asarray(scenario.prices[sym], dtype=np.float64)[idx]
                total += amount * per_token[comp] * price
            else:
                return np.full(len(idx), np.nan)
    return total


# --- loading ----------------------------------------------------------------


# Timestamps outside this range are typos (or hostile): datetime arithmetic
# near year 9999 overflows half-way through a run.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _parse_time(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ScenarioError(f"{where}: bad timestamp {text[:40]!r}") from None
    if not EARLIEST <= value < LATEST:
        raise ScenarioError(f"{where}: timestamp {value.isoformat()} outside 1970..2200")
    return value


def _parse_float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ScenarioError(f"{where}: not a number: {text[:40]!r}") from None


def _symbol(text: str, where: str) -> str:
    try:
        return normalise_symbol(text)
    except InvalidInputError:
        raise ScenarioError(f"{where}: empty symbol") from None


def _rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(where, cells)`` for each data row, cells in ``columns`` order.

    The header must name every column in ``columns`` (any order; extra
    columns are ignored). Anything unreadable (not UTF-8, a directory, a NUL
    byte, a field over the csv module's limit) is a :class:`ScenarioError`
    naming the file and line.
    """
    line = 0
    reader: Any = None
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in columns if c not in header]
            if missing or len(set(header)) != len(header):
                raise ScenarioError(
                    f"{path.name}: header must name {','.join(columns)} once each, got"
                    f" {','.join(header)[:200]}"
                )
            pick = [header.index(c) for c in columns]
            width = len(header)
            for cells in reader:
                line = reader.line_num
                if not cells:
                    continue
                where = f"{path.name}:{line}"
                if len(cells) != width:
                    raise ScenarioError(f"{where}: expected {width} fields, got {len(cells)}")
                yield where, [cells[j] for j in pick]
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path.name}: not UTF-8 text (after line {line})") from None
    except csv.Error as exc:
        at = reader.line_num if reader is not None else line + 1
        raise ScenarioError(f"{path.name}:{at}: malformed CSV: {exc}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _load_prices(path: Path) -> tuple[tuple[datetime, ...], dict[str, tuple[float, ...]]]:
    by_time: dict[datetime, dict[str, float]] = {}
    symbols: set[str] = set()
    for where, (ts, sym, price) in _rows(path, ("timestamp", "symbol", "price")):
        t = _parse_time(ts, where)
        symbol = _symbol(sym, where)
        value = _parse_float(price, where)
        if not math.isfinite(value) or value <= 0:
            raise InvalidPriceError(
                f"{where}: {symbol} price must be finite and > 0, got {price[:40]}"
            )
        row = by_time.setdefault(t, {})
        if symbol in row:
            raise ScenarioError(f"{where}: second {symbol} price at {t.isoformat()}")
        row[symbol] = value
        symbols.add(symbol)
    if not by_time:
        raise ScenarioError(f"{path.name}: no rows")
    times = tuple(sorted(by_time))
    prices: dict[str, tuple[float, ...]] = {}
    for sym in sorted(symbols):
        series = []
        for t in times:
            p = by_time[t].get(sym)
            if p is None:
                raise MissingSymbolError(sym, f"price at {t.isoformat()} in {path.name}")
            series.append(p)
        prices[sym] = tuple(series)
    return times, prices


def _load_pools(path: Path) -> dict[str, PoolPath]:
    rows: dict[str, dict[datetime, dict[str, float]]] = {}
    columns = ("timestamp", "pool", "symbol", "per_token")
    for where, (ts, pool, sym, per_token) in _rows(path, columns):
        t = _parse_time(ts, where)
        name, symbol = pool.strip(), sym.strip().upper()
        if not name or not symbol:
            raise ScenarioError(f"{where}: empty pool or symbol")
        value = _parse_float(per_token, where)
        if not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"{where}: {name} {symbol} per_token must be finite and >= 0")
        comp = rows.setdefault(name, {}).setdefault(t, {})
        if symbol in comp:
            raise ScenarioError(f"{where}: second {name} {symbol} row at {t.isoformat()}")
        comp[symbol] = value
    out = {}
    for name, by_time in sorted(rows.items()):
        times = tuple(sorted(by_time))
        out[name] = PoolPath(name, times, tuple(by_time[t] for t in times))
    return out


def _load_funding(path: Path) -> dict[str, tuple[tuple[datetime, float], ...]]:
    rows: dict[str, list[tuple[datetime, float]]] = {}
    for where, (ts, sym, rate) in _rows(path, ("timestamp", "symbol", "rate")):
        value = _parse_float(rate, where)
        if not math.isfinite(value):
            raise InvalidInputError(f"{where}: funding rate must be finite, got {rate[:40]}")
        rows.setdefault(_symbol(sym, where), []).append((_parse_time(ts, where), value))
    return {s: tuple(sorted(r)) for s, r in sorted(rows.items())}


def load_scenario(directory: str | Path, *, cache: bool = True) -> Scenario:
    """Read and validate a scenario directory (``funding.csv`` is optional).

    With ``cache`` the parsed scenario is kept in a hidden ``.npz`` file beside
    ``prices.csv`` (keyed by each CSV's size, mtime and hash), so the next load
    of a large file takes a fraction of the time; a read-only directory just
    skips it. Extra CSV columns are ignored.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ScenarioError(f"{d}: not a directory")
    key = _cache.key_of(d) if cache else None
    cached = _cache.load(d, key) if key is not None else None
    if cached is not None:
        times, prices, comps, funding = cached
        pools = {name: PoolPath(name, t, c) for name, (t, c) in comps.items()}
        return Scenario(times=times, prices=prices, pools=pools, funding=funding)
    times, prices = _load_prices(d / "prices.csv")
    pools = _load_pools(d / "pools.csv")
    funding_path = d / "funding.csv"
    funding = _load_funding(funding_path) if funding_path.exists() else {}
    scenario = Scenario(times=times, prices=prices, pools=pools, funding=funding)
    if key is not None:
        _cache.store(d, key, times, prices, pools, funding)
    return scenario


# --- writing and generating ---------------------------------------------------


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(x: float) -> str:
    return repr(x)


def write_scenario(scenario: Scenario, directory: str | Path) -> Path:
    """Write the CSV files :func:`load_scenario` reads; return the directory."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    symbols = scenario.symbols
    with (d / "prices.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("timestamp", "symbol", "price"))
        for i, t in enumerate(scenario.times):
            ts = _ts(t)
            w.writerows((ts, s, _num(scenario.prices[s][i])) for s in symbols)
    with (d / "pools.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("timestamp", "pool", "symbol", "per_token"))
        for name, path in sorted(scenario.pools.items()):
            for t, comp in zip(path.times, path.per_token, strict=True):
                w.writerows((_ts(t), name, s, _num(v)) for s, v in comp.items())
    funding_path = d / "funding.csv"
    if scenario.funding:
        with funding_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(("timestamp", "symbol", "rate"))
            rows = sorted((t, s, r) for s, rs in scenario.funding.items() for t, r in rs)
            w.writerows((_ts(t), s, _num(r)) for t, s, r in rows)
    elif funding_path.exists():
        funding_path.unlink()
    return d


@attrs.frozen
class Asset:
    """A synthetic asset: start price and annualised volatility."""

    price: float
    volatility: float


DEFAULT_ASSETS: Mapping[str, Asset] = {
    "SOL": Asset(150.0, 0.80),
    "ETH": Asset(3000.0, 0.60),
    "BTC": Asset(60000.0, 0.50),
    "BONK": Asset(0.00002, 1.20),
}

# Per-LP-token exposures in base tokens, roughly the shape of the real pools
# (JLP near $4 a token, ALP near $1), with the stable share in USDC.
DEFAULT_POOLS: Mapping[str, Mapping[str, float]] = {
    "JLP": {"SOL": 0.0118, "ETH": 0.000135, "BTC": 0.0000075, "USDC": 1.45},
    "ALP": {"SOL": 0.002, "BTC": 0.0000035, "BONK": 5000.0, "USDC": 0.42},
}

SECONDS_PER_YEAR = 365 * 24 * 3600


def _round(x: float, digits: int | None) -> float:
    return x if digits is None else float(f"{x:.{digits}g}")


def generate_scenario(
    *,
    days: float = 3.0,
    step_seconds: int = 60,
    seed: int = 7,
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    assets: Mapping[str, Asset] = DEFAULT_ASSETS,
    pools: Mapping[str, Mapping[str, float]] = DEFAULT_POOLS,
    pool_every_seconds: int = 3600,
    pool_drift_per_day: float = 0.03,
    funding_every_seconds: int | None = 3600,
    digits: int | None = 6,
) -> Scenario:
    """A deterministic synthetic scenario: log-normal prices, drifting pools.

    Each pool exposure follows its own slow random walk (``pool_drift_per_day``
    is the daily log standard deviation), which is what makes the hedge trade.
    ``digits`` rounds values to that many significant digits, so a written and
    re-read scenario is identical to the generated one; ``None`` skips it
    (much faster for a year of data).
    """
    import numpy as np

    if days <= 0 or step_seconds <= 0:
        raise ScenarioError("days and step_seconds must be > 0")
    rng = np.random.Generator(np.random.PCG64(seed))
    n = int(days * 86400 // step_seconds)
    if n < 1:
        raise ScenarioError("scenario shorter than one step")
    times = tuple(start + timedelta(seconds=i * step_seconds) for i in range(n))
    prices: dict[str, tuple[float, ...]] = {}
    dt_years = step_seconds / SECONDS_PER_YEAR
    for sym, asset in sorted(assets.items()):
        sigma = asset.volatility * math.sqrt(dt_years)
        steps = rng.normal(-0.5 * sigma * sigma, sigma, n)
        steps[0] = 0.0
        series = asset.price * np.exp(np.cumsum(steps))
        prices[sym] = tuple(_round(x, digits) for x in series.tolist())

    m = max(1, int(days * 86400 // pool_every_seconds))
    pool_times = tuple(start + timedelta(seconds=i * pool_every_seconds) for i in range(m))
    sigma_pool = pool_drift_per_day * math.sqrt(pool_every_seconds / 86400)
    paths: dict[str, PoolPath] = {}
    for name, base in sorted(pools.items()):
        walks = {
            s: (v * np.exp(np.cumsum(rng.normal(0.0, sigma_pool, m)))).tolist()
            for s, v in sorted(base.items())
        }
        comps = tuple({s: _round(w[i], digits) for s, w in walks.items()} for i in range(m))
        paths[name] = PoolPath(name, pool_times, comps)

    funding: dict[str, tuple[tuple[datetime, float], ...]] = {}
    if funding_every_seconds:
        k = max(1, int(days * 86400 // funding_every_seconds))
        f_times = [start + timedelta(seconds=(i + 1) * funding_every_seconds) for i in range(k)]
        for sym in sorted(assets):
            rates = rng.normal(0.00001, 0.00002, k).tolist()
            funding[sym] = tuple(
                (t, _round(r, 4)) for t, r in zip(f_times, rates, strict=True) if t <= times[-1]
            )
    return Scenario(times=times, prices=prices, pools=paths, funding=funding)


SAMPLE_SEED = 7
SAMPLE_DAYS = 3.0
# Written beside the generated data (if absent) so `xlp backtest DIR` and
# `xlp run --feed replay:DIR` have settings that suit it.
SAMPLE_HEDGE_TOML = """\
# Hedge settings for the bundled sample scenario (synthetic data, seed 7).
# The holdings are a few thousand dollars of LP tokens, so the USD thresholds
# are wider than the reference bot's defaults ($5 / $20), which suit a much
# smaller position.
[hedge]
mode = "paper"
exchange = "paper"
pools = { JLP = 2000.0, ALP = 5000.0 }
threshold_min_usd = 25.0
threshold_max_usd = 150.0
threshold_step_usd = 25.0
check_interval_seconds = 60.0
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic backtest scenario.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--days", type=float, default=SAMPLE_DAYS)
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED)
    parser.add_argument("--step-seconds", type=int, default=60)
    args = parser.parse_args(argv)
    scenario = generate_scenario(days=args.days, seed=args.seed, step_seconds=args.step_seconds)
    write_scenario(scenario, args.directory)
    hedge = Path(args.directory) / "hedge.toml"
    if not hedge.exists():
        hedge.write_text(SAMPLE_HEDGE_TOML, encoding="utf-8")
    print(f"wrote {len(scenario)} steps x {len(scenario.prices)} symbols to {args.directory}")
    return 0
