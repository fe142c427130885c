"""Parameter sweeps: one backtest per config of a grid, on any executor.

``sweep(scenario, grid, config=base)`` runs every combination of ``grid``
(``{"threshold_min_usd": [50, 100], "close_ratio_pct": [20, 40]}`` is four
configs; a list of dicts is taken as the configs themselves) and returns a
pandas DataFrame, one row per config: its overrides, then net PnL, hedge
PnL, fees, funding, fills, max |offset|, time outside the threshold and the
tracking error.

By default the compiled engine runs each group of configs (same pools) in
one compiled call whose loop over configs is spread over all local cores
(``numba.prange``: the inputs are built once and shared, nothing is copied
or pickled); the Python engines run in a process pool over all local cores.
Any :class:`concurrent.futures.Executor` may be passed instead, e.g.
``distributed.Client(...).get_executor()`` to run on a Dask cluster; configs
then travel in chunks, so the data is shipped once per chunk.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any

import attrs

from xlp_adapters.backtest.data import Scenario, ScenarioError, ideal_array
from xlp_adapters.backtest.data import lp_values as _lp_values
from xlp_adapters.backtest.engine import ENGINES, Engine, PaperVenue, SimClock, _run_sync
from xlp_adapters.backtest.fast import FillModel, progress_bar
from xlp_core.config import HedgeConfig
from xlp_core.errors import ConfigError, MissingSymbolError, XlpError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from xlp_adapters.backtest.compiled import Arrays

METRICS: tuple[str, ...] = (
    "net_pnl",
    "hedge_pnl",
    "lp_pnl",
    "fees",
    "funding",
    "fills",
    "volume_usd",
    "max_abs_offset_usd",
    "time_outside_threshold_pct",
    "tracking_error_usd",
    "alerts",
)
Grid = Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]


def expand(grid: Grid) -> list[dict[str, Any]]:
    """The configs of ``grid``: a product of value lists, or an explicit list of dicts."""
    if isinstance(grid, Mapping):
        keys = list(grid)
        for k in keys:
            values = grid[k]
            if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
                raise ConfigError(k, "a sweep needs a non-empty list of values")
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    out = [dict(c) for c in grid]
    if not out:
        raise ConfigError("grid", "a sweep needs at least one config")
    return out


def configs_of(base: HedgeConfig, overrides: Sequence[Mapping[str, Any]]) -> list[HedgeConfig]:
    """``base`` with each set of overrides, validated (a typed error names a bad field)."""
    fields = {f.name for f in attrs.fields(HedgeConfig)}
    out = []
    for o in overrides:
        for k in o:
            if k not in fields:
                raise ConfigError(k, "not a HedgeConfig field")
        try:
            out.append(attrs.evolve(base, **o))
        except XlpError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(", ".join(o), f"rejected: {type(exc).__name__}") from None
    return out


def _model(scenario: Scenario, symbols: Sequence[str], venue: PaperVenue | None) -> FillModel:
    paper = (venue or PaperVenue()).exchange(
        SimClock(scenario.start), {s: scenario.prices[s][0] for s in symbols}
    )
    rules = _run_sync(paper.markets(symbols))
    for s in symbols:
        if s not in rules:
            raise MissingSymbolError(s, "market (not listed on the paper exchange)")
    return FillModel.of(paper, rules)


_CALLS = 4  # parallel compiled calls per group: progress updates without idle cores


# --- the compiled engine: totals straight from the kernel ----------------------


@attrs.frozen(eq=False)
class _Group:
    """What every config holding the same pools shares (shipped once per chunk)."""

    scenario: Scenario
    arrays: Arrays
    ideals: npt.NDArray[np.float64]  # [step, symbol]
    model: FillModel
    lp_pnl: float | None
    span_s: float


def _totals(group: _Group, b: npt.NDArray[np.float64]) -> dict[str, Any]:
    """A sweep row from one config's per-symbol book (``_kernel``'s ``B_*`` columns)."""
    from xlp_adapters.backtest import _kernel as k

    last = group.arrays.prices[-1]
    unreal = b[:, k.B_POS] * (last - b[:, k.B_AVG])
    hedge = float((b[:, k.B_REAL] + unreal - b[:, k.B_FEES] + b[:, k.B_FUND]).sum())
    span = group.span_s
    return {
        "net_pnl": None if group.lp_pnl is None else group.lp_pnl + hedge,
        "hedge_pnl": hedge,
        "lp_pnl": group.lp_pnl,
        "fees": float(b[:, k.B_FEES].sum()),
        "funding": float(b[:, k.B_FUND].sum()),
        "fills": int(b[:, k.B_FILLS].sum()),
        "volume_usd": float(b[:, k.B_VOL].sum()),
        "max_abs_offset_usd": float(b[:, k.B_MAXABS].max()),
        "time_outside_threshold_pct": (
            100.0 * float(b[:, k.B_OUTSIDE].sum()) / span if span > 0 else 0.0
        ),
        "tracking_error_usd": math.sqrt(float(b[:, k.B_TE].sum()) / span) if span > 0 else 0.0,
        "alerts": int(b[:, k.B_ALERTS].sum()),
    }


def _compiled_chunk(group: _Group, configs: Sequence[HedgeConfig]) -> list[dict[str, Any]]:
    """One config after another on one core (a task for any executor)."""
    from xlp_adapters.backtest import compiled

    rows = []
    for cfg in configs:
        out = compiled.run_arrays(
            group.scenario,
            cfg,
            model=group.model,
            arrays=group.arrays,
            ideals=group.ideals,
            record=False,  # a sweep keeps totals only: no per-step records built
        )
        rows.append(_totals(group, out.book))
    return rows


def _compiled_parallel(group: _Group, configs: Sequence[HedgeConfig]) -> list[dict[str, Any]]:
    """All ``configs`` in one compiled call, spread over this machine's cores."""
    from xlp_adapters.backtest import compiled

    books, _ = compiled.run_many(
        configs, model=group.model, arrays=group.arrays, ideals=group.ideals
    )
    return [_totals(group, books[c]) for c in range(len(configs))]


def _groups(
    scenario: Scenario, configs: Sequence[HedgeConfig], venue: PaperVenue | None
) -> list[tuple[_Group, list[int]]]:
    from xlp_adapters.backtest.compiled import Arrays

    arrays: dict[tuple[str, ...], Arrays] = {}
    by_key: dict[tuple[Any, ...], tuple[_Group, list[int]]] = {}
    n = len(scenario)
    for j, cfg in enumerate(configs):
        symbols = scenario.check(cfg)
        key = (symbols, tuple(sorted(cfg.pools.items())))
        if key not in by_key:
            import numpy as np

            if symbols not in arrays:
                arrays[symbols] = Arrays.of(scenario, symbols)
            lp = _lp_values(scenario, cfg, [0, n - 1])
            group = _Group(
                scenario=scenario,
                arrays=arrays[symbols],
                ideals=ideal_array(scenario, cfg, symbols),
                model=_model(scenario, symbols, venue),
                lp_pnl=None if np.isnan(lp).any() else float(lp[1] - lp[0]),
                span_s=(scenario.end - scenario.start).total_seconds() * len(symbols),
            )
            by_key[key] = (group, [])
        by_key[key][1].append(j)
    return list(by_key.values())


# --- the Python engines: a full run per config ----------------------------------


def _python_chunk(
    scenario: Scenario,
    configs: Sequence[HedgeConfig],
    engine: Engine,
    venue: PaperVenue | None,
    initial_hedge: bool,
) -> list[dict[str, Any]]:
    from xlp_adapters.backtest.engine import run_backtest

    rows = []
    for cfg in configs:
        s = run_backtest(scenario, cfg, engine=engine, venue=venue, initial_hedge=initial_hedge)
        head = s.summary().headline()
        rows.append({m: head[m] for m in METRICS})
    return rows


def _chunks(indices: Sequence[int], size: int) -> Iterator[list[int]]:
    for a in range(0, len(indices), size):
        yield list(indices[a : a + size])


Job = tuple[Callable[..., list[dict[str, Any]]], tuple[Any, ...], list[int]]


def _on_executor(
    jobs: Sequence[Job],
    executor: Executor | None,
    finished: Callable[[list[int], list[dict[str, Any]]], None],
    *,
    workers: int,
) -> None:
    """Run ``jobs`` on ``executor`` (a process pool of ``workers`` if None), as they finish."""
    if not jobs:
        return
    owned = executor is None
    pool = (
        ProcessPoolExecutor(max_workers=min(workers, len(jobs))) if executor is None else executor
    )
    try:
        pending: dict[Future[list[dict[str, Any]]], list[int]] = {
            pool.submit(fn, *args): part for fn, args, part in jobs
        }
        while pending:
            done, _ = wait_futures(pending, return_when="FIRST_COMPLETED")
            for fut in done:
                finished(pending.pop(fut), fut.result())
    finally:
        if owned:
            pool.shutdown(cancel_futures=True)


def sweep(
    scenario: Scenario,
    grid: Grid,
    *,
    config: HedgeConfig,
    engine: Engine = "compiled",
    executor: Executor | None = None,
    venue: PaperVenue | None = None,
    initial_hedge: bool = True,
    chunk_size: int | None = None,
    progress: bool = False,
    on_done: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """One backtest of ``scenario`` per config of ``grid`` (overrides of ``config``).

    Every config is validated before anything runs. ``executor`` is any
    :class:`concurrent.futures.Executor` (not shut down here); ``None`` uses
    all local cores (for the compiled engine, in one parallel compiled call per
    ``chunk_size`` configs rather than in a pool). ``on_done(n)`` is called as
    ``n`` more configs finish (the command line's progress bar). The compiled engine's rows come
    straight from the kernel's totals (no per-step records are kept).
    """
    import pandas as pd

    if engine not in ENGINES:
        raise ScenarioError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "compiled" and not initial_hedge:
        raise ScenarioError("the compiled sweep starts from the hedge in place (initial_hedge)")
    overrides = expand(grid)
    configs = configs_of(config, overrides)
    cpus = os.cpu_count() or 1
    size = chunk_size or max(1, math.ceil(len(configs) / (2 * cpus)))
    jobs: list[Job]
    if engine == "compiled":
        from xlp_adapters.backtest.compiled import kernel

        kernel()  # MissingExtraError now rather than in a worker
        jobs = (
            []
            if executor is None
            else [
                (_compiled_chunk, (group, [configs[j] for j in part]), part)
                for group, idx in _groups(scenario, configs, venue)
                for part in _chunks(idx, size)
            ]
        )
    else:
        for cfg in configs:
            scenario.check(cfg)
        jobs = [
            (_python_chunk, (scenario, [configs[j] for j in part], engine, venue, initial_hedge),
             part)
            for part in _chunks(range(len(configs)), size)
        ]  # fmt: skip
    results: list[dict[str, Any] | None] = [None] * len(configs)
    bar = progress_bar(len(configs), progress, f"sweep ({engine})")

    def finished(part: list[int], rows: list[dict[str, Any]]) -> None:
        for j, row in zip(part, rows, strict=True):
            results[j] = row
        bar.update(len(part))
        if on_done is not None:
            on_done(len(part))

    try:
        if executor is None and engine == "compiled":
            # The default: each group's configs in a few compiled calls over all cores.
            for group, idx in _groups(scenario, configs, venue):
                per = chunk_size or cpus * math.ceil(len(idx) / (_CALLS * cpus))
                for part in _chunks(idx, per):
                    finished(part, _compiled_parallel(group, [configs[j] for j in part]))
        else:
            _on_executor(jobs, executor, finished, workers=cpus)
    finally:
        bar.close()
    frame = pd.DataFrame(
        [{**o, **(r or {})} for o, r in zip(overrides, results, strict=True)],
        columns=[*dict.fromkeys(k for o in overrides for k in o), *METRICS],
    )
    frame.index.name = "config"
    return frame
