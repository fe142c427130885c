"""``xlp``: the command line.

* ``xlp backtest DATA_DIR`` — replay a scenario through the real cycle on the
  paper exchange and print a summary (CSV / PNG on request);
* ``xlp run`` — the live loop; the paper exchange unless the config names a
  real venue *and* ``--live`` is given;
* ``xlp config`` — validate a config and print the effective settings.

Exit codes: 0 ok, 2 configuration, input or permission problem (nothing was sent),
3 state or audit problem, 1 anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from xlp_core.config import HedgeConfig
from xlp_core.cycle import CycleReport
from xlp_core.errors import (
    AuditError,
    ConfigError,
    InvalidInputError,
    LiveTradingNotEnabledError,
    StateError,
    XlpError,
)
from xlp_core.ports import AuditSink, Exchange, PoolSource, StateStore

if TYPE_CHECKING:
    from xlp_adapters.pools.exposure import PriceProvider

log = logging.getLogger("xlp")

EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_STATE = 0, 1, 2, 3


def utc_now() -> datetime:
    return datetime.now(UTC)


def _pairs(text: str, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError(part)
            out[key.strip().upper()] = float(value)
        except ValueError as exc:
            raise ConfigError(what, f"expected SYMBOL=NUMBER[,...], got {part!r}") from exc
    return out


def load_config(path: str | None, environ: Mapping[str, str] | None = None) -> HedgeConfig:
    if path is None and Path("xlp.toml").exists():
        path = "xlp.toml"
    return HedgeConfig.load(path, environ=environ)


# --- wiring -----------------------------------------------------------------


def open_store(path: str) -> StateStore:
    from xlp_adapters.stores import JsonFileStateStore, SqliteStateStore

    if path.endswith(".json"):
        return JsonFileStateStore(path)
    return SqliteStateStore(path)


def open_audit(path: str, secrets: Sequence[str] = ()) -> AuditSink:
    """``secrets`` are scrubbed from every string the log stores, whatever its key."""
    from xlp_adapters.audit import JsonlAuditSink, SqliteAuditSink

    if path.endswith((".jsonl", ".log")):
        return JsonlAuditSink(path, secrets=secrets)
    return SqliteAuditSink(path, secrets=secrets)


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The key as set and without its ``0x``, so neither form reaches the log."""
    from xlp_adapters.lighter.credentials import ENV_KEY

    raw = environ.get(ENV_KEY, "").strip()
    return [v for v in {raw, raw.removeprefix("0x")} if len(v) >= 8]


def build_pools(
    config: HedgeConfig,
    static: Mapping[str, Mapping[str, float]],
    clock: Callable[[], datetime],
    *,
    prices: PriceProvider | None = None,
) -> list[PoolSource]:
    """``prices`` (the exchange's) feeds the JLP layout-drift check."""
    from xlp_adapters.pools import AlpPoolSource, JlpPoolSource, StaticPoolSource

    pools: list[PoolSource] = []
    for name, amount in config.pools.items():
        if amount == 0:
            continue
        key = name.upper()
        if key in static:
            pools.append(StaticPoolSource(key, static[key]))
        elif key == "JLP":
            pools.append(
                JlpPoolSource(
                    rpc_url=config.rpc_url,
                    prices=prices,
                    drift_tolerance_pct=config.pool_drift_tolerance_pct,
                )
            )
        elif key == "ALP":
            pools.append(
                AlpPoolSource(
                    rpc_url=config.rpc_url, drift_tolerance_pct=config.pool_drift_tolerance_pct
                )
            )
        else:
            raise ConfigError(f"pools.{name}", "no on-chain source: give --static-pool")
    return pools


async def build_exchange(
    config: HedgeConfig,
    *,
    live: bool,
    paper_prices: Mapping[str, float],
    paper_positions: Mapping[str, float],
    clock: Callable[[], datetime],
    environ: Mapping[str, str],
) -> tuple[Exchange, Any]:
    """``(wrapped, venue)``: the venue in the safety layers, and the bare venue.

    Real money needs ``live``; the bare venue lets the paper exchange be fed
    prices between cycles.
    """
    from xlp_core.safety import wrap_exchange

    venue: Any
    if config.exchange == "paper":
        from xlp_adapters.paper import PaperExchange

        venue = PaperExchange(prices=paper_prices, positions=paper_positions, clock=clock)
    else:
        if not live:
            raise LiveTradingNotEnabledError(
                f"config selects {config.exchange!r} (real money); add --live to trade it"
            )
        from xlp_adapters.lighter import LighterCredentials, LighterExchange

        credentials = LighterCredentials.from_env(environ)
        venue = await LighterExchange.connect(
            credentials, base_url=config.lighter_base_url, chain_id=config.lighter_chain_id
        )
    return wrap_exchange(venue, config), venue


# --- commands -----------------------------------------------------------------


def cmd_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    for field in attrs.fields(HedgeConfig):
        print(f"{field.name} = {getattr(config, field.name)!r}")
    for warning in config.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_backtest(args: argparse.Namespace) -> int:
    from xlp_adapters.backtest import run_backtest

    config_path = args.config
    if config_path is None and (Path(args.data) / "hedge.toml").exists():
        config_path = str(Path(args.data) / "hedge.toml")
    config = load_config(config_path)
    result = run_backtest(
        args.data,
        config,
        engine=args.engine,
        progress=not args.no_progress and sys.stderr.isatty(),
        record_every=args.record_every,
        state_path=args.state,
        audit_path=args.audit,
        steps=args.steps,
        overwrite=args.overwrite,
    )
    print(result.summary().format())
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        result.to_frame().to_csv(args.csv)
        print(f"{'records':>28}: {args.csv}")
    if args.plot:
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        result.plot(args.plot)
        print(f"{'plot':>28}: {args.plot}")
    return EXIT_OK


def _print_cycle(report: CycleReport) -> None:
    parts = []
    for sym, r in report.symbols.items():
        if r.error:
            parts.append(f"{sym}: skipped ({r.error})")
        else:
            acts = ",".join(f"{a.action.kind}:{a.outcome}" for a in r.actions) or "-"
            parts.append(f"{sym}: ${r.offset_usd:+.2f} zone={r.zone} {acts}")
    errs = f" errors={list(report.errors)}" if report.errors else ""
    print(f"cycle {report.cycle}: " + "; ".join(parts) + errs, flush=True)


async def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from xlp_adapters.runner import install_stop_signals, run_loop

    config = load_config(args.config, environ)
    if config.exchange != "paper" and not args.live:
        raise LiveTradingNotEnabledError(
            f"config selects {config.exchange!r} (real money); add --live to trade it"
        )
    if args.interval is not None:
        config = attrs.evolve(config, check_interval_seconds=args.interval)
    for warning in config.warnings():
        log.warning("%s", warning)
    static = {}
    for spec in args.static_pool:
        pool, _, rest = spec.partition(":")
        static[pool.strip().upper()] = _pairs(rest, "static_pool")
    prices: dict[str, float] = {}
    for spec in args.paper_price:
        prices.update(_pairs(spec, "paper_price"))
    positions: dict[str, float] = {}
    for spec in args.paper_position:
        positions.update(_pairs(spec, "paper_position"))

    stop = asyncio.Event()
    remove = install_stop_signals(stop)
    feed = None
    before_cycle = None
    if config.exchange == "paper" and not prices:
        # Paper trading against live prices: Lighter's public market data.
        from xlp_adapters.lighter.feed import LighterPriceFeed

        feed = LighterPriceFeed(config.lighter_base_url)
    exchange, venue = await build_exchange(
        config, live=args.live, paper_prices=prices, paper_positions=positions,
        clock=utc_now, environ=environ,
    )  # fmt: skip
    paper_file: Path | None = None
    if config.exchange == "paper":
        paper_file = Path(args.paper_state or f"{args.state or config.state_path}.paper.json")
        if paper_file.exists():
            try:
                snapshot = json.loads(paper_file.read_text())
            except ValueError as exc:
                raise InvalidInputError(f"{paper_file}: not a paper snapshot: {exc}") from exc
            venue.restore(snapshot)
            if positions:
                log.warning("--paper-position ignored: %s holds the paper account", paper_file)

    def on_cycle(report: CycleReport) -> None:
        _print_cycle(report)
        if paper_file is not None:
            from xlp_adapters.stores._fs import atomic_write

            atomic_write(paper_file, json.dumps(venue.snapshot(), allow_nan=False).encode())

    if feed is not None:
        paper = venue
        live_feed = feed
        symbols = sorted(set(config.symbols) | {"SOL", "ETH", "BTC", "BONK"})

        async def refresh_prices() -> None:
            paper.set_prices(await live_feed.prices(symbols))

        before_cycle = refresh_prices
    pools = build_pools(config, static, utc_now, prices=exchange.prices)
    store = open_store(args.state or config.state_path)
    audit = open_audit(args.audit or config.audit_path, secret_values(environ))
    try:
        result = await run_loop(
            exchange=exchange, pools=pools, store=store, audit=audit, config=config,
            clock=utc_now, stop=stop, max_cycles=1 if args.once else args.max_cycles,
            rebuild_state=args.rebuild_state, on_cycle=on_cycle, before_cycle=before_cycle,
        )  # fmt: skip
        print(f"stopped after {result.cycles} cycle(s): {result.stopped_by}", flush=True)
    finally:
        remove()
        await exchange.close()
        if feed is not None:
            await feed.close()
        for pool in pools:
            closer = getattr(pool, "close", None)
            if closer is not None:
                await closer()
        store.close()
        audit.close()
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xlp", description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--log-level", default=os.environ.get("XLP_LOG_LEVEL", "INFO"))
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("config", help="validate a config and print the effective settings")
    c.add_argument("--config", help="TOML file (default: ./xlp.toml if present)")
    c.set_defaults(func=cmd_config)

    b = sub.add_parser("backtest", help="replay a scenario on the paper exchange")
    b.add_argument("data", help="scenario directory (prices.csv, pools.csv[, funding.csv])")
    b.add_argument("--config", help="TOML file (default: DATA/hedge.toml if present)")
    b.add_argument("--engine", choices=("cycle", "fast"), default="cycle")
    b.add_argument("--state", help="SQLite state file (default: in memory)")
    b.add_argument("--audit", help="SQLite audit file (default: in memory)")
    b.add_argument("--overwrite", action="store_true", help="replace existing state/audit files")
    b.add_argument("--steps", type=int, help="replay only the first N steps")
    b.add_argument("--record-every", type=int, default=1)
    b.add_argument("--csv", help="write the records as CSV")
    b.add_argument("--plot", help="write a PNG plot")
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=cmd_backtest)

    r = sub.add_parser("run", help="run the hedger (paper exchange unless --live)")
    r.add_argument("--config", help="TOML file (default: ./xlp.toml if present)")
    r.add_argument("--live", action="store_true", help="allow a real-money venue")
    r.add_argument("--once", action="store_true", help="run one cycle and exit")
    r.add_argument("--max-cycles", type=int)
    r.add_argument("--interval", type=float, help="override check_interval_seconds")
    r.add_argument("--state", help="override state_path")
    r.add_argument("--audit", help="override audit_path")
    r.add_argument("--rebuild-state", action="store_true", help="rebuild a corrupt state")
    r.add_argument(
        "--paper-price",
        action="append",
        default=[],
        metavar="SYM=PRICE[,...]",
        help="fixed paper prices (default: live prices from Lighter's public market data)",
    )
    r.add_argument(
        "--paper-position",
        action="append",
        default=[],
        metavar="SYM=SIZE[,...]",
        help="start the paper account with these signed positions (e.g. the hedge you hold)",
    )
    r.add_argument(
        "--paper-state",
        help="file keeping the paper account between runs (default: <state>.paper.json)",
    )
    r.add_argument("--static-pool", action="append", default=[], metavar="POOL:SYM=X[,...]")
    r.set_defaults(func=lambda a: asyncio.run(_run(a, os.environ)))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        code: Any = args.func(args)
        return int(code)
    except (ConfigError, LiveTradingNotEnabledError, InvalidInputError) as exc:
        print(f"xlp: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (StateError, AuditError) as exc:
        print(f"xlp: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_STATE
    except XlpError as exc:
        print(f"xlp: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
