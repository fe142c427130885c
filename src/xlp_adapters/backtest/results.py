"""What a backtest produced: per-step records, fills, a summary.

Both engines feed the same :class:`Recorder`, so their records are computed
by one piece of code and can be compared field by field. Records are kept in
columns (a year of minute data is millions of rows); :attr:`BacktestResult.records`
builds row objects only when asked.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from xlp_adapters.backtest.data import Scenario, lp_values
from xlp_core.config import HedgeConfig
from xlp_core.errors import InvalidInputError, MissingExtraError
from xlp_core.models import Side

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd
    from matplotlib.figure import Figure


@attrs.frozen
class FillRecord:
    """One simulated fill of the hedge leg."""

    time: datetime
    symbol: str
    side: Side
    size: float
    price: float
    fee: float
    liquidity: str
    """``maker`` (a resting limit crossed) or ``taker`` (market, or a crossing limit)."""
    client_order_id: int | None = None

    @property
    def signed_size(self) -> float:
        return self.size * self.side.sign

    @property
    def notional(self) -> float:
        return self.size * self.price


@attrs.frozen
class Record:
    """The end-of-step picture of one symbol."""

    time: datetime
    symbol: str
    price: float
    ideal: float
    position: float
    offset: float
    offset_usd: float
    zone: int | None
    cost_basis: float
    open_order: bool
    fills: int
    volume_usd: float
    fees: float
    funding: float
    realised_pnl: float
    unrealised_pnl: float
    hedge_pnl: float
    lp_value: float | None


COLUMNS: tuple[str, ...] = tuple(f.name for f in attrs.fields(Record))


@attrs.define
class Book:
    """Average-cost accounting of one symbol's hedge leg.

    ``realised`` excludes fees and funding, which are kept apart so that the
    cost of hedging is visible on its own.
    """

    position: float = 0.0
    avg_price: float = 0.0
    realised: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    fills: int = 0
    volume: float = 0.0

    def open(self, position: float, price: float) -> None:
        """Start from a position already held, valued at ``price`` (no fill, no fee)."""
        self.position = position
        self.avg_price = price if position else 0.0

    def fill(self, signed_size: float, price: float, fee: float) -> None:
        self.fills += 1
        self.fees += fee
        self.volume += abs(signed_size) * price
        pos = self.position
        new = pos + signed_size
        if pos == 0.0 or (pos > 0) == (signed_size > 0):
            self.avg_price = (pos * self.avg_price + signed_size * price) / new
        else:
            closed = min(abs(signed_size), abs(pos))
            direction = 1.0 if pos > 0 else -1.0
            self.realised += closed * (price - self.avg_price) * direction
            if abs(signed_size) > abs(pos):
                self.avg_price = price
            elif abs(new) < 1e-12:
                self.avg_price = 0.0
        self.position = new

    def pay_funding(self, price: float, rate: float) -> float:
        """Longs pay a positive rate, shorts receive it; return the cash flow."""
        flow = -self.position * price * rate
        self.funding += flow
        return flow

    def unrealised(self, price: float) -> float:
        return self.position * (price - self.avg_price)

    def pnl(self, price: float) -> float:
        return self.realised + self.unrealised(price) - self.fees + self.funding


@attrs.frozen
class SymbolSummary:
    fills: int
    volume_usd: float
    fees: float
    funding: float
    realised_pnl: float
    unrealised_pnl: float
    hedge_pnl: float
    final_position: float
    final_offset_usd: float
    max_abs_offset_usd: float
    time_outside_threshold_s: float
    alerts: int


@attrs.frozen
class Summary:
    """Totals of a run; :meth:`as_dict` for JSON, :meth:`format` for a terminal."""

    engine: str
    start: datetime
    end: datetime
    steps: int
    cycles: int
    symbols: tuple[str, ...]
    fills: int
    volume_usd: float
    fees: float
    funding: float
    realised_pnl: float
    unrealised_pnl: float
    hedge_pnl: float
    lp_value_start: float | None
    lp_value_end: float | None
    lp_pnl: float | None
    net_pnl: float | None
    max_abs_offset_usd: float
    time_outside_threshold_s: float
    time_outside_threshold_pct: float
    alerts: int
    by_symbol: Mapping[str, SymbolSummary]
    tracking_error_usd: float = 0.0
    """Root mean square of the USD offset over symbol-time (recorded steps)."""
    max_drawdown_usd: float = 0.0
    """Largest fall of LP value change + hedge PnL from a running peak (recorded steps;
    the hedge PnL alone when the LP value cannot be computed)."""

    @property
    def time_hedged_within_threshold_pct(self) -> float:
        """Share of symbol-time with the offset below the minimum threshold."""
        return 100.0 - self.time_outside_threshold_pct

    def headline(self) -> dict[str, Any]:
        """The figures a sweep or a notebook compares runs by (flat, JSON-able)."""
        return {
            "net_pnl": self.net_pnl,
            "hedge_pnl": self.hedge_pnl,
            "lp_pnl": self.lp_pnl,
            "fees": self.fees,
            "funding": self.funding,
            "fills": self.fills,
            "volume_usd": self.volume_usd,
            "max_abs_offset_usd": self.max_abs_offset_usd,
            "time_outside_threshold_pct": self.time_outside_threshold_pct,
            "time_hedged_within_threshold_pct": self.time_hedged_within_threshold_pct,
            "tracking_error_usd": self.tracking_error_usd,
            "max_drawdown_usd": self.max_drawdown_usd,
            "alerts": self.alerts,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per symbol plus a ``total`` row (needs pandas)."""
        import pandas as pd

        rows = {sym: attrs.asdict(s) for sym, s in self.by_symbol.items()}
        rows["total"] = {name: getattr(self, name) for name in _TOTALLED}
        columns = [f.name for f in attrs.fields(SymbolSummary)]
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
        frame.index.name = "symbol"
        return frame

    def _repr_html_(self) -> str:
        """A notebook's rendering: the headline figures, then the per-symbol table."""
        import html

        def cell(v: Any) -> str:
            if v is None:
                return "n/a"
            if isinstance(v, float):
                return f"{v:,.2f}"
            return html.escape(str(v))

        head = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{cell(v)}</td></tr>"
            for k, v in self.headline().items()
        )
        cols = [f.name for f in attrs.fields(SymbolSummary)]
        body = "".join(
            "<tr><th>" + html.escape(sym) + "</th>"
            + "".join(f"<td>{cell(getattr(s, c))}</td>" for c in cols) + "</tr>"
            for sym, s in self.by_symbol.items()
        )  # fmt: skip
        title = html.escape(
            f"{self.engine} engine: {self.start.isoformat()} .. {self.end.isoformat()},"
            f" {self.steps} steps, {self.cycles} cycles"
        )
        return (
            f"<div><p><b>{title}</b></p><table>{head}</table>"
            "<table><tr><th>symbol</th>"
            + "".join(f"<th>{html.escape(c)}</th>" for c in cols)
            + f"</tr>{body}</table></div>"
        )

    def as_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self, recurse=True)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        d["symbols"] = list(self.symbols)
        return d

    def format(self) -> str:
        def usd(x: float | None) -> str:
            return "n/a" if x is None else f"{x:,.2f}"

        lines = [
            f"engine {self.engine}: {self.steps} steps, {self.cycles} cycles, "
            f"{self.start.isoformat()} .. {self.end.isoformat()}",
            f"fills {self.fills}  volume ${usd(self.volume_usd)}  fees ${usd(self.fees)}  "
            f"funding ${usd(self.funding)}  alerts {self.alerts}",
            f"hedge pnl ${usd(self.hedge_pnl)} (realised {usd(self.realised_pnl)}, "
            f"unrealised {usd(self.unrealised_pnl)})",
            f"lp value ${usd(self.lp_value_start)} -> ${usd(self.lp_value_end)}  "
            f"net pnl ${usd(self.net_pnl)}",
            f"max |offset| ${usd(self.max_abs_offset_usd)}  outside threshold "
            f"{self.time_outside_threshold_pct:.2f}% of symbol-time  tracking error "
            f"${usd(self.tracking_error_usd)}  max drawdown ${usd(self.max_drawdown_usd)}",
        ]
        for sym, s in self.by_symbol.items():
            lines.append(
                f"  {sym:<6} fills {s.fills:>4}  position {s.final_position:,.6g}  "
                f"pnl ${s.hedge_pnl:,.2f}  max |offset| ${s.max_abs_offset_usd:,.2f}"
            )
        return "\n".join(lines)


# The per-symbol figures a Summary also holds for the whole run (their sum; the max
# for the extreme): one list, read off the two classes, for summary() and to_frame().
_TOTALLED: tuple[str, ...] = tuple(
    f.name for f in attrs.fields(SymbolSummary) if f.name in attrs.fields_dict(Summary)
)


COLUMN_ORDER = (
    "step", "symbol_index", "price", "ideal", "position", "offset", "offset_usd", "zone",
    "zone_missing", "cost_basis", "open_order", "fills", "volume_usd", "fees", "funding",
    "realised_pnl", "unrealised_pnl", "hedge_pnl", "lp_value",
)  # fmt: skip


class Columns(Mapping[str, "npt.NDArray[Any]"]):
    """A result's record columns; the three that follow from the step index
    alone (``step``, ``symbol_index``, ``lp_value``) are built on first access.

    A year of minute records is ~17 MB per column: a run that only needs
    the summary does not hold those three.
    """

    def __init__(
        self,
        built: dict[str, npt.NDArray[Any]],
        derived: dict[str, Callable[[], npt.NDArray[Any]]],
        order: Sequence[str],
    ) -> None:
        self._built, self._derived, self._order = built, derived, tuple(order)

    def __getitem__(self, key: str) -> npt.NDArray[Any]:
        found = self._built.get(key)
        if found is None:
            make = self._derived.pop(key)  # KeyError for an unknown column
            found = self._built[key] = make()
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)


class Recorder:
    """Accumulates books, fills, extremes and sampled snapshots during a run.

    Engines store a *snapshot* of what only they know (position, cost basis,
    live order, the book's running totals) whenever it may have changed, at
    least once at step 0; the row of a sampled step is the last snapshot at
    or before it, and prices, offsets, zones, PnL and LP value are derived in
    bulk by :meth:`columns`. The fast engine thus records nothing on the
    (vast majority of) steps where nothing of its own changed.
    """

    def __init__(
        self,
        scenario: Scenario,
        config: HedgeConfig,
        symbols: Sequence[str],
        ideals: Mapping[str, Sequence[float]],
        record_every: int = 1,
    ) -> None:
        if record_every < 1:
            raise ValueError("record_every must be >= 1")
        self.scenario = scenario
        self.config = config
        self.symbols = tuple(symbols)
        self.ideals = ideals
        self.record_every = record_every
        self.min_usd = config.threshold_min_usd
        self.books = {s: Book() for s in self.symbols}
        self.fills: list[FillRecord] = []
        # Flat float64 buffer of RAW_FIELDS tuples: cheap to append, zero-copy to numpy.
        self.rows = array("d")
        self.max_abs = dict.fromkeys(self.symbols, 0.0)
        self.outside_s = dict.fromkeys(self.symbols, 0.0)
        self.alerts = dict.fromkeys(self.symbols, 0)
        self.cycles = 0

    def on_fill(self, fill: FillRecord) -> None:
        self.fills.append(fill)
        self.books[fill.symbol].fill(fill.signed_size, fill.price, fill.fee)

    def track(self, k: int, i: int, position: float) -> None:
        """Extremes and time outside the threshold, at every step (sampled or not)."""
        times = self.scenario.times
        dt = times[i + 1].timestamp() - times[i].timestamp() if i + 1 < len(times) else 0.0
        self.track_step(i, {self.symbols[k]: position}, dt)

    def track_step(self, i: int, positions: Mapping[str, float], dt: float) -> None:
        """:meth:`track` for the given symbols at once; ``dt``: seconds to the next step
        (0 at the last one). The engine calls it every step, so lookups are hoisted."""
        prices, ideals, initial = self.scenario.prices, self.ideals, self.config.initial_offsets
        max_abs, min_usd = self.max_abs, self.min_usd
        for sym, position in positions.items():
            offset = position + initial.get(sym, 0.0) - ideals[sym][i]
            a = abs(offset * prices[sym][i])
            if a > max_abs[sym]:
                max_abs[sym] = a
            if a >= min_usd and dt:
                self.outside_s[sym] += dt

    def snapshot(
        self, i: int, k: int, position: float, cost_basis: float, open_order: bool
    ) -> None:
        """Remember symbol ``k``'s own state as of the end of step ``i``."""
        b = self.books[self.symbols[k]]
        self.rows.extend(
            (i, k, position, cost_basis, open_order, b.fills, b.volume, b.fees, b.funding,
             b.realised, b.avg_price)
        )  # fmt: skip

    def summary(
        self,
        engine: str,
        final_positions: Mapping[str, float],
        columns: Mapping[str, npt.NDArray[Any]] | None = None,
    ) -> Summary:
        sc = self.scenario
        last = len(sc.times) - 1
        by: dict[str, SymbolSummary] = {}
        for s in self.symbols:
            b, p = self.books[s], sc.prices[s][last]
            offset = final_positions[s] + self.config.initial_offsets.get(s, 0.0)
            by[s] = SymbolSummary(
                fills=b.fills,
                volume_usd=b.volume,
                fees=b.fees,
                funding=b.funding,
                realised_pnl=b.realised,
                unrealised_pnl=b.unrealised(p),
                hedge_pnl=b.pnl(p),
                final_position=final_positions[s],
                final_offset_usd=(offset - self.ideals[s][last]) * p,
                max_abs_offset_usd=self.max_abs[s],
                time_outside_threshold_s=self.outside_s[s],
                alerts=self.alerts[s],
            )
        lp = lp_values(sc, self.config, [0, last])
        lp_start = None if math.isnan(lp[0]) else float(lp[0])
        lp_end = None if math.isnan(lp[1]) else float(lp[1])
        span = (sc.end - sc.start).total_seconds() * len(self.symbols)
        # The run's totals: the symbols' sums, field by field (the extreme: their max).
        totals: dict[str, Any] = {
            name: sum(getattr(v, name) for v in by.values())
            for name in _TOTALLED
            if name != "max_abs_offset_usd"
        }
        outside, hedge = totals["time_outside_threshold_s"], totals["hedge_pnl"]
        lp_pnl = None if lp_start is None or lp_end is None else lp_end - lp_start
        return Summary(
            engine=engine,
            start=sc.start,
            end=sc.end,
            steps=len(sc.times),
            cycles=self.cycles,
            symbols=self.symbols,
            lp_value_start=lp_start,
            lp_value_end=lp_end,
            lp_pnl=lp_pnl,
            net_pnl=None if lp_pnl is None else lp_pnl + hedge,
            max_abs_offset_usd=max(self.max_abs.values(), default=0.0),
            time_outside_threshold_pct=100.0 * outside / span if span > 0 else 0.0,
            by_symbol=by,
            **totals,
            tracking_error_usd=0.0 if columns is None else self.tracking_error(columns),
            max_drawdown_usd=0.0 if columns is None else self.max_drawdown(columns),
        )

    def tracking_error(self, columns: Mapping[str, npt.NDArray[Any]]) -> float:
        """RMS of the USD offset, each recorded step weighted by the time to the next."""
        import numpy as np

        n_sym = len(self.symbols)
        steps = self.sampled()
        times = self.scenario.times
        epochs = np.fromiter((t.timestamp() for t in times), np.float64, len(times))[steps]
        w = np.append(np.diff(epochs), 0.0)
        total = float(w.sum()) * n_sym
        if total <= 0:
            return 0.0
        usd = columns["offset_usd"].reshape(-1, n_sym)
        # Per symbol: no (steps x symbols) temporary of squares.
        squares = sum(float(w @ np.square(usd[:, j])) for j in range(n_sym))
        return math.sqrt(squares / total)

    def sampled(self) -> npt.NDArray[Any]:
        """The recorded steps: every ``record_every``-th, and the last."""
        import numpy as np

        n = len(self.scenario.times)
        sampled = np.arange(0, n, self.record_every, dtype=np.int64)
        if sampled[-1] != n - 1:
            sampled = np.append(sampled, n - 1)
        return sampled

    def max_drawdown(self, columns: Mapping[str, npt.NDArray[Any]]) -> float:
        """:func:`max_drawdown` without the repeated ``lp_value`` column."""
        lp = lp_values(self.scenario, self.config, self.sampled())
        return max_drawdown(columns, len(self.symbols), lp)

    def columns(self) -> Columns:
        """Every record column as an array, derived from the sampled snapshots."""
        import numpy as np

        sc, syms = self.scenario, self.symbols
        n_sym = len(syms)
        sampled = self.sampled()
        raw = np.frombuffer(self.rows, dtype=np.float64).reshape(-1, len(RAW_FIELDS))
        # Row of ``raw`` in force at each (sampled step, symbol); fields are then
        # gathered one at a time (no (steps x symbols x fields) temporary).
        where = np.empty((len(sampled), n_sym), dtype=np.int64)
        for j in range(n_sym):
            mine = np.flatnonzero(raw[:, 1] == j)
            at = np.searchsorted(raw[mine, 0], sampled, side="right") - 1
            if len(at) and (len(mine) == 0 or at[0] < 0):
                raise ValueError(f"{syms[j]}: no snapshot at step 0")
            where[:, j] = mine[at]
        flat = where.ravel()
        del where

        def col(name: str) -> npt.NDArray[np.float64]:
            out: npt.NDArray[np.float64] = raw[flat, RAW_FIELDS.index(name)]
            return out

        # Built one column at a time, temporaries freed (or updated in place)
        # as soon as possible: with a year of every-step records each array is
        # ~17 MB, and the peak is what a long run is limited by. The values
        # are those of the plain expressions in the comments, bit for bit.
        step = np.repeat(sampled, n_sym)
        k = np.tile(np.arange(n_sym, dtype=np.int64), len(sampled))
        price = _per_symbol(sc.prices, syms)[k, step]
        ideal = _per_symbol(self.ideals, syms)[k, step]
        del step  # rebuilt on demand (see Columns)
        init = np.asarray([self.config.initial_offsets.get(s, 0.0) for s in syms], np.float64)
        position = col("position")
        offset = position + init[k]
        offset -= ideal  # position + init - ideal
        offset_usd = offset * price
        a = np.abs(offset_usd)
        th = self.config.thresholds()
        zone_missing = a < th.min_usd
        scaled = a - th.min_usd
        scaled /= th.step_usd
        zone = scaled.astype(np.int64)  # (a - min) / step, truncated
        del scaled
        zone[a > th.max_usd] = -1
        del a
        zone[zone_missing] = 0
        unrealised = price - col("avg_price")
        unrealised *= position  # position * (price - avg_price)
        realised = col("realised")
        fees = col("fees")
        funding = col("funding")
        hedge = realised + unrealised
        hedge -= fees
        hedge += funding  # realised + unrealised - fees + funding
        del k
        built = {
            "price": price,
            "ideal": ideal,
            "position": position,
            "offset": offset,
            "offset_usd": offset_usd,
            "zone": zone,
            "zone_missing": zone_missing,
            "cost_basis": col("cost_basis"),
            "open_order": col("open_order").astype(bool),
            "fills": col("fills").astype(np.int64),
            "volume_usd": col("volume"),
            "fees": fees,
            "funding": funding,
            "realised_pnl": realised,
            "unrealised_pnl": unrealised,
            "hedge_pnl": hedge,
        }
        config = self.config
        derived: dict[str, Callable[[], npt.NDArray[Any]]] = {
            "step": lambda: np.repeat(sampled, n_sym),
            "symbol_index": lambda: np.tile(np.arange(n_sym, dtype=np.int64), len(sampled)),
            "lp_value": lambda: np.repeat(lp_values(sc, config, sampled), n_sym),
        }
        return Columns(built, derived, COLUMN_ORDER)

    def result(self, engine: str, final_positions: Mapping[str, float]) -> BacktestResult:
        columns = self.columns()
        return BacktestResult(
            engine=engine,
            config=self.config,
            symbols=self.symbols,
            times=self.scenario.times,
            columns=columns,
            fills=tuple(self.fills),
            final_positions=dict(final_positions),
            summary=self.summary(engine, final_positions, columns),
        )


def _per_symbol(series: Mapping[str, Sequence[float]], symbols: Sequence[str]) -> Any:
    """A (symbols x steps) float64 matrix of per-symbol series."""
    import numpy as np

    out = np.empty((len(symbols), len(series[symbols[0]]) if symbols else 0), dtype=np.float64)
    for j, s in enumerate(symbols):
        out[j] = series[s]
    return out


def max_drawdown(
    columns: Mapping[str, npt.NDArray[Any]], n_sym: int, lp: npt.NDArray[Any] | None = None
) -> float:
    """Largest peak-to-trough fall of (LP value change + hedge PnL) over the records.

    ``lp``: the LP value at each recorded step (default: from the columns).
    """
    import numpy as np

    hedge = columns["hedge_pnl"].reshape(-1, n_sym).sum(axis=1)
    if lp is None:
        lp = columns["lp_value"][::n_sym]
    value = hedge if np.isnan(lp).any() else hedge + (lp - lp[0])
    if len(value) == 0:
        return 0.0
    return float((np.maximum.accumulate(value) - value).max())


RAW_FIELDS = (
    "step",
    "k",
    "position",
    "cost_basis",
    "open_order",
    "fills",
    "volume",
    "fees",
    "funding",
    "realised",
    "avg_price",
)


@attrs.frozen(eq=False)
class BacktestResult:
    """Everything a run produced. ``to_frame()`` needs pandas, ``plot()`` matplotlib.

    ``columns`` holds the sampled rows as arrays: the :class:`Record` fields
    plus ``step`` (index into ``times``), ``symbol_index`` (into
    ``symbols``) and ``zone_missing`` (the mask of a ``None`` zone).
    """

    engine: str
    config: HedgeConfig
    symbols: tuple[str, ...]
    times: Sequence[datetime]
    columns: Mapping[str, npt.NDArray[Any]]
    fills: tuple[FillRecord, ...]
    final_positions: Mapping[str, float]
    _summary: Summary

    def __len__(self) -> int:
        return len(self.columns["position"])

    @property
    def records(self) -> tuple[Record, ...]:
        c = {name: self.columns[name].tolist() for name in self.columns}
        times = [self.times[i] for i in c["step"]]
        c["symbol"] = [self.symbols[k] for k in c["symbol_index"]]
        zones: list[int | None] = [
            None if missing else z for z, missing in zip(c["zone"], c["zone_missing"], strict=True)
        ]
        lp = [None if math.isnan(v) else v for v in c["lp_value"]]
        cols = [
            times if name == "time" else zones if name == "zone" else lp if name == "lp_value"
            else c[name]
            for name in COLUMNS
        ]  # fmt: skip
        return tuple(Record(*values) for values in zip(*cols, strict=True))

    def summary(self) -> Summary:
        return self._summary

    def to_frame(self) -> pd.DataFrame:
        """One row per sampled (time, symbol), indexed by a UTC ``DatetimeIndex`` named ``time``."""
        import pandas as pd

        c = self.columns
        steps = pd.DatetimeIndex(list(self.times))
        if steps.tz is None:
            steps = steps.tz_localize("UTC")
        index = steps.tz_convert("UTC")[c["step"]].rename("time")
        data: dict[str, Any] = {
            "symbol": pd.Categorical.from_codes(
                c["symbol_index"], categories=pd.Index(self.symbols)
            ),
            **{name: c[name] for name in COLUMNS[2:] if name not in ("zone",)},
        }
        data["zone"] = pd.arrays.IntegerArray(c["zone"], c["zone_missing"])
        return pd.DataFrame(data, index=index)[list(COLUMNS[1:])]

    def to_parquet(self, path: str | Path) -> Path:
        """Write the records as one columnar Parquet file (pyarrow, ``xlp-core[parquet]``).

        A year of minute records is a few hundred MB as CSV; Parquet keeps it
        typed, compressed and quick to reload into pandas or any Arrow tool.
        """
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingExtraError("parquet", "Parquet backtest records") from None
        target = Path(path)
        table = pa.Table.from_pandas(self.to_frame(), preserve_index=True)
        try:
            pq.write_table(table, target, compression="zstd")
        except OSError as exc:
            raise InvalidInputError(f"{target}: cannot write the records: {exc}") from None
        return target

    def fills_frame(self) -> pd.DataFrame:
        """The fills, indexed by time."""
        import pandas as pd

        rows = [attrs.asdict(f) for f in self.fills]
        columns = [f.name for f in attrs.fields(FillRecord)]
        frame = pd.DataFrame(rows, columns=columns)
        frame["side"] = frame["side"].astype("string")
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return frame.set_index("time")

    def plot(self, path: str | Path | None = None) -> Figure:
        """Offsets, hedge PnL and LP value as a matplotlib ``Figure``; also a PNG at ``path``.

        A notebook displays the returned figure; no pyplot state is touched.
        """
        from xlp_adapters.backtest.plot import figure_of

        fig = figure_of(self)
        if path is not None:
            from xlp_adapters.backtest.plot import save_png

            save_png(fig, path)
        return fig
