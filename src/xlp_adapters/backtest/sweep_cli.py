"""``xlp sweep DATA --grid KEY=V1,V2 ...``: a parameter sweep from the command line.

The lead wires it into :mod:`xlp_adapters.cli` with ``sweep_cli.add_parser(sub)``;
the parser's ``func`` is :func:`run`. One backtest per combination of the
``--grid`` values, a progress bar on a terminal, a table on stdout and the
rows as CSV with ``--csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import attrs

from xlp_core.config import HedgeConfig
from xlp_core.errors import ConfigError

ENGINE_CHOICES = ("compiled", "fast", "cycle")


def add_parser(subparsers: Any) -> None:
    """Add the ``sweep`` subcommand to an ``argparse`` subparsers object."""
    s = subparsers.add_parser(
        "sweep",
        help="backtest a grid of configs (one row per config)",
        description="Backtest every config of a grid on one scenario and print one row per "
        "config: net PnL, hedge PnL, fees, funding, fills, max |offset|, time outside the "
        "threshold and tracking error. Runs on all local cores, or on a Dask cluster with "
        "--scheduler (xlp-core[distributed]). XLP_* environment variables are ignored.",
    )
    s.add_argument("data", help="scenario directory (prices.csv, pools.csv[, funding.csv])")
    s.add_argument("--config", help="base TOML file (default: DATA/hedge.toml if present)")
    s.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=V1,V2,...",
        help="values of one HedgeConfig field (repeat for a product grid)",
    )
    s.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        default="compiled",
        help="compiled (numba, default), fast or cycle: the same fills, different speeds",
    )
    s.add_argument("--workers", type=int, help="local workers (default: all cores)")
    s.add_argument("--scheduler", help="a Dask scheduler address (needs xlp-core[distributed])")
    s.add_argument("--csv", help="write the rows as CSV")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=run)


def _parse_value(field: attrs.Attribute[Any], text: str) -> Any:
    default = field.default
    raw = text.strip()
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(field.name, "a --grid value of the wrong type") from None
    return raw


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["threshold_min_usd=50,100"]`` -> ``{"threshold_min_usd": [50.0, 100.0]}``."""
    fields = {f.name: f for f in attrs.fields(HedgeConfig)}
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not values.strip():
            raise ConfigError("--grid", "expected FIELD=V1,V2,...")
        if name not in fields:
            raise ConfigError("--grid", f"{name[:60]!r} is not a HedgeConfig field")
        if name in grid:
            raise ConfigError("--grid", f"{name} given twice")
        grid[name] = [_parse_value(fields[name], v) for v in values.split(",")]
    if not grid:
        raise ConfigError("--grid", "give at least one --grid FIELD=V1,V2,...")
    return grid


def run(args: argparse.Namespace) -> int:
    """Run the sweep; typed errors are left to the CLI's exit-code mapping."""
    from concurrent.futures import Executor, ThreadPoolExecutor

    from xlp_adapters.backtest import load_scenario
    from xlp_adapters.backtest.outputs import check_writable, write_csv
    from xlp_adapters.backtest.sweeps import sweep

    grid = parse_grid(args.grid)
    csv_path = check_writable(args.csv, "--csv") if args.csv else None
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers", "must be >= 1")
    config_path = args.config
    if config_path is None and (Path(args.data) / "hedge.toml").exists():
        config_path = str(Path(args.data) / "hedge.toml")
    config = HedgeConfig.load(config_path)
    scenario = load_scenario(args.data)
    progress = not args.no_progress and sys.stderr.isatty()
    executor: Executor | None = None
    client: Any = None
    if args.scheduler:
        from xlp_adapters.backtest.cluster import dask_client

        client = dask_client(args.scheduler)
        executor = client.get_executor()
    elif args.workers is not None:
        if args.engine == "compiled":
            executor = ThreadPoolExecutor(max_workers=args.workers)
        else:
            from concurrent.futures import ProcessPoolExecutor

            executor = ProcessPoolExecutor(max_workers=args.workers)
    try:
        frame = sweep(
            scenario, grid, config=config, engine=args.engine, executor=executor,
            progress=progress,
        )  # fmt: skip
    finally:
        if executor is not None and client is None:
            executor.shutdown()
        if client is not None:
            client.close()
    table = frame.to_string(float_format=lambda x: f"{x:,.4g}")
    print(table)
    if csv_path is not None:
        write_csv(frame, csv_path)
        print(f"rows: {csv_path}")
    return 0
