"""Sending orders safely: write-ahead audit, bounded confirmation, no doubles.

The cycle sends a whole batch with :func:`place_batch` and cancels with
:func:`cancel_batch` (one venue call per round for every symbol);
``submit_order`` / ``cancel_symbol_orders`` are the one-order wrappers built
on the same internals. For each order:

1. the intent (with its deterministic client order id) is appended to the
   audit sink, which is durable when ``append`` returns; if that fails the
   order is not sent;
2. the order is sent once; a 429 (definitely not accepted) may be re-sent
   with the *same* id after a bounded backoff;
3. an ambiguous failure (timeout, 5xx, dropped response) is never re-sent
   blindly: the venue is polled for the id with bounded backoff and a total
   time bound; not found by then means ``UNKNOWN``, not failed;
4. the outcome is appended to the audit sink.

Exchange errors never escape: the result describes them. Only audit
failures raise, because trading on without the log breaks the guarantee.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.errors import (
    AuditError,
    CircuitOpenError,
    ConfigError,
    DuplicateOrderError,
    ExchangeError,
    NotionalLimitError,
    OrderRejectedError,
    RateLimitedError,
)
from xlp_core.ids import serial_of
from xlp_core.models import Order, OrderRequest, OrderStatus
from xlp_core.ports import AuditSink, CancelOutcome, Exchange, PlaceOutcome
from xlp_core.state import HedgeState, PendingOrder, SymbolState

log = logging.getLogger("xlp_core.execution")

Sleep = Callable[[float], Awaitable[None]]


@attrs.frozen
class RetryPolicy:
    """Bounded retries with capped exponential backoff and jitter (stamina-like)."""

    attempts: int = 4
    initial_delay: float = 0.25
    max_delay: float = 2.0
    multiplier: float = 2.0
    jitter: float = 0.1
    total_timeout: float = 15.0
    resend_same_id_when_absent: bool = False
    """Re-send once with the same id when polls never found the order.

    Only safe on venues that reject a duplicate client id even after the
    first order finished (the paper exchange does; check yours).
    """

    def __attrs_post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError("attempts", "must be >= 1")
        if min(self.initial_delay, self.max_delay, self.total_timeout) < 0:
            raise ConfigError("delay", "delays and total_timeout must be >= 0")
        if self.multiplier < 1 or not 0 <= self.jitter <= 1:
            raise ConfigError("multiplier", "must be >= 1, and jitter in [0, 1]")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number ``attempt`` (1-based)."""
        base = min(self.initial_delay * self.multiplier ** (attempt - 1), self.max_delay)
        if self.jitter and rng is not None:
            base *= 1.0 + self.jitter * (2.0 * rng.random() - 1.0)
        return max(base, 0.0)


NO_WAIT = RetryPolicy(attempts=3, initial_delay=0.0, max_delay=0.0, total_timeout=0.0)
"""For backtests and tests: same bounds on attempts, no waiting."""


class SubmitOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    FILLED = "filled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@attrs.frozen
class SubmitResult:
    request: OrderRequest
    outcome: SubmitOutcome
    order: Order | None = None
    error: str | None = None
    attempts: int = 1
    sent: bool = True


@attrs.frozen
class CancelResult:
    symbol: str
    confirmed: bool
    cancelled: int = 0
    error: str | None = None


def outcome_of(order: Order) -> SubmitOutcome:
    if order.status is OrderStatus.FILLED:
        return SubmitOutcome.FILLED
    if order.status.is_open:
        return SubmitOutcome.ACCEPTED
    # Cancelled / expired / rejected: what filled before counts as filled.
    return SubmitOutcome.FILLED if order.filled_size > 0 else SubmitOutcome.REJECTED


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def append_events(audit: AuditSink, events: Sequence[AuditEvent]) -> None:
    """One durable write; any failure becomes a loud ``AuditError``."""
    try:
        audit.append_many(events)
    except AuditError:
        log.error("audit write failed: %d event(s) not recorded", len(events))
        raise
    except Exception as exc:
        log.error("audit write failed: %s", _err(exc))
        raise AuditError(f"audit append failed: {_err(exc)}") from exc


def intent_event(
    request: OrderRequest, *, cycle: int, at: datetime, reason: str = ""
) -> AuditEvent:
    """The write-ahead record of one order (carries its serial via the id)."""
    return AuditEvent(
        at=at,
        kind=A.ORDER_INTENT,
        cycle=cycle,
        symbol=request.symbol,
        data={
            "client_order_id": request.client_order_id,
            "serial": serial_of(request.client_order_id),
            "side": str(request.side),
            "type": str(request.order_type),
            "size": request.size,
            "price": request.price,
            "reduce_only": request.reduce_only,
            "post_only": request.post_only,
            "expires_at": request.expires_at.isoformat() if request.expires_at else None,
            "reason": reason,
        },
    )


def result_event(result: SubmitResult, *, cycle: int, at: datetime) -> AuditEvent:
    order = result.order
    return AuditEvent(
        at=at,
        kind=A.ORDER_RESULT,
        cycle=cycle,
        symbol=result.request.symbol,
        data={
            "client_order_id": result.request.client_order_id,
            "outcome": str(result.outcome),
            "status": str(order.status) if order else None,
            "filled_size": order.filled_size if order else None,
            "avg_fill_price": order.avg_fill_price if order else None,
            "fee": order.fee if order else None,
            "attempts": result.attempts,
            "sent": result.sent,
            "error": result.error,
        },
    )


async def submit_order(
    exchange: Exchange,
    audit: AuditSink,
    request: OrderRequest,
    *,
    cycle: int,
    now: Callable[[], datetime],
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    reason: str = "",
    rng: random.Random | None = None,
) -> SubmitResult:
    """Send one order with the guarantees in the module docstring."""
    append_events(audit, [intent_event(request, cycle=cycle, at=now(), reason=reason)])
    (result,) = await place_batch(
        exchange, [request], policy=policy or RetryPolicy(), sleep=sleep,
        monotonic=monotonic, rng=rng,
    )  # fmt: skip
    append_events(audit, [result_event(result, cycle=cycle, at=now())])
    return result


async def _place(
    exchange: Exchange, requests: Sequence[OrderRequest]
) -> list[Order | BaseException]:
    """One batched send; a failure of the whole call applies to every order."""
    try:
        outcomes = await exchange.place_orders(requests)
    except (ExchangeError, TimeoutError, OSError) as exc:
        return [exc] * len(requests)
    return _unpack(outcomes, len(requests))


def _unpack(outcomes: Sequence[PlaceOutcome], n: int) -> list[Order | BaseException]:
    if len(outcomes) != n:
        err = ExchangeError(f"venue gave {len(outcomes)} outcomes for {n} orders")
        return [err] * n
    return [
        o.order if o.order is not None else (o.error or ExchangeError("no outcome"))
        for o in outcomes
    ]


async def _lookup(exchange: Exchange, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
    try:
        return await exchange.get_orders(keys)
    except (ExchangeError, TimeoutError, OSError) as exc:
        log.warning("order lookup failed (%d id(s)): %s", len(keys), _err(exc))
        return {}


async def place_batch(
    exchange: Exchange,
    requests: Sequence[OrderRequest],
    *,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    first: Sequence[Order | BaseException] | None = None,
    hold: Collection[int] = (),
) -> list[SubmitResult]:
    """Send already written-ahead orders in rounds; one result per request, in order.

    Each round makes at most one ``place_orders`` call (first sends and 429
    re-sends with the same ids) and one ``get_orders`` call (ambiguous and
    duplicate outcomes). Nothing is ever re-sent under a new id. ``first``
    is the first round's outcomes when another call (``replace_orders``)
    already sent the orders; the orders at ``hold`` indexes are never sent
    again (their market's cancel did not apply): only looked up.
    """
    deadline = monotonic() + policy.total_timeout
    results: dict[int, SubmitResult] = {}
    attempts = [0] * len(requests)
    polls = [0] * len(requests)
    errors: dict[int, str] = {}
    duplicate: set[int] = set()
    resent: set[int] = set()
    to_send = list(range(len(requests)))
    to_poll: list[int] = []
    while to_send or to_poll:
        wait = 0.0
        retry: list[int] = []
        if to_send:
            for i in to_send:
                attempts[i] += 1
            if first is not None:
                sent, first = list(first), None
            else:
                sent = await _place(exchange, [requests[i] for i in to_send])
            for i, got in zip(to_send, sent, strict=True):
                req = requests[i]
                held_back = isinstance(got, RateLimitedError | OrderRejectedError)
                if i in hold and held_back and not isinstance(got, DuplicateOrderError):
                    got = OrderRejectedError(f"{req.symbol}: not sent: cancel not applied")
                if isinstance(got, Order):
                    results[i] = SubmitResult(req, outcome_of(got), got, None, attempts[i])
                elif isinstance(got, DuplicateOrderError):
                    duplicate.add(i)  # an earlier attempt got through: look it up
                    errors[i] = _err(got)
                    to_poll.append(i)
                elif isinstance(got, CircuitOpenError | NotionalLimitError):
                    # Refused locally by a safety wrapper: nothing left the process.
                    results[i] = SubmitResult(
                        req, SubmitOutcome.REJECTED, None, _err(got), attempts[i], False
                    )
                elif isinstance(got, OrderRejectedError):
                    results[i] = SubmitResult(
                        req, SubmitOutcome.REJECTED, None, _err(got), attempts[i], i not in hold
                    )
                elif isinstance(got, RateLimitedError):
                    if i in hold or attempts[i] >= policy.attempts or monotonic() >= deadline:
                        results[i] = SubmitResult(
                            req, SubmitOutcome.REJECTED, None, _err(got), attempts[i], False
                        )
                    else:
                        log.warning("%s: rate limited, retrying the same id", req.symbol)
                        retry.append(i)
                        wait = max(wait, policy.delay(attempts[i], rng), got.retry_after or 0.0)
                else:
                    # Ambiguous (timeout, 5xx, dropped): maybe accepted. Look, never resend.
                    errors[i] = _err(got)
                    to_poll.append(i)
            to_send = retry
        if to_poll:
            found = await _lookup(
                exchange, [(requests[i].symbol, requests[i].client_order_id) for i in to_poll]
            )
            still: list[int] = []
            for i in to_poll:
                req = requests[i]
                polls[i] += 1
                order = found.get(req.client_order_id)
                if order is not None:
                    results[i] = SubmitResult(req, outcome_of(order), order, None, attempts[i])
                elif polls[i] < policy.attempts and monotonic() < deadline:
                    still.append(i)
                    wait = max(wait, policy.delay(polls[i], rng))
                elif policy.resend_same_id_when_absent and i not in resent | duplicate | set(hold):
                    resent.add(i)
                    polls[i] = 0
                    to_send.append(i)
                else:
                    log.warning("%s: order %d outcome unknown", req.symbol, req.client_order_id)
                    results[i] = SubmitResult(
                        req, SubmitOutcome.UNKNOWN, None, errors.get(i), attempts[i]
                    )
            to_poll = still
        if to_send or to_poll:
            await sleep(min(wait, max(deadline - monotonic(), 0.0)))
    return [results[i] for i in range(len(requests))]


async def cancel_batch(
    exchange: Exchange,
    symbols: Sequence[str],
    *,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> dict[str, CancelResult]:
    """Cancel every open order of ours on ``symbols`` and confirm none is left.

    One ``cancel_orders`` and one ``open_orders`` read per round for all the
    symbols still unconfirmed. ``confirmed=False`` means the caller must not
    place a new order for that symbol: two live orders could overfill.
    """
    deadline = monotonic() + policy.total_timeout
    cancelled = dict.fromkeys(symbols, 0)
    errors: dict[str, str | None] = dict.fromkeys(symbols)
    done: dict[str, CancelResult] = {}
    left = list(symbols)
    for attempt in range(1, policy.attempts + 1):
        try:
            for symbol, n in (await exchange.cancel_orders(left)).items():
                if symbol in cancelled:
                    cancelled[symbol] += n
        except (ExchangeError, TimeoutError, OSError) as exc:
            for symbol in left:  # maybe applied anyway: the check below tells
                errors[symbol] = _err(exc)
        try:
            still_open = {o.symbol for o in await exchange.open_orders(left)}
        except (ExchangeError, TimeoutError, OSError) as exc:
            for symbol in left:
                errors[symbol] = _err(exc)
        else:
            for symbol in left:
                if symbol not in still_open:
                    done[symbol] = CancelResult(symbol, True, cancelled[symbol], None)
                else:
                    errors[symbol] = "order(s) still open"
            left = [s for s in left if s in still_open]
        if not left or attempt == policy.attempts or monotonic() >= deadline:
            break
        log.warning("cancel not confirmed for %s; retrying", ", ".join(left))
        await sleep(min(policy.delay(attempt, rng), max(deadline - monotonic(), 0.0)))
    for symbol in left:
        done[symbol] = CancelResult(symbol, False, cancelled[symbol], errors[symbol])
    return {s: done[s] for s in symbols}


def cancel_events(
    results: Mapping[str, CancelResult], *, cycle: int, at: datetime
) -> list[AuditEvent]:
    out: list[AuditEvent] = []
    for symbol in results:
        out.extend(cancel_intents([symbol], cycle=cycle, at=at))
        out.extend(cancel_results({symbol: results[symbol]}, cycle=cycle, at=at))
    return out


def cancel_intents(symbols: Sequence[str], *, cycle: int, at: datetime) -> list[AuditEvent]:
    return [AuditEvent(at, A.CANCEL_INTENT, cycle, s, {}) for s in symbols]


def cancel_results(
    results: Mapping[str, CancelResult], *, cycle: int, at: datetime
) -> list[AuditEvent]:
    return [
        AuditEvent(
            at,
            A.CANCEL_RESULT,
            cycle,
            symbol,
            {"confirmed": res.confirmed, "cancelled": res.cancelled, "error": res.error},
        )
        for symbol, res in results.items()
    ]


@attrs.frozen
class ReplaceResult:
    """A replace's cancel results (per symbol), order results (in order), and the
    symbols whose orders were held back because their cancel did not apply."""

    cancels: Mapping[str, CancelResult]
    orders: Sequence[SubmitResult]
    held: frozenset[str] = frozenset()


async def replace_batch(
    exchange: Exchange,
    cancel_symbols: Sequence[str],
    requests: Sequence[OrderRequest],
    *,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> ReplaceResult:
    """Cancel and place (already written-ahead orders) with one ``replace_orders`` call.

    The orders' outcomes then follow :func:`place_batch`'s rounds, except
    that an order whose market's cancel did not apply is never sent again
    (only looked up when its outcome is ambiguous). A cancel that did not
    apply is retried with :func:`cancel_batch` (cancel and confirming read),
    so a cycle that only cancels still cancels, unless an order of that
    market may have been sent with it.
    """
    symbols = list(dict.fromkeys(cancel_symbols))
    first: list[Order | BaseException]
    try:
        out = await exchange.replace_orders(symbols, requests)
    except (ExchangeError, TimeoutError, OSError) as exc:
        fail = exc if isinstance(exc, ExchangeError) else ExchangeError(_err(exc))
        cancels = {s: CancelOutcome(s, error=fail) for s in symbols}
        first = [exc] * len(requests)
    else:
        missing = ExchangeError("venue gave no cancel outcome")
        cancels = {s: out.cancels.get(s) or CancelOutcome(s, error=missing) for s in symbols}
        first = _unpack(out.places, len(requests))
    done = {
        s: CancelResult(s, c.applied, c.cancelled, None if c.error is None else _err(c.error))
        for s, c in cancels.items()
    }
    failed = [s for s in symbols if not done[s].confirmed]
    hold = {i for i, r in enumerate(requests) if r.symbol in failed}
    results = (
        await place_batch(
            exchange,
            requests,
            policy=policy,
            sleep=sleep,
            monotonic=monotonic,
            rng=rng,
            first=first,
            hold=hold,
        )
        if requests
        else []
    )
    # A market whose new order may be live is left to the next cycle's read
    # (two orders -> the strategy cancels): a cancel-all now would cancel it too.
    maybe_live = {r.request.symbol for r in results if r.sent and r.request.symbol in failed}
    retry = [s for s in failed if s not in maybe_live]
    if retry:
        log.warning("cancel not applied for %s; retrying the cancel", ", ".join(retry))
        retried = await cancel_batch(
            exchange, retry, policy=policy, sleep=sleep, monotonic=monotonic, rng=rng
        )
        for s, res in retried.items():
            before = done[s]
            error = res.error if not res.confirmed else None
            done[s] = CancelResult(s, res.confirmed, before.cancelled + res.cancelled, error)
    return ReplaceResult(done, results, frozenset(failed))


async def cancel_symbol_orders(
    exchange: Exchange,
    audit: AuditSink,
    symbol: str,
    *,
    cycle: int,
    now: Callable[[], datetime],
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> CancelResult:
    """Cancel every open order of ``symbol`` and confirm none is left (audited)."""
    append_events(audit, [AuditEvent(now(), A.CANCEL_INTENT, cycle, symbol, {})])
    res = (
        await cancel_batch(
            exchange,
            [symbol],
            policy=policy or RetryPolicy(),
            sleep=sleep,
            monotonic=monotonic,
            rng=rng,
        )
    )[symbol]
    data = {"confirmed": res.confirmed, "cancelled": res.cancelled, "error": res.error}
    append_events(audit, [AuditEvent(now(), A.CANCEL_RESULT, cycle, symbol, data)])
    return res


# --- unknown outcomes ----------------------------------------------------------

UNKNOWN_LOOKUPS = 3
"""Later lookups that must miss an unknown order before it counts as never arrived."""


class Resolution(enum.StrEnum):
    FILLED = "filled"
    OPEN = "open"
    CANCELLED = "cancelled"
    NEVER_ARRIVED = "never_arrived"


def pending_of(request: OrderRequest, *, zone: int | None, at: datetime) -> PendingOrder:
    return PendingOrder(
        symbol=request.symbol,
        client_order_id=request.client_order_id,
        side=str(request.side),
        size=request.size,
        price=request.price,
        order_type=str(request.order_type),
        zone=zone,
        since=at,
    )


def apply_lookups(
    state: HedgeState, found: Mapping[int, Order], *, cycle: int, at: datetime
) -> tuple[HedgeState, list[AuditEvent]]:
    """Fold one lookup of ``state.unknowns`` into the state (pure).

    Filled, cancelled and long-absent orders are forgotten; an open one is
    adopted by its symbol when the symbol tracks no other order (otherwise it
    is a stray the decision cancels). Each resolution is an ``order_resolved``
    event for the audit log.
    """
    keep: list[PendingOrder] = []
    events: list[AuditEvent] = []
    updates: dict[str, SymbolState] = {}
    for p in state.unknowns:
        order = found.get(p.client_order_id)
        if order is None:
            if p.lookups + 1 < UNKNOWN_LOOKUPS:
                keep.append(attrs.evolve(p, lookups=p.lookups + 1))
                continue
            resolution = Resolution.NEVER_ARRIVED
        elif order.status.is_open:
            resolution = Resolution.OPEN
            sym = updates.get(p.symbol, state.symbol(p.symbol))
            if sym.order_id in (None, p.client_order_id) and p.order_type == "limit":
                updates[p.symbol] = attrs.evolve(
                    sym, order_id=p.client_order_id, order_zone=p.zone,
                    order_placed_at=p.since or at,
                )  # fmt: skip
        elif order.filled_size > 0 or order.status is OrderStatus.FILLED:
            resolution = Resolution.FILLED
        else:
            resolution = Resolution.CANCELLED
        data: dict[str, object] = {
            "client_order_id": p.client_order_id,
            "resolution": str(resolution),
            "side": p.side,
            "size": p.size,
            "lookups": p.lookups + 1,
        }
        if order is not None:
            data.update(
                status=str(order.status),
                filled_size=order.filled_size,
                avg_fill_price=order.avg_fill_price,
            )
        events.append(AuditEvent(at, A.ORDER_RESOLVED, cycle, p.symbol, data))
    new_state = attrs.evolve(state.with_symbols(updates), unknowns=tuple(keep))
    return new_state, events


async def resolve_unknowns(
    exchange: Exchange, state: HedgeState, *, cycle: int, at: datetime
) -> tuple[HedgeState, list[AuditEvent]]:
    """Look every unknown order up by client id (one ``get_orders`` read).

    Returns the new state and the ``order_resolved`` events; the caller makes
    both durable (the cycle in its one commit, reconciliation likewise). A
    failed read changes nothing: the unknowns are looked up again next time.
    """
    if not state.unknowns:
        return state, []
    try:
        found = await exchange.get_orders([(p.symbol, p.client_order_id) for p in state.unknowns])
    except (ExchangeError, TimeoutError, OSError) as exc:
        log.warning("unknown-order lookup failed: %s", _err(exc))
        return state, []
    return apply_lookups(state, found, cycle=cycle, at=at)


def pending_from_audit(events: Iterable[AuditEvent]) -> tuple[PendingOrder, ...]:
    """Orders written ahead whose outcome the log never recorded (crash mid-cycle).

    Start-up reconciliation adds them to ``HedgeState.unknowns`` (skipping
    ids already there) and calls :func:`resolve_unknowns`, so the log ends
    with each one's ``order_resolved`` record.
    """
    intents: dict[int, AuditEvent] = {}
    for ev in events:
        cid = ev.data.get("client_order_id")
        if not isinstance(cid, int):
            continue
        if ev.kind == A.ORDER_INTENT:
            intents[cid] = ev
        elif ev.kind == A.ORDER_RESOLVED or (
            ev.kind == A.ORDER_RESULT and ev.data.get("outcome") != "unknown"
        ):
            intents.pop(cid, None)
    out: list[PendingOrder] = []
    for cid, ev in intents.items():
        d = ev.data
        size, price = d.get("size"), d.get("price")
        out.append(
            PendingOrder(
                symbol=ev.symbol or "",
                client_order_id=cid,
                side=str(d.get("side", "")),
                size=float(size) if isinstance(size, int | float) else 0.0,
                price=float(price) if isinstance(price, int | float) else None,
                order_type=str(d.get("type", "limit")),
                since=ev.at,
            )
        )
    return tuple(out)
