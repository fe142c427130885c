"""The compiled engine: the fast engine's rules as one numba loop over arrays.

It runs the default strategy only (:class:`~xlp_core.strategy.ZoneStrategy`,
any parameters) on the paper exchange's whole-fill model, and gives the same
fills, positions, fees, funding and PnL as the ``fast`` and ``cycle``
engines, which stay the reference (``tests/test_backtest_compiled.py``
checks all three against each other). The loop lives in
:mod:`xlp_adapters.backtest._kernel`; it needs the ``fast`` extra (numba) and
is compiled once per machine, then cached on disk (``NUMBA_CACHE_DIR``, or a
user cache directory when the package directory is read-only).

Records and fills are kept only when they change, so memory is O(records
kept) plus the input arrays; :func:`run_arrays` skips them entirely, which is
what a sweep uses.
"""

from __future__ import annotations

import os
import tempfile
import threading
from array import array
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from xlp_adapters.backtest.data import Scenario, ideal_series
from xlp_adapters.backtest.fast import FillModel, opening_position
from xlp_adapters.backtest.results import BacktestResult, Book, FillRecord, Recorder
from xlp_core.config import HedgeConfig
from xlp_core.decision import DecisionParams
from xlp_core.errors import InvalidInputError, MissingExtraError, MissingSymbolError
from xlp_core.ids import MAX_SERIAL, order_id
from xlp_core.models import Side
from xlp_core.strategy import Strategy, ZoneStrategy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FEATURE = "the compiled backtest engine"
_US = timedelta(microseconds=1)


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK | os.X_OK)


def _cache_dir_fallback() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for candidate in (Path(base) / "xlp-core" / "numba", Path(tempfile.gettempdir()) / "xlp-numba"):
        if _writable(candidate):
            return candidate
    return Path(tempfile.mkdtemp(prefix="xlp-numba-"))


def kernel() -> Any:
    """The compiled module, importing numba (and choosing a writable cache) on first use."""
    try:
        import numba.core.config as numba_config
    except ImportError:
        raise MissingExtraError("fast", FEATURE) from None
    if not getattr(numba_config, "CACHE_DIR", "") and not _writable(
        Path(__file__).parent / "__pycache__"
    ):
        # A read-only install: numba would refuse to cache beside the source.
        setattr(numba_config, "CACHE_DIR", str(_cache_dir_fallback()))  # noqa: B010
    from xlp_adapters.backtest import _kernel

    return _kernel


@attrs.frozen(eq=False)
class Arrays:
    """A scenario's times, prices and funding as arrays, built once and shared by runs."""

    symbols: tuple[str, ...]
    epochs: npt.NDArray[np.float64]
    micros: npt.NDArray[np.int64]
    prices: npt.NDArray[np.float64]  # [step, symbol]
    fund_step: npt.NDArray[np.int64]
    fund_k: npt.NDArray[np.int64]
    fund_rate: npt.NDArray[np.float64]

    @classmethod
    def of(cls, scenario: Scenario, symbols: Sequence[str]) -> Arrays:
        import numpy as np

        symbols = tuple(symbols)
        times = scenario.times
        epochs = np.fromiter(map(datetime.timestamp, times), dtype=np.float64, count=len(times))
        # ``timestamp()`` is the correctly rounded float of whole microseconds (< 2**53),
        # so rounding back recovers them exactly: ``(t - t0) // 1us`` without a loop.
        whole = np.rint(epochs * 1e6).astype(np.int64)
        micros = whole - whole[0]
        prices = np.empty((len(times), len(symbols)), dtype=np.float64)
        for k, s in enumerate(symbols):
            prices[:, k] = scenario.prices[s]
        # funding_schedule's events, by float search on the step times (exact: distinct
        # whole microseconds are distinct, ordered floats): by step, then symbol, then time.
        steps, ks, rates = [], [], []
        for sym in sorted(scenario.funding):
            if sym not in symbols or not scenario.funding[sym]:
                continue
            rows = scenario.funding[sym]
            at = np.fromiter((t.timestamp() for t, _ in rows), dtype=np.float64, count=len(rows))
            idx = np.searchsorted(epochs, at, side="left")
            keep = idx < len(times)
            steps.append(idx[keep])
            ks.append(np.full(int(keep.sum()), symbols.index(sym), dtype=np.int64))
            rates.append(np.asarray([r for _, r in rows], dtype=np.float64)[keep])
        if steps:
            step = np.concatenate(steps).astype(np.int64)
            order = np.argsort(step, kind="stable")
            fund = (step[order], np.concatenate(ks)[order], np.concatenate(rates)[order])
        else:
            fund = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
        return cls(symbols, epochs, micros, prices, *fund)

    def ideal_matrix(
        self, ideals: Mapping[str, Sequence[float]] | Mapping[str, npt.NDArray[np.float64]]
    ) -> npt.NDArray[np.float64]:
        """``ideals`` (per symbol) as a ``[step, symbol]`` array."""
        import numpy as np

        out = np.empty_like(self.prices)
        for j, s in enumerate(self.symbols):
            out[:, j] = ideals[s]
        return out


def _params(strategy: Strategy | None, config: HedgeConfig) -> DecisionParams:
    if strategy is None:
        return config.decision_params()
    if type(strategy) is not ZoneStrategy:
        raise InvalidInputError(
            "the compiled engine runs the default ZoneStrategy only; use engine='fast' or 'cycle'"
        )
    return strategy.params


def _vectors(
    params: DecisionParams, config: HedgeConfig, model: FillModel
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    import numpy as np

    th = params.thresholds
    f = [
        th.min_usd, th.max_usd, th.step_usd, params.price_offset_pct, params.close_ratio_pct,
        params.max_limit_deviation_pct, params.market_slippage_pct, params.min_order_notional,
        config.threshold_min_usd, float(config.check_interval_seconds),
        config.max_order_notional_usd, config.max_cycle_notional_usd,
        model.maker_fee_rate, model.taker_fee_rate, model.slippage,
    ]  # fmt: skip
    i = [
        params.order_timeout // _US, params.cooldown // _US, params.alert_repeat // _US,
        int(config.post_only),
    ]  # fmt: skip
    return np.asarray(f, dtype=np.float64), np.asarray(i, dtype=np.int64)


@attrs.frozen(eq=False)
class Outcome:
    """What the kernel returns, as arrays (see ``_kernel``'s column constants)."""

    rows: npt.NDArray[np.float64]
    fills: npt.NDArray[np.float64]
    book: npt.NDArray[np.float64]
    cycles: int


def _market(
    model: FillModel,
    arrays: Arrays,
    ideals: npt.NDArray[np.float64],
    *,
    initial_hedge: bool,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The venue's rules per symbol and the opening book: ``(rules, start_pos, open_avg)``."""
    import numpy as np

    symbols = arrays.symbols
    for s in symbols:
        if s not in model.rules:
            raise MissingSymbolError(s, "market (not listed on the venue)")
    rules = np.asarray(
        [
            (r.size_increment, r.price_increment, r.min_size, r.min_notional)
            for r in (model.rules[s] for s in symbols)
        ],
        dtype=np.float64,
    ).reshape(len(symbols), 4)
    start = np.zeros(len(symbols), dtype=np.float64)
    avg = np.zeros(len(symbols), dtype=np.float64)
    if initial_hedge:
        for j, s in enumerate(symbols):
            start[j] = opening_position(float(ideals[0, j]), model.rules[s])
            avg[j] = arrays.prices[0, j] if start[j] else 0.0
    return rules, start, avg


def _inits(config: HedgeConfig, symbols: Sequence[str]) -> npt.NDArray[np.float64]:
    import numpy as np

    return np.asarray([config.initial_offsets.get(s, 0.0) for s in symbols], dtype=np.float64)


def budget_free(config: HedgeConfig, symbols: int) -> bool:
    """Whether the cycle's notional budget can never refuse an order of ``config``.

    Each accepted order is at most ``max_order_notional_usd`` and a cycle
    places at most one per symbol; float addition is monotonic, so if that
    maximum added up once per symbol (as the kernel adds) stays within
    ``max_cycle_notional_usd``, the budget never binds and the symbols never
    interact: the kernel may then run them one at a time.
    """
    total = 0.0
    for _ in range(symbols):
        total += config.max_order_notional_usd
    return symbols > 0 and not total > config.max_cycle_notional_usd


def run_arrays(
    scenario: Scenario,
    config: HedgeConfig,
    *,
    model: FillModel,
    arrays: Arrays,
    ideals: npt.NDArray[np.float64],
    strategy: Strategy | None = None,
    initial_hedge: bool = True,
    record: bool = True,
) -> Outcome:
    """One run of the kernel on prepared arrays (``ideals`` from :meth:`Arrays.ideal_matrix`).

    ``record=False`` keeps totals only (the book; no records and, when the cycle
    budget cannot bind, no fills either: what a sweep needs).
    """
    import numpy as np

    k = kernel()
    symbols = arrays.symbols
    rules, start, avg = _market(model, arrays, ideals, initial_hedge=initial_hedge)
    fparams, iparams = _vectors(_params(strategy, config), config, model)
    if not record and budget_free(config, len(symbols)):
        # Totals only: the symbol-at-a-time loop (state in registers), no records or fills.
        book, cycles = k.totals_kernel(
            arrays.epochs, arrays.micros, arrays.prices, ideals, _inits(config, symbols), rules,
            start, avg, arrays.fund_step, arrays.fund_k, arrays.fund_rate, fparams, iparams,
        )  # fmt: skip
        empty = np.empty((0, k.FILL_FIELDS), dtype=np.float64)
        return Outcome(empty[:, : k.ROW_FIELDS], empty, book, int(cycles))
    rows, n_rows, fills, n_fills, book, cycles = k.run_kernel(
        arrays.epochs, arrays.micros, arrays.prices, ideals, _inits(config, symbols), rules,
        start, avg, arrays.fund_step, arrays.fund_k, arrays.fund_rate, fparams, iparams, record,
    )  # fmt: skip
    return Outcome(rows[:n_rows], fills[:n_fills], book, int(cycles))


# The parallel kernel's default threading layer (workqueue) must not be entered
# by two threads at once.
_PARALLEL = threading.Lock()


def run_many(
    configs: Sequence[HedgeConfig],
    *,
    model: FillModel,
    arrays: Arrays,
    ideals: npt.NDArray[np.float64],
    strategy: Strategy | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Totals of many configs (same symbols and pools) in one compiled call on all cores.

    Returns ``(books, cycles)``: ``books[c]`` is config ``c``'s per-symbol book
    (``_kernel``'s ``B_*`` columns) exactly as :func:`run_arrays` with
    ``record=False`` gives it. Starts from the hedge in place (``initial_hedge``).
    """
    import numpy as np

    k = kernel()
    symbols = arrays.symbols
    rules, start, avg = _market(model, arrays, ideals, initial_hedge=True)
    vectors = [_vectors(_params(strategy, c), c, model) for c in configs]
    fparams = np.stack([v[0] for v in vectors])
    iparams = np.stack([v[1] for v in vectors])
    inits = np.stack([_inits(c, symbols) for c in configs])
    free = np.asarray([budget_free(c, len(symbols)) for c in configs], dtype=np.bool_)
    with _PARALLEL:
        books, cycles = k.sweep_kernel(
            arrays.epochs, arrays.micros, arrays.prices, ideals, inits, rules, start, avg,
            arrays.fund_step, arrays.fund_k, arrays.fund_rate, fparams, iparams, free,
        )  # fmt: skip
    return books, cycles


def run_compiled(
    scenario: Scenario,
    config: HedgeConfig,
    *,
    model: FillModel,
    strategy: Strategy | None = None,
    record_every: int = 1,
    initial_hedge: bool = True,
    arrays: Arrays | None = None,
) -> BacktestResult:
    """Replay ``scenario`` with the compiled engine; see the module docstring."""
    k = kernel()
    symbols = scenario.check(config)
    _params(strategy, config)
    if arrays is None or arrays.symbols != symbols:
        arrays = Arrays.of(scenario, symbols)
    ideals = ideal_series(scenario, config, symbols)
    out = run_arrays(
        scenario, config, model=model, arrays=arrays, ideals=arrays.ideal_matrix(ideals),
        strategy=strategy, initial_hedge=initial_hedge,
    )  # fmt: skip
    recorder = Recorder(scenario, config, symbols, ideals, record_every)
    book = out.book
    for j, s in enumerate(symbols):
        recorder.books[s] = Book(
            position=float(book[j, k.B_POS]),
            avg_price=float(book[j, k.B_AVG]),
            realised=float(book[j, k.B_REAL]),
            fees=float(book[j, k.B_FEES]),
            funding=float(book[j, k.B_FUND]),
            fills=int(book[j, k.B_FILLS]),
            volume=float(book[j, k.B_VOL]),
        )
        recorder.max_abs[s] = float(book[j, k.B_MAXABS])
        recorder.outside_s[s] = float(book[j, k.B_OUTSIDE])
        recorder.alerts[s] = int(book[j, k.B_ALERTS])
    recorder.cycles = out.cycles
    recorder.rows = array("d", out.rows.tobytes())
    times = scenario.times
    for step, j, sign, size, price, fee, taker, serial in out.fills.tolist():
        recorder.fills.append(
            FillRecord(
                times[int(step)],
                symbols[int(j)],
                Side.BUY if sign > 0 else Side.SELL,
                size,
                price,
                fee,
                "taker" if taker else "maker",
                order_id(config.namespace, int(serial) % MAX_SERIAL or MAX_SERIAL),
            )
        )
    final = {s: float(book[j, k.B_VENUE_POS]) for j, s in enumerate(symbols)}
    return recorder.result("compiled", final)
