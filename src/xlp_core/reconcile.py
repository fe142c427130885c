"""Start-up reconciliation: the exchange is the truth, local state is rebuilt.

Run before the first cycle of a process. It

* loads the state, or rebuilds it from the audit log when it is missing (a
  corrupt state file is an error unless ``rebuild=True``: nothing is
  overwritten without being asked);
* moves the order-id epoch forward so a rebuilt state can never reuse a
  client order id of an earlier run, and moves the cycle counter past the
  last cycle in the audit log: a crash after an order was sent but before
  the state was saved must not make the next cycle reuse that order's id;
* lists the venue's open orders: the one order per symbol that the state
  says is ours is adopted, anything else (orders from before a crash whose
  id never reached the state) is cancelled with a confirmed cancel-all.

Positions need no special handling: the first cycle compares them with the
stored ``exchange_position`` and treats a change during downtime as a fill.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime

import attrs

from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.config import HedgeConfig
from xlp_core.decision import after_cancel
from xlp_core.errors import StateCorruptError
from xlp_core.execution import RetryPolicy, cancel_symbol_orders
from xlp_core.models import Order
from xlp_core.ports import AuditSink, Exchange, StateStore
from xlp_core.state import HedgeState, SymbolState


@attrs.frozen
class ReconcilePlan:
    """What the pure planner decided: which symbols to cancel, which order to keep."""

    state: HedgeState
    adopted: Mapping[str, int]
    cancel_symbols: tuple[str, ...]
    forgotten: Mapping[str, int]


def state_from_audit(events: Iterable[AuditEvent], now: datetime) -> HedgeState:
    """Rebuild offsets and cost bases from the last decision seen per symbol.

    Orders are deliberately not rebuilt: any order still open will be treated
    as unknown and cancelled, which is always safe.
    """
    last_cycle = 0
    symbols: dict[str, SymbolState] = {}
    for ev in events:
        last_cycle = max(last_cycle, ev.cycle)
        if ev.kind != A.DECISION or ev.symbol is None:
            continue
        d = ev.data
        offset, cost, pos, zone = (
            d.get("offset"),
            d.get("cost_basis"),
            d.get("position"),
            d.get("zone"),
        )
        if not isinstance(offset, int | float) or not isinstance(cost, int | float) or cost < 0:
            continue
        symbols[ev.symbol] = SymbolState(
            offset=float(offset),
            cost_basis=float(cost),
            exchange_position=float(pos) if isinstance(pos, int | float) else None,
            zone=zone if isinstance(zone, int) else None,
        )
    epoch = int(now.timestamp() * 1000) & 0xFFFF_FFFF_FFFF
    return HedgeState(cycle=last_cycle, symbols=symbols, updated_at=now, epoch=epoch)


def last_audit_cycle(audit: AuditSink) -> int:
    """The highest cycle number in the log (sinks may offer a fast ``last_cycle``)."""
    fast = getattr(audit, "last_cycle", None)
    if callable(fast):
        return int(fast())
    return max((ev.cycle for ev in audit.events()), default=0)


def plan_reconcile(state: HedgeState, open_orders: Iterable[Order]) -> ReconcilePlan:
    """Adopt the order each symbol's state names; cancel every symbol with others."""
    by_symbol: dict[str, list[Order]] = {}
    for o in open_orders:
        by_symbol.setdefault(o.symbol, []).append(o)
    adopted: dict[str, int] = {}
    cancel: list[str] = []
    forgotten: dict[str, int] = {}
    updates: dict[str, SymbolState] = {}
    for symbol, orders in sorted(by_symbol.items()):
        ours = state.symbol(symbol).order_id
        if all(o.client_order_id == ours for o in orders):
            adopted[symbol] = orders[0].client_order_id
        else:
            cancel.append(symbol)
    for symbol, s in state.symbols.items():
        if s.order_id is not None and symbol not in by_symbol:
            # Filled or cancelled while we were away: stop tracking it.
            forgotten[symbol] = s.order_id
            updates[symbol] = after_cancel(s, confirmed=True)
    return ReconcilePlan(state.with_symbols(updates), adopted, tuple(cancel), forgotten)


@attrs.frozen
class ReconcileReport:
    state: HedgeState
    rebuilt: bool
    adopted: Mapping[str, int]
    cancelled: Mapping[str, int]
    unconfirmed: tuple[str, ...]
    forgotten: Mapping[str, int]

    @property
    def ok(self) -> bool:
        return not self.unconfirmed


async def reconcile(
    *,
    exchange: Exchange,
    store: StateStore,
    audit: AuditSink,
    config: HedgeConfig,
    clock: Callable[[], datetime],
    rebuild: bool = False,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> ReconcileReport:
    """Bring local state in line with the venue; save it; audit what was done."""
    now = clock()
    rebuilt = False
    try:
        loaded = store.load()
    except StateCorruptError:
        if not rebuild:
            raise
        loaded = None
    if loaded is None:
        loaded = state_from_audit(audit.events(), now)
        rebuilt = True
    else:
        logged = last_audit_cycle(audit)
        if logged > loaded.cycle:
            loaded = attrs.evolve(loaded, cycle=logged)
    symbols = sorted(set(config.symbols) | set(loaded.symbols))
    orders = await exchange.open_orders(symbols) if symbols else []
    plan = plan_reconcile(loaded, orders)
    state = plan.state
    cancelled: dict[str, int] = {}
    unconfirmed: list[str] = []
    for symbol in plan.cancel_symbols:
        res = await cancel_symbol_orders(
            exchange, audit, symbol, cycle=state.cycle, now=clock,
            policy=policy or RetryPolicy(), sleep=sleep, monotonic=monotonic,
        )  # fmt: skip
        if res.confirmed:
            cancelled[symbol] = res.cancelled
            state = state.with_symbols({symbol: after_cancel(state.symbol(symbol), confirmed=True)})
        else:
            unconfirmed.append(symbol)
    audit.append(
        AuditEvent(
            at=clock(),
            kind=A.RECONCILE,
            cycle=state.cycle,
            symbol=None,
            data={
                "rebuilt": rebuilt,
                "adopted": dict(plan.adopted),
                "cancelled": cancelled,
                "unconfirmed": unconfirmed,
                "forgotten": dict(plan.forgotten),
            },
        )
    )
    store.save(state)
    return ReconcileReport(
        state, rebuilt, plan.adopted, cancelled, tuple(unconfirmed), plan.forgotten
    )
