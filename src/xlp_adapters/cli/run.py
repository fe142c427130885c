"""``xlp run``: the hedger, on the paper exchange unless the config names a real venue
*and* ``--live`` is given.

Every input is checked before anything is opened or sent (a malformed
``--paper-price`` is refused, not ignored); the loop itself is reached through
:func:`hedge`, the one place that knows which hedger implementation runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from xlp_adapters.cli._common import (
    EXIT_ERROR,
    EXIT_OK,
    check_writable,
    load_config,
    pairs,
    say,
    secret_values,
    utc_now,
)
from xlp_core.errors import (
    ConfigError,
    LiveTradingNotEnabledError,
    MissingExtraError,
)

if TYPE_CHECKING:
    from xlp_adapters.cli._feeds import LighterFeed, ReplayFeed
    from xlp_adapters.pools.exposure import PriceProvider
    from xlp_core.config import HedgeConfig
    from xlp_core.cycle import CycleReport
    from xlp_core.models import PoolSnapshot
    from xlp_core.ports import AuditSink, Exchange, PoolSource, StateStore

log = logging.getLogger("xlp_adapters.cli.run")

DESCRIPTION = """\
Run the hedger: reconcile with the venue, then one hedge cycle per
check_interval_seconds until SIGINT/SIGTERM (the cycle in flight finishes).
Paper trading needs a price source: --feed replay:DIR (a backtest data set,
offline), --sample (the bundled data set), --paper-price (fixed prices) or
--feed lighter (Lighter's public prices, needs the network). Every output
line is timestamped (UTC). With --once or --max-cycles the exit code is 1 if
a cycle had errors."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> object:
    r = subparsers.add_parser(
        "run", help="run the hedger (paper exchange unless --live)", description=DESCRIPTION
    )
    r.add_argument("--config", help="TOML file (default: ./xlp.toml if present)")
    r.add_argument(
        "--live", action="store_true", help="allow a real-money venue (config must say so too)"
    )
    r.add_argument("--once", action="store_true", help="run one cycle and exit")
    r.add_argument("--max-cycles", type=int, metavar="N", help="stop after N cycles (N >= 1)")
    r.add_argument(
        "--interval", type=float, metavar="SECONDS", help="override check_interval_seconds"
    )
    r.add_argument("--state", metavar="PATH", help="override state_path")
    r.add_argument("--audit", metavar="PATH", help="override audit_path")
    r.add_argument(
        "--rebuild-state", action="store_true", help="rebuild a corrupt state from the venue"
    )
    r.add_argument(
        "--feed",
        metavar="SOURCE",
        help="paper prices: replay:DIR (prices.csv + pools.csv, one step per cycle), "
        "lighter (live public prices) or fixed (--paper-price)",
    )
    r.add_argument(
        "--sample",
        action="store_true",
        help="paper run on the bundled sample data set and its hedge.toml (offline)",
    )
    r.add_argument(
        "--paper-price",
        action="append",
        default=[],
        metavar="SYM=PRICE[,...]",
        help="fixed paper prices (implies --feed fixed)",
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
        metavar="PATH",
        help="file keeping the paper account between runs (default: <state>.paper.json)",
    )
    r.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on 127.0.0.1:PORT (overrides metrics_port; 0 = off)",
    )
    r.add_argument(
        "--static-pool",
        action="append",
        default=[],
        metavar="POOL:SYM=X[,...]",
        help="fixed pool composition per LP token (overrides static_pools from the config)",
    )
    return r


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args, os.environ))


@attrs.frozen(kw_only=True)
class Plan:
    """Everything ``xlp run`` was asked to do, validated before anything is opened."""

    config: HedgeConfig
    feed: str  # "fixed" | "replay" | "lighter" | "" (a live venue: no paper feed)
    replay_dir: Path | None
    prices: Mapping[str, float]
    positions: Mapping[str, float]
    static: Mapping[str, Mapping[str, float]]
    max_cycles: int | None
    state_path: str
    audit_path: str
    paper_file: Path | None


def plan(args: argparse.Namespace, environ: Mapping[str, str]) -> Plan:
    config_path = args.config
    replay: Path | None = None
    if args.sample:
        from xlp_adapters.cli._sample import sample_dir

        replay = sample_dir()
        config_path = config_path or str(replay / "hedge.toml")
    config = load_config(config_path, environ)
    if config.exchange != "paper" and not args.live:
        raise LiveTradingNotEnabledError(
            f"config selects {config.exchange!r} (real money); add --live to trade it"
        )
    if args.interval is not None:
        config = attrs.evolve(config, check_interval_seconds=args.interval)
    if args.metrics_port is not None:
        if not 0 <= args.metrics_port <= 65535:
            raise ConfigError("--metrics-port", f"must be 0-65535, got {args.metrics_port}")
        config = attrs.evolve(config, metrics_port=args.metrics_port)
    max_cycles = 1 if args.once else args.max_cycles
    if max_cycles is not None and max_cycles < 1:
        raise ConfigError("--max-cycles", f"must be >= 1, got {max_cycles}")
    prices = _merge(args.paper_price, "--paper-price")
    positions = _merge(args.paper_position, "--paper-position")
    static = {**config.static_pools, **_static_pools(args.static_pool)}
    feed = ""
    if config.exchange == "paper":
        feed, where = _choose_feed(args.feed, replay, prices)
        replay = where if feed == "replay" else None
    state_path = args.state or config.state_path
    paper_file = None
    if config.exchange == "paper":
        paper_file = check_writable(args.paper_state or f"{state_path}.paper.json", "--paper-state")
    return Plan(
        config=config, feed=feed, replay_dir=replay, prices=prices, positions=positions,
        static=static, max_cycles=max_cycles, state_path=state_path,
        audit_path=args.audit or config.audit_path, paper_file=paper_file,
    )  # fmt: skip


def _merge(specs: Sequence[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for spec in specs:
        out.update(pairs(spec, what))
    return out


def _static_pools(specs: Sequence[str]) -> dict[str, dict[str, float]]:
    from xlp_core.config import shown

    out: dict[str, dict[str, float]] = {}
    for spec in specs:
        pool, sep, rest = spec.partition(":")
        if not sep or not pool.strip():
            raise ConfigError("--static-pool", f"expected POOL:SYM=X[,...], got {shown(spec)}")
        comp = pairs(rest, "--static-pool")
        if any(v < 0 for v in comp.values()):
            raise ConfigError("--static-pool", "per-token amounts must be >= 0")
        out[pool.strip().upper()] = comp
    return out


def _choose_feed(
    given: str | None, sample: Path | None, prices: Mapping[str, float]
) -> tuple[str, Path | None]:
    from xlp_adapters.cli._feeds import parse_feed

    if given is None:
        if sample is not None:
            return "replay", sample
        if prices:
            return "fixed", None
        raise ConfigError(
            "--feed",
            "paper trading needs prices: --feed replay:DIR, --sample, --paper-price "
            "SYM=PRICE, or --feed lighter (network)",
        )
    kind, where = parse_feed(given)
    if kind == "fixed" and not prices:
        raise ConfigError("--feed", "fixed needs --paper-price SYM=PRICE")
    if kind != "fixed" and prices:
        raise ConfigError("--paper-price", f"conflicts with --feed {kind}")
    if kind == "replay":
        assert where is not None
        if not (where / "prices.csv").exists():
            raise ConfigError("--feed", f"{where}: no prices.csv")
    return kind, where


# --- wiring ----------------------------------------------------------------------


async def hedge(
    *,
    venue: Exchange,
    pools: Sequence[PoolSource],
    store: StateStore,
    audit: AuditSink,
    config: HedgeConfig,
    stop: asyncio.Event,
    max_cycles: int | None,
    rebuild_state: bool,
    on_cycle: Callable[[CycleReport], None],
    before_cycle: Callable[[], Awaitable[None]] | None,
    secrets: Sequence[str] = (),
) -> tuple[int, str]:
    """Run a :class:`~xlp_core.Hedger` until ``stop`` or ``max_cycles``.

    The Hedger wraps ``venue`` in the safety stack, reconciles, keeps the
    dead-man switch armed and resets the per-cycle budget; this adds what
    only an operator's process has: alerts to people and Prometheus metrics.
    """
    from xlp_core.cycle import DecisionClock
    from xlp_core.hedger import Hedger

    metrics, server = _metrics(config)
    notifier = _notifier(config)
    callbacks: list[Callable[[CycleReport], None]] = [on_cycle]
    if metrics is not None:
        callbacks.insert(0, metrics.observe_cycle)
    try:
        hedger = Hedger(
            config, venue, pools, store=store, audit=audit, clock=utc_now,
            notifier=notifier, on_cycle=callbacks, before_cycle=before_cycle,
            rebuild_state=rebuild_state, secrets=secrets,
            timebase=DecisionClock(utc_now),
            on_rate_wait=metrics.observe_rate_wait if metrics is not None else None,
            on_breaker_change=metrics.set_breaker_state if metrics is not None else None,
        )  # fmt: skip
        async with hedger:
            if metrics is not None and hedger.reconciled is not None:
                metrics.observe_reconcile(hedger.reconciled)
            result = await hedger.run_forever(stop=stop, max_cycles=max_cycles)
    finally:
        if notifier is not None:
            await notifier.aclose()
        if server is not None:
            server.close()
    return result.cycles, result.stopped_by


def _metrics(config: HedgeConfig) -> tuple[Any, Any]:
    if config.metrics_port == 0:
        return None, None
    from xlp_adapters.metrics import HedgerMetrics

    metrics = HedgerMetrics()
    server = metrics.serve(config.metrics_port)
    say(f"metrics on http://127.0.0.1:{config.metrics_port}/metrics")
    return metrics, server


def _notifier(config: HedgeConfig) -> Any:
    if not config.notify_urls:
        return None
    from datetime import timedelta

    from xlp_adapters.notify import build_notifier

    return build_notifier(config.notify_urls, repeat=timedelta(minutes=config.alert_repeat_minutes))


def build_pools(
    config: HedgeConfig,
    static: Mapping[str, Mapping[str, float]],
    replay: ReplayFeed | None,
    *,
    prices: PriceProvider | None = None,
) -> list[PoolSource]:
    """``prices`` (the venue's) value JLP's custodies for the layout-drift check."""
    from xlp_adapters.pools import AlpPoolSource, JlpPoolSource, StaticPoolSource

    pools: list[PoolSource] = []
    replayed = set(replay.scenario.pools) if replay is not None else set()
    for name, amount in config.pools.items():
        if amount == 0:
            continue
        key = name.upper()
        if key in static:
            pools.append(StaticPoolSource(key, static[key]))
        elif key in replayed and replay is not None:
            pools.extend(replay.pools([key]))
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
            raise ConfigError(f"pools.{name}", "no source: add it to static_pools")
    return pools


async def build_venue(p: Plan, environ: Mapping[str, str]) -> Any:
    """The bare venue; the Hedger wraps it in the safety layers."""
    if p.config.exchange == "paper":
        # Live prices go stale when the feed stops pricing a symbol: the paper
        # venue then stops trading it instead of using the last price forever.
        from datetime import timedelta

        from xlp_adapters.paper import PaperExchange

        age = timedelta(seconds=p.config.stale_price_seconds) if p.feed == "lighter" else None
        return PaperExchange(
            prices=p.prices, positions=p.positions, clock=utc_now, max_price_age=age
        )
    try:
        from xlp_adapters.lighter import LighterCredentials, LighterExchange
        from xlp_adapters.lighter.exchange import default_order_expiry
    except MissingExtraError:
        raise
    except ImportError:
        raise MissingExtraError("lighter", "live trading on Lighter") from None
    credentials = LighterCredentials.from_env(environ)
    return await LighterExchange.connect(
        credentials,
        base_url=p.config.lighter_base_url,
        chain_id=p.config.lighter_chain_id,
        default_order_expiry=default_order_expiry(p.config),
    )


def describe(report: CycleReport) -> str:
    parts = []
    for sym, r in report.symbols.items():
        if r.error:
            parts.append(f"{sym}: skipped ({r.error})")
        else:
            acts = ",".join(f"{a.action.kind}:{a.outcome}" for a in r.actions) or "-"
            parts.append(f"{sym}: ${r.offset_usd:+.2f} zone={r.zone} {acts}")
    errs = f" errors={list(report.errors)}" if report.errors else ""
    exposure = "".join(f" | {_exposure(snap)}" for snap in report.pools if snap.usd_per_token)
    return f"cycle {report.cycle}: " + "; ".join(parts) + errs + exposure


def _exposure(snap: PoolSnapshot) -> str:
    """Per-token exposure in USD and as a share of the LP token (cf. the pool's own page)."""
    items = ", ".join(
        f"{sym} ${usd:,.4f}" + (f" ({snap.share[sym]:.1%})" if sym in snap.share else "")
        for sym, usd in sorted(snap.usd_per_token.items())
    )
    price = f" of ${snap.lp_price_usd:,.4f}" if snap.lp_price_usd else ""
    return f"{snap.pool} per token{price}: {items}"


def _same(a: object, b: object) -> bool:
    """One journal serving as both state store and audit log (closed once)."""
    return a is b


async def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from xlp_adapters.runner import install_stop_signals

    p = plan(args, environ)
    for warning in p.config.warnings():
        log.warning("%s", warning)
    replay: ReplayFeed | None = None
    lighter: LighterFeed | None = None
    if p.feed == "replay":
        from xlp_adapters.cli._feeds import ReplayFeed

        assert p.replay_dir is not None
        replay = ReplayFeed(p.replay_dir)
    venue = await build_venue(p, environ)
    stop = asyncio.Event()
    failed: list[int] = []
    records: list[Any] = []
    pools: list[PoolSource] = []
    secrets = [*secret_values(environ), *p.config.notify_urls]  # never in the audit log
    try:
        pools = build_pools(p.config, p.static, replay, prices=venue.prices)
        # The state is opened (and locked) first: a refused second hedger
        # never touches the paper account of the one running.
        from xlp_adapters.journal import open_records

        store, audit = open_records(
            p.state_path,
            p.audit_path,
            secrets=secrets,
            idle_fsync=p.config.journal_idle_fsync,
        )
        records.extend([store] if _same(store, audit) else [store, audit])
        loaded = False
        if p.paper_file is not None:
            from xlp_adapters.paper import load_account

            loaded = load_account(venue, p.paper_file)
            if loaded and p.positions:
                log.warning("--paper-position ignored: %s holds the paper account", p.paper_file)
        if replay is not None and not loaded and not p.positions:
            await start_hedged(venue, replay, pools, p.config)
        before_cycle, lighter = price_refresh(p, venue, replay)

        def on_cycle(report: CycleReport) -> None:
            say(describe(report))
            if not report.ok:
                failed.append(report.cycle)
            if p.paper_file is not None:
                from xlp_adapters.paper import save_account

                save_account(venue, p.paper_file)
            if replay is not None and replay.exhausted:
                say("replay data exhausted")
                stop.set()

        remove = install_stop_signals(stop)
        try:
            cycles, why = await hedge(
                venue=venue, pools=pools, store=store, audit=audit, config=p.config,
                stop=stop, max_cycles=p.max_cycles, rebuild_state=args.rebuild_state,
                on_cycle=on_cycle, before_cycle=before_cycle, secrets=secrets,
            )  # fmt: skip
        finally:
            remove()
        say(f"stopped after {cycles} cycle(s): {why}")
    finally:
        await _close(venue, lighter, pools, records)
    if failed and p.max_cycles is not None:
        say(f"cycle(s) with errors: {failed}")
        return EXIT_ERROR
    return EXIT_OK


async def start_hedged(
    venue: Any, replay: ReplayFeed, pools: Sequence[PoolSource], config: HedgeConfig
) -> None:
    """A replayed paper run starts from the hedge a running bot holds, as backtests do.

    The reference rules never open a hedge beyond the max threshold (they
    alert), so a flat paper account would only ever alert.
    """
    from xlp_core.hedge import ideal_hedges

    first = {s: series[0] for s, series in replay.scenario.prices.items()}
    venue.set_prices(first)
    snapshots = [await pool.fetch() for pool in pools]
    for symbol, size in sorted(ideal_hedges(config.pools, snapshots).items()):
        if symbol in first:
            venue.set_position(symbol, size)
    say("paper account starts from the ideal hedge of the replay's first step")


def price_refresh(
    p: Plan, venue: Any, replay: ReplayFeed | None
) -> tuple[Callable[[], Awaitable[None]] | None, LighterFeed | None]:
    """What feeds the paper exchange before each cycle (None: fixed prices or a real venue)."""
    if replay is not None:

        async def next_step() -> None:
            venue.set_prices(replay.advance())

        return next_step, None
    if p.feed != "lighter":
        return None, None
    from xlp_adapters.cli._feeds import LighterFeed

    lighter = LighterFeed(
        p.config.lighter_base_url,
        attempts=p.config.startup_retry_attempts,
        stale_after=p.config.stale_price_seconds,
        symbols=sorted(set(p.config.symbols) | {"SOL", "ETH", "BTC", "BONK"}),
    )

    async def live_prices() -> None:
        venue.set_prices(await lighter.prices())

    return live_prices, lighter


async def _close(exchange: Exchange, lighter: Any, pools: Sequence[Any], stores: list[Any]) -> None:
    await exchange.close()
    if lighter is not None:
        await lighter.close()
    for pool in pools:
        closer = getattr(pool, "close", None)
        if closer is not None:
            await closer()
    for s in reversed(stores):
        s.close()
