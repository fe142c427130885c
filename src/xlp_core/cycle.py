"""``run_hedge_cycle``: the imperative shell around the pure decision core.

One linear async function, read top to bottom: load state, fetch everything
concurrently, decide per symbol (pure), execute per symbol (symbols in
parallel, actions within a symbol in order), save state once, report.

Safety rules it enforces:

* no complete picture, no orders: a failed position, price or open-order read
  skips the symbols it concerns (never treated as 0);
* every order goes through :func:`~xlp_core.execution.submit_order`, which
  writes the intent to the audit log before sending it;
* a new order is only placed after the cancel before it was confirmed;
* per-order and per-cycle notional caps are checked here as well as by any
  :mod:`xlp_core.safety` wrapper around the exchange.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.config import HedgeConfig
from xlp_core.decision import (
    Action,
    ActionKind,
    Decision,
    ExecOutcome,
    Observation,
    after_alert,
    after_cancel,
    after_limit,
    after_market,
    check_now,
    finish_cycle,
)
from xlp_core.errors import InvalidInputError, MissingSymbolError, NotionalLimitError, XlpError
from xlp_core.execution import RetryPolicy, SubmitOutcome, cancel_symbol_orders, submit_order
from xlp_core.hedge import ideal_hedges
from xlp_core.ids import client_order_id
from xlp_core.models import MarketRules, Order, OrderRequest, OrderType, PoolSnapshot
from xlp_core.ports import AuditSink, Exchange, PoolSource, StateStore
from xlp_core.state import HedgeState, SymbolState
from xlp_core.strategy import Strategy, ZoneStrategy

T = TypeVar("T")

SLOT_LIMIT = 0
SLOT_MARKET = 1

_OUTCOMES = {
    SubmitOutcome.ACCEPTED: ExecOutcome.ACCEPTED,
    SubmitOutcome.FILLED: ExecOutcome.FILLED,
    SubmitOutcome.REJECTED: ExecOutcome.REJECTED,
    SubmitOutcome.UNKNOWN: ExecOutcome.UNKNOWN,
}


@attrs.frozen
class ActionReport:
    action: Action
    outcome: str
    client_order_id: int | None = None
    order: Order | None = None
    error: str | None = None


@attrs.frozen
class SymbolReport:
    symbol: str
    ideal: float | None = None
    position: float | None = None
    price: float | None = None
    offset: float | None = None
    cost_basis: float | None = None
    offset_usd: float | None = None
    zone: int | None = None
    reason: str = ""
    fill_detected: bool = False
    actions: tuple[ActionReport, ...] = ()
    error: str | None = None


@attrs.frozen
class CycleReport:
    cycle: int
    started_at: datetime
    symbols: Mapping[str, SymbolReport]
    errors: tuple[str, ...]
    state: HedgeState
    orders_sent: int = 0
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and all(s.error is None for s in self.symbols.values())


def fresh_state(now: datetime) -> HedgeState:
    """A new state whose epoch keeps its order ids apart from any earlier run's."""
    return HedgeState(epoch=int(now.timestamp() * 1000) & 0xFFFF_FFFF_FFFF)


def id_namespace(config: HedgeConfig, state: HedgeState) -> str:
    return f"{config.namespace}:{state.epoch}"


async def _settle(aw: Awaitable[T]) -> T | BaseException:
    try:
        return await aw
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return exc


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def run_hedge_cycle(
    *,
    exchange: Exchange,
    pools: Sequence[PoolSource],
    store: StateStore,
    audit: AuditSink,
    config: HedgeConfig,
    clock: Callable[[], datetime],
    strategy: Strategy | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> CycleReport:
    """Run one hedge cycle and return what happened (it also audits everything).

    ``clock`` is read once for the decision time and again for audit
    timestamps; pass a simulated clock for backtests.
    """
    t0 = monotonic()
    now = check_now(clock())
    strategy = strategy or ZoneStrategy(config.decision_params())
    policy = policy or RetryPolicy()
    prev_state = store.load() or fresh_state(now)
    cycle = prev_state.cycle + 1
    namespace = id_namespace(config, prev_state)
    errors: list[str] = []

    def emit(kind: str, symbol: str | None = None, **data: Any) -> None:
        audit.append(AuditEvent(at=clock(), kind=kind, cycle=cycle, symbol=symbol, data=data))

    emit(A.CYCLE_START, mode=config.mode, exchange=exchange.name)

    # --- fetch everything at once ----------------------------------------
    universe = sorted(set(config.symbols) | set(prev_state.symbols))
    pool_results, venue = await asyncio.gather(
        asyncio.gather(*(_settle(p.fetch()) for p in pools)),
        _fetch_venue(exchange, universe),
    )
    snapshots: list[PoolSnapshot] = []
    pools_ok = True
    for source, res in zip(pools, pool_results, strict=True):
        if isinstance(res, BaseException):
            pools_ok = False
            errors.append(f"pool {source.name}: {_err(res)}")
        else:
            snapshots.append(res)

    ideals: dict[str, float] = {}
    if pools_ok:
        try:
            ideals = ideal_hedges(config.pools, snapshots)
        except InvalidInputError as exc:
            pools_ok = False
            errors.append(f"pools: {_err(exc)}")
    symbols = sorted(set(config.symbols) if config.symbols else set(ideals) | set(universe))
    missing = [s for s in symbols if s not in universe]
    if missing:
        extra = await _fetch_venue(exchange, missing)
        venue = {k: _merge(venue[k], extra[k]) for k in venue}

    # --- decide and execute per symbol ------------------------------------
    budget = _Budget(config.max_cycle_notional_usd)
    new_symbols: dict[str, SymbolState] = {}
    reports: dict[str, SymbolReport] = {}

    async def handle(symbol: str) -> None:
        prev = prev_state.symbol(symbol)
        try:
            if not pools_ok:
                raise MissingSymbolError(symbol, "ideal hedge (pool read failed)")
            obs = _observation(symbol, ideals, venue, config)
            decision = strategy.decide(prev, obs, now)
        except XlpError as exc:
            msg = _err(exc)
            emit(A.ERROR, symbol, error=msg, stage="decide")
            reports[symbol] = SymbolReport(symbol, error=msg, reason="skipped")
            return
        state, action_reports = await _execute(decision, obs)
        new_symbols[symbol] = state
        reports[symbol] = _symbol_report(decision, obs, action_reports)

    async def _execute(
        decision: Decision, obs: Observation
    ) -> tuple[SymbolState, tuple[ActionReport, ...]]:
        symbol = decision.symbol
        observed = decision.observed
        emit(
            A.DECISION,
            symbol,
            offset=observed.state.offset,
            cost_basis=observed.state.cost_basis,
            offset_usd=observed.offset_usd,
            zone=observed.zone,
            price=obs.price,
            ideal=obs.ideal,
            position=obs.exchange_position,
            fill_detected=observed.fill_detected,
            order_vanished=observed.order_vanished,
            cooldown=str(decision.cooldown),
            reason=decision.reason,
            actions=[str(a.kind) for a in decision.actions],
        )
        if observed.cost_rebased:
            emit(A.COST_REBASED, symbol, rejected_cost=observed.rejected_cost, price=obs.price)
        state = finish_cycle(decision)
        done: list[ActionReport] = []
        blocked: str | None = None
        for action in decision.actions:
            if action.kind is ActionKind.ALERT:
                emit(A.ALERT, symbol, reason=action.reason, offset_usd=observed.offset_usd)
                state = after_alert(state, now)
                done.append(ActionReport(action, "sent"))
                continue
            if action.kind is ActionKind.CANCEL:
                res = await cancel_symbol_orders(
                    exchange, audit, symbol, cycle=cycle, now=clock, policy=policy,
                    sleep=sleep, monotonic=monotonic,
                )  # fmt: skip
                state = after_cancel(state, confirmed=res.confirmed)
                if not res.confirmed:
                    blocked = "previous cancel not confirmed"
                outcome = "confirmed" if res.confirmed else "unconfirmed"
                done.append(ActionReport(action, outcome, error=res.error))
                continue
            # An order.
            if blocked is not None:
                emit(A.ERROR, symbol, error=f"order not sent: {blocked}", stage="execute")
                done.append(ActionReport(action, "skipped", error=blocked))
                continue
            slot = SLOT_LIMIT if action.kind is ActionKind.PLACE_LIMIT else SLOT_MARKET
            cid = client_order_id(namespace, symbol, cycle, slot)
            notional = action.size * (action.price or obs.price)
            try:
                if notional > config.max_order_notional_usd:
                    raise NotionalLimitError(
                        f"{symbol} order notional {notional:.2f} exceeds "
                        f"max_order_notional_usd {config.max_order_notional_usd:.2f}"
                    )
                budget.take(symbol, notional)
                request = _request(action, cid, config)
            except XlpError as exc:
                emit(A.ERROR, symbol, error=_err(exc), stage="guard", client_order_id=cid)
                done.append(ActionReport(action, "refused", cid, error=_err(exc)))
                continue
            result = await submit_order(
                exchange, audit, request, cycle=cycle, now=clock, policy=policy,
                sleep=sleep, monotonic=monotonic, reason=action.reason,
            )  # fmt: skip
            outcome = _OUTCOMES[result.outcome]
            if action.kind is ActionKind.PLACE_LIMIT:
                state = after_limit(state, action, client_order_id=cid, outcome=outcome, now=now)
            else:
                state = after_market(state, action, outcome=outcome, now=now)
            done.append(ActionReport(action, str(outcome), cid, result.order, result.error))
        return state, tuple(done)

    if venue_errors := [e for e in venue["errors"] if e]:
        errors.extend(str(e) for e in venue_errors)
    await asyncio.gather(*(handle(s) for s in symbols))

    # Symbols we skipped keep their previous state untouched.
    new_state = attrs.evolve(prev_state.with_symbols(new_symbols), cycle=cycle, updated_at=now)
    store.save(new_state)
    sent = sum(
        1 for r in reports.values() for a in r.actions if a.client_order_id and a.outcome
        not in ("refused", "skipped")
    )  # fmt: skip
    emit(
        A.CYCLE_END,
        orders_sent=sent,
        errors=errors,
        skipped=sorted(s for s, r in reports.items() if r.error),
        duration_s=round(monotonic() - t0, 6),
    )
    return CycleReport(
        cycle=cycle,
        started_at=now,
        symbols=dict(sorted(reports.items())),
        errors=tuple(errors),
        state=new_state,
        orders_sent=sent,
        duration_s=monotonic() - t0,
    )


# --- helpers -----------------------------------------------------------------


@attrs.define
class _Budget:
    """Per-cycle notional cap: symbols run concurrently, so take() is atomic."""

    limit: float
    used: float = 0.0

    def take(self, symbol: str, notional: float) -> None:
        if self.used + notional > self.limit:
            raise NotionalLimitError(
                f"{symbol}: cycle notional would reach {self.used + notional:.2f} "
                f"> max_cycle_notional_usd {self.limit:.2f}"
            )
        self.used += notional


async def _fetch_venue(exchange: Exchange, symbols: Sequence[str]) -> dict[str, Any]:
    if not symbols:
        return {"prices": {}, "positions": {}, "orders": [], "rules": {}, "errors": []}
    prices, positions, orders, rules = await asyncio.gather(
        _settle(exchange.prices(symbols)),
        _settle(exchange.positions(symbols)),
        _settle(exchange.open_orders(symbols)),
        _settle(exchange.markets(symbols)),
    )
    out: dict[str, Any] = {"errors": []}
    for key, res in (("prices", prices), ("positions", positions), ("rules", rules)):
        if isinstance(res, BaseException):
            out["errors"].append(f"{key}: {_err(res)}")
            out[key] = None
        else:
            out[key] = dict(res)
    if isinstance(orders, BaseException):
        out["errors"].append(f"open_orders: {_err(orders)}")
        out["orders"] = None
    else:
        out["orders"] = list(orders)
    return out


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if a is None or b is None:
        return None
    return a


def _observation(
    symbol: str, ideals: Mapping[str, float], venue: Mapping[str, Any], config: HedgeConfig
) -> Observation:
    for key, what in (
        ("prices", "prices"),
        ("positions", "positions"),
        ("orders", "open orders"),
        ("rules", "market rules"),
    ):
        if venue[key] is None:
            raise MissingSymbolError(symbol, f"{what} (venue read failed)")
    prices: Mapping[str, float] = venue["prices"]
    positions: Mapping[str, float] = venue["positions"]
    rules: Mapping[str, MarketRules] = venue["rules"]
    if symbol not in prices:
        raise MissingSymbolError(symbol, "price")
    if symbol not in positions:
        raise MissingSymbolError(symbol, "position")
    if symbol not in rules:
        raise MissingSymbolError(symbol, "market (not listed on the venue)")
    orders: list[Order] = venue["orders"]
    return Observation(
        symbol=symbol,
        ideal=ideals.get(symbol, 0.0),
        exchange_position=positions[symbol],
        price=prices[symbol],
        initial_offset=config.initial_offsets.get(symbol, 0.0),
        open_order_ids=tuple(o.client_order_id for o in orders if o.symbol == symbol),
        rules=rules[symbol],
    )


def _request(action: Action, cid: int, config: HedgeConfig) -> OrderRequest:
    if action.side is None:
        raise InvalidInputError(f"{action.kind} without a side")
    if action.kind is ActionKind.PLACE_LIMIT:
        return OrderRequest(
            client_order_id=cid,
            symbol=action.symbol,
            side=action.side,
            order_type=OrderType.LIMIT,
            size=action.size,
            price=action.price,
            post_only=config.post_only,
        )
    return OrderRequest(
        client_order_id=cid,
        symbol=action.symbol,
        side=action.side,
        order_type=OrderType.MARKET,
        size=action.size,
        price=action.price,
    )


def _symbol_report(
    decision: Decision, obs: Observation, actions: tuple[ActionReport, ...]
) -> SymbolReport:
    observed = decision.observed
    return SymbolReport(
        symbol=decision.symbol,
        ideal=obs.ideal,
        position=obs.exchange_position,
        price=obs.price,
        offset=observed.state.offset,
        cost_basis=observed.state.cost_basis,
        offset_usd=observed.offset_usd,
        zone=observed.zone,
        reason=decision.reason,
        fill_detected=observed.fill_detected,
        actions=actions,
    )
