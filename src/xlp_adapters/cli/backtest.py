"""``xlp backtest``: replay a scenario through the hedger on the paper exchange.

Backtests are reproducible: the ``XLP_*`` environment is ignored unless
``--env`` is given, and the summary ends with the effective settings.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from xlp_adapters.cli._common import EXIT_OK, check_writable, data_errors, load_config_sources
from xlp_core.errors import ConfigError, InvalidInputError, MissingExtraError

if TYPE_CHECKING:
    from xlp_adapters.backtest import BacktestResult
    from xlp_core.config import HedgeConfig, Source

DESCRIPTION = """\
Replay a scenario directory (prices.csv, pools.csv[, funding.csv]) through the
real hedge cycle (or the fast engine) on the paper exchange and print a
summary. The config is DATA/hedge.toml unless --config is given; XLP_*
environment variables are ignored unless --env is given."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> object:
    b = subparsers.add_parser(
        "backtest", help="replay a scenario on the paper exchange", description=DESCRIPTION
    )
    b.add_argument(
        "data", nargs="?", help="scenario directory (prices.csv, pools.csv[, funding.csv])"
    )
    b.add_argument("--sample", action="store_true", help="use the bundled sample data set")
    b.add_argument("--config", help="TOML file (default: DATA/hedge.toml if present)")
    b.add_argument(
        "--env", action="store_true", help="apply XLP_* environment variables (default: ignored)"
    )
    b.add_argument(
        "--engine",
        choices=("cycle", "fast", "compiled"),
        default="cycle",
        help="cycle: the real hedge cycle (default); fast: the vectorised engine, same fills; "
        "compiled: the fast engine's rules in numba (xlp-core[fast])",
    )
    b.add_argument("--state", metavar="PATH", help="SQLite state file (default: in memory)")
    b.add_argument("--audit", metavar="PATH", help="SQLite audit file (default: in memory)")
    b.add_argument("--overwrite", action="store_true", help="replace existing state/audit files")
    b.add_argument("--steps", type=int, metavar="N", help="replay only the first N steps")
    b.add_argument(
        "--record-every", type=int, default=1, metavar="N", help="keep every Nth step's record"
    )
    b.add_argument("--csv", metavar="PATH", help="write the records as CSV")
    b.add_argument(
        "--parquet", metavar="PATH", help="write the records as Parquet (xlp-core[parquet])"
    )
    b.add_argument("--plot", metavar="PATH", help="write a PNG plot")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    return b


def run(args: argparse.Namespace) -> int:
    data = _data_dir(args)
    for flag, value in (("--steps", args.steps), ("--record-every", args.record_every)):
        if value is not None and value < 1:
            raise ConfigError(flag, f"must be >= 1, got {value}")
    csv = check_writable(args.csv, "--csv") if args.csv else None
    plot = check_writable(args.plot, "--plot") if args.plot else None
    parquet = check_writable(args.parquet, "--parquet") if args.parquet else None
    config_path = args.config
    if config_path is None and (data / "hedge.toml").is_file():
        config_path = str(data / "hedge.toml")
    config, sources = load_config_sources(config_path, os.environ if args.env else {})
    try:
        from xlp_adapters.backtest import run_backtest
    except ImportError:
        raise MissingExtraError("backtest", "xlp backtest") from None
    with data_errors(str(data)):
        result = run_backtest(
            data, config, engine=args.engine,
            progress=not args.no_progress and sys.stderr.isatty(),
            record_every=args.record_every, state_path=args.state, audit_path=args.audit,
            steps=args.steps, overwrite=args.overwrite,
        )  # fmt: skip
    print(result.summary().format())
    try:
        _write_outputs(result, csv=csv, parquet=parquet, plot=plot)
    except OSError as exc:
        raise InvalidInputError(f"cannot write an output: {exc.strerror or exc}") from None
    print(effective(config, sources, config_path, env=args.env))
    return EXIT_OK


def _write_outputs(
    result: BacktestResult, *, csv: Path | None, parquet: Path | None, plot: Path | None
) -> None:
    if csv is not None:
        csv.parent.mkdir(parents=True, exist_ok=True)
        result.to_frame().to_csv(csv)
        print(f"{'records':>28}: {csv}")
    if parquet is not None:
        parquet.parent.mkdir(parents=True, exist_ok=True)
        result.to_parquet(parquet)
        print(f"{'records (parquet)':>28}: {parquet}")
    if plot is not None:
        plot.parent.mkdir(parents=True, exist_ok=True)
        result.plot(plot)
        print(f"{'plot':>28}: {plot}")


def _data_dir(args: argparse.Namespace) -> Path:
    if args.sample:
        if args.data is not None:
            raise ConfigError("--sample", "give either DATA or --sample")
        from xlp_adapters.cli._sample import sample_dir

        return sample_dir()
    if args.data is None:
        raise ConfigError("data", "give a scenario directory or --sample")
    return Path(args.data)


def effective(
    config: HedgeConfig, sources: dict[str, Source], path: str | None, *, env: bool
) -> str:
    """The settings that are not defaults, so a summary says what produced it."""
    from xlp_adapters.cli.config_cmd import toml_value

    head = f"{'config':>28}: {path or 'defaults'}; XLP_* env {'applied' if env else 'ignored'}"
    lines = [head]
    for name, source in sources.items():
        if source != "default" and name != "notify_urls":
            lines.append(f"{name:>28}: {toml_value(getattr(config, name))} ({source})")
    return "\n".join(lines)
