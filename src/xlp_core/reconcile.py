"""Start-up reconciliation: the exchange is the truth, local state is rebuilt.

Run before the first cycle of a process (:class:`~xlp_core.hedger.Hedger`
does it on entry). It

* loads the state, or rebuilds it from the audit log when it is missing (a
  corrupt state file is an error unless ``rebuild=True``: nothing is
  overwritten without being asked);
* moves the order-id epoch forward so a rebuilt state can never reuse a
  client order id of an earlier run, and moves the cycle counter past the
  last cycle in the audit log: a crash after an order was sent but before
  the state was saved must not make the next cycle reuse that order's id;
* lists the venue's open orders on **every market** (a crash in the very
  first cycle leaves orders on symbols the state has never seen): an order
  the state names is adopted; any other order carrying this bot's id
  namespace (:func:`xlp_core.ids.is_ours`) is cancelled one by one and the
  cancel confirmed; orders of other namespaces are left alone and logged.

The venue reads are retried with backoff (``config.startup_retry_attempts``
attempts): one HTTP 500 at start-up must not kill the hedger. When every
attempt failed, :class:`~xlp_core.errors.StartupError` says how many and why.

Positions need no special handling: the first cycle compares them with the
stored ``exchange_position`` and treats a change during downtime as a fill.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from xlp_core import audit as A
from xlp_core.audit import AuditEvent, order_events
from xlp_core.config import HedgeConfig
from xlp_core.decision import after_cancel
from xlp_core.errors import AuditError, ExchangeError, StartupError, StateCorruptError
from xlp_core.execution import RetryPolicy, pending_from_audit, resolve_unknowns
from xlp_core.ids import is_ours, logged_serial, note_scanned
from xlp_core.models import Order
from xlp_core.ports import AuditSink, Exchange, StateStore
from xlp_core.state import HedgeState, SymbolState

T = TypeVar("T")
log = logging.getLogger("xlp_core.reconcile")

LEGACY_IDS_ON_KNOWN_SYMBOLS = False
"""Transitional (remove when the cycle sends ``ids.order_id`` ids).

The cycle still sends the legacy hash ids (``ids.client_order_id``), which
carry no namespace tag, so on the symbols this bot hedges (state or config)
every order is treated as ours, as before. Orders on other markets are ours
only by their namespace tag. Set to ``False`` once ids carry the tag.
"""

STARTUP_RETRIES = (ExchangeError, TimeoutError, OSError)
"""Start-up read failures worth another attempt (a venue hiccup, not our bug)."""


@runtime_checkable
class CycleIndexedLog(Protocol):
    """An audit log that knows its highest cycle without a full scan (SQLite sinks)."""

    def last_cycle(self) -> int: ...


@attrs.frozen
class ReconcilePlan:
    """What the pure planner decided: which orders to cancel, which to keep.

    ``cancel`` maps a symbol to the ids of ours to cancel there; ``foreign``
    lists orders of other namespaces, which are left alone.
    """

    state: HedgeState
    adopted: Mapping[str, int]
    cancel: Mapping[str, tuple[int, ...]]
    forgotten: Mapping[str, int]
    foreign: Mapping[str, tuple[int, ...]] = attrs.field(factory=dict)

    @property
    def cancel_symbols(self) -> tuple[str, ...]:
        return tuple(sorted(self.cancel))


def state_from_audit(events: Iterable[AuditEvent], now: datetime) -> HedgeState:
    """Rebuild offsets and cost bases from the last decision seen per symbol.

    Orders are deliberately not rebuilt: any order of ours still open will be
    treated as unknown and cancelled, which is always safe.
    """
    last_cycle = 0
    symbols: dict[str, SymbolState] = {}
    events = list(events)
    last_cycle = max((ev.cycle for ev in events), default=0)
    for _ev, symbol, d in A.decision_records(events):
        offset, cost, pos, zone = (
            d.get("offset"),
            d.get("cost_basis"),
            d.get("position"),
            d.get("zone"),
        )
        if not isinstance(offset, int | float) or not isinstance(cost, int | float) or cost < 0:
            continue
        symbols[symbol] = SymbolState(
            offset=float(offset),
            cost_basis=float(cost),
            exchange_position=float(pos) if isinstance(pos, int | float) else None,
            zone=zone if isinstance(zone, int) else None,
        )
    epoch = int(now.timestamp() * 1000) & 0xFFFF_FFFF_FFFF
    return HedgeState(cycle=last_cycle, symbols=symbols, updated_at=now, epoch=epoch)


def last_audit_cycle(audit: AuditSink) -> int:
    """The highest cycle number in the log (an indexed log answers without a scan)."""
    if isinstance(audit, CycleIndexedLog):
        return int(audit.last_cycle())
    return max((ev.cycle for ev in audit.events()), default=0)


def plan_reconcile(
    state: HedgeState,
    open_orders: Iterable[Order],
    *,
    namespace: str | None = None,
    legacy_symbols: Collection[str] = (),
) -> ReconcilePlan:
    """Adopt what the state names, cancel the rest of ours, leave others' alone.

    ``namespace=None`` treats every order as ours (a single-bot account).
    ``legacy_symbols``: on these symbols every order counts as ours (see
    :data:`LEGACY_IDS_ON_KNOWN_SYMBOLS`).
    """
    adopted: dict[str, int] = {}
    cancel: dict[str, list[int]] = {}
    foreign: dict[str, list[int]] = {}
    seen: set[str] = set()
    for o in sorted(open_orders, key=lambda o: (o.symbol, o.client_order_id)):
        cid = o.client_order_id
        if cid == state.symbol(o.symbol).order_id:
            adopted[o.symbol] = cid
            seen.add(o.symbol)
        elif namespace is None or is_ours(cid, namespace) or o.symbol in legacy_symbols:
            cancel.setdefault(o.symbol, []).append(cid)
        else:
            foreign.setdefault(o.symbol, []).append(cid)
    forgotten: dict[str, int] = {}
    updates: dict[str, SymbolState] = {}
    for symbol, s in state.symbols.items():
        if s.order_id is not None and symbol not in seen:
            # Filled or cancelled while we were away: stop tracking it.
            forgotten[symbol] = s.order_id
            updates[symbol] = after_cancel(s, confirmed=True)
    return ReconcilePlan(
        state.with_symbols(updates),
        adopted,
        {s: tuple(c) for s, c in cancel.items()},
        forgotten,
        {s: tuple(c) for s, c in foreign.items()},
    )


@attrs.frozen
class ReconcileReport:
    state: HedgeState
    rebuilt: bool
    adopted: Mapping[str, int]
    cancelled: Mapping[str, int]
    unconfirmed: tuple[str, ...]
    forgotten: Mapping[str, int]
    foreign: Mapping[str, tuple[int, ...]] = attrs.field(factory=dict)
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return not self.unconfirmed

    @property
    def surprises(self) -> bool:
        """Something was cancelled, forgotten or left unconfirmed: worth telling a person."""
        return bool(self.cancelled or self.forgotten or self.unconfirmed)


def startup_policy(config: HedgeConfig) -> RetryPolicy:
    """Backoff for start-up reads: 0.5 s doubling to 10 s, ``startup_retry_attempts`` tries."""
    return RetryPolicy(
        attempts=config.startup_retry_attempts,
        initial_delay=0.5,
        max_delay=10.0,
        total_timeout=float("inf"),
    )


async def read_with_retries(
    what: str,
    read: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> tuple[T, int]:
    """``(result, attempts)``; after ``policy.attempts`` failures, ``StartupError``."""
    last: BaseException | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            return await read(), attempt
        except STARTUP_RETRIES as exc:
            last = exc
            if attempt == policy.attempts:
                break
            delay = policy.delay(attempt, rng)
            log.warning(
                "start-up read %s failed (attempt %d of %d): %s; retrying in %.1f s",
                what, attempt, policy.attempts, _err(exc), delay,
            )  # fmt: skip
            await sleep(delay)
    message = (
        f"start-up gave up after {policy.attempts} attempt(s) reading {what}: "
        f"last error {_err(last) if last else 'none'}"
    )
    log.error("%s", message)
    raise StartupError(message) from last


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _open_orders_everywhere(exchange: Exchange, known: Sequence[str]) -> list[Order]:
    """Every market (``()``), plus the known symbols asked by name.

    The second read costs one request at start-up and keeps an adapter that
    predates the "``()`` means every market" rule from hiding our orders.
    """
    found = {o.client_order_id: o for o in await exchange.open_orders(())}
    if known:
        found.update((o.client_order_id, o) for o in await exchange.open_orders(known))
    return [o for o in found.values() if o.is_open]


async def _cancel_ids(
    exchange: Exchange,
    audit: AuditSink,
    symbol: str,
    ids: Sequence[int],
    *,
    cycle: int,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]],
) -> tuple[bool, int]:
    """Cancel exactly these orders (others on the symbol stay) and confirm they are gone."""
    _append(
        audit, AuditEvent(clock(), A.CANCEL_INTENT, cycle, symbol, {"client_order_ids": list(ids)})
    )
    left = set(ids)
    cancelled = 0
    error: str | None = None
    for attempt in range(1, policy.attempts + 1):
        for cid in sorted(left):
            try:
                cancelled += int(await exchange.cancel_order(symbol, cid))
            except STARTUP_RETRIES as exc:
                error = _err(exc)  # maybe applied anyway: the read below tells
        try:
            still = {o.client_order_id for o in await exchange.open_orders([symbol]) if o.is_open}
        except STARTUP_RETRIES as exc:
            error = _err(exc)
        else:
            left &= still
            error = None if not left else f"{len(left)} order(s) still open"
            if not left:
                break
        if attempt < policy.attempts:
            await sleep(policy.delay(attempt))
    confirmed = not left
    _append(
        audit,
        AuditEvent(
            clock(), A.CANCEL_RESULT, cycle, symbol,
            {"confirmed": confirmed, "cancelled": cancelled, "error": error},
        ),
    )  # fmt: skip
    return confirmed, cancelled


def _append(audit: AuditSink, event: AuditEvent) -> None:
    try:
        audit.append(event)
    except AuditError:
        raise
    except Exception as exc:
        raise AuditError(f"audit append failed: {_err(exc)}") from exc


def _append_many(audit: AuditSink, events: list[AuditEvent]) -> None:
    try:
        audit.append_many(events)
    except AuditError:
        raise
    except Exception as exc:
        raise AuditError(f"audit append failed: {_err(exc)}") from exc


def _with_logged_orders(state: HedgeState, audit: AuditSink, namespace: str) -> HedgeState:
    """Move the order serial past every serial the log used; adopt its unresolved intents.

    A crash between an order's write-ahead record and the state save must
    neither let a later order reuse that id nor leave the order's outcome
    unknown forever.
    """
    # One pass over the log's order records answers both questions; the
    # first cycle then asks serial_floor, which remembers this answer.
    high = 0

    def serials(events: Iterable[AuditEvent]) -> Iterator[AuditEvent]:
        nonlocal high
        for ev in events:
            high = max(high, logged_serial(ev, namespace))
            yield ev

    tracked = {p.client_order_id for p in state.unknowns}
    pending = tuple(
        p
        for p in pending_from_audit(serials(order_events(audit)))
        if p.client_order_id not in tracked and is_ours(p.client_order_id, namespace)
    )
    logged = note_scanned(namespace, high, id(audit))
    return attrs.evolve(
        state,
        next_serial=max(state.next_serial, logged + 1 if logged else 0),
        unknowns=state.unknowns + pending,
    )


def _load(
    store: StateStore, audit: AuditSink, now: datetime, *, rebuild: bool
) -> tuple[HedgeState, bool]:
    try:
        loaded = store.load()
    except StateCorruptError:
        if not rebuild:
            raise
        loaded = None
    if loaded is None:
        return state_from_audit(audit.events(), now), True
    logged = last_audit_cycle(audit)
    if logged > loaded.cycle:
        loaded = attrs.evolve(loaded, cycle=logged)
    return loaded, False


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
    retry: RetryPolicy | None = None,
) -> ReconcileReport:
    """Bring local state in line with the venue; save it; audit what was done.

    ``policy`` bounds each cancel's confirmation; ``retry`` the start-up
    reads (default :func:`startup_policy`: ``config.startup_retry_attempts``
    attempts with backoff, then ``StartupError``). ``monotonic`` is kept for
    callers of the earlier signature.
    """
    del monotonic  # the bounds here count attempts, not seconds
    state, rebuilt = _load(store, audit, clock(), rebuild=rebuild)
    known = sorted(set(config.symbols) | set(state.symbols))
    orders, attempts = await read_with_retries(
        "open orders", lambda: _open_orders_everywhere(exchange, known),
        policy=retry or startup_policy(config), sleep=sleep,
    )  # fmt: skip
    # Unknown outcomes (including intents a crash left without a result) are
    # looked up by client id before planning, so one that turned out open is
    # adopted rather than cancelled, and the log records each resolution.
    state = _with_logged_orders(state, audit, config.namespace)
    state, resolved = await resolve_unknowns(exchange, state, cycle=state.cycle, at=clock())
    if resolved:
        _append_many(audit, resolved)
    legacy = known if LEGACY_IDS_ON_KNOWN_SYMBOLS else ()
    plan = plan_reconcile(state, orders, namespace=config.namespace, legacy_symbols=legacy)
    for symbol, ids in sorted(plan.foreign.items()):
        log.info(
            "reconcile: leaving %d order(s) of another namespace on %s alone", len(ids), symbol
        )
    state = plan.state
    cancelled: dict[str, int] = {}
    unconfirmed: list[str] = []
    for symbol, ids in sorted(plan.cancel.items()):
        confirmed, n = await _cancel_ids(
            exchange, audit, symbol, ids, cycle=state.cycle, clock=clock,
            policy=policy or RetryPolicy(), sleep=sleep,
        )  # fmt: skip
        if confirmed:
            cancelled[symbol] = n
        else:
            unconfirmed.append(symbol)
    _append(
        audit,
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
                "foreign": {s: list(ids) for s, ids in plan.foreign.items()},
                "attempts": attempts,
            },
        ),
    )
    store.save(state)
    return ReconcileReport(
        state, rebuilt, plan.adopted, cancelled, tuple(unconfirmed), plan.forgotten,
        plan.foreign, attempts,
    )  # fmt: skip
