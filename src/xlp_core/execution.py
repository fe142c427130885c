"""Sending orders safely: write-ahead audit, bounded confirmation, no doubles.

``submit_order`` is the only way the core sends an order:

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
import random
import time
from collections.abc import Awaitable, Callable
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
from xlp_core.models import Order, OrderRequest, OrderStatus
from xlp_core.ports import AuditSink, Exchange

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


def _append(audit: AuditSink, event: AuditEvent) -> None:
    try:
        audit.append(event)
    except AuditError:
        raise
    except Exception as exc:
        raise AuditError(f"audit append failed: {_err(exc)}") from exc


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
    policy = policy or RetryPolicy()
    cid = request.client_order_id
    _append(
        audit,
        AuditEvent(
            at=now(),
            kind=A.ORDER_INTENT,
            cycle=cycle,
            symbol=request.symbol,
            data={
                "client_order_id": cid,
                "side": str(request.side),
                "type": str(request.order_type),
                "size": request.size,
                "price": request.price,
                "reduce_only": request.reduce_only,
                "post_only": request.post_only,
                "reason": reason,
            },
        ),
    )
    result = await _send(exchange, request, policy, sleep, monotonic, rng)
    order = result.order
    _append(
        audit,
        AuditEvent(
            at=now(),
            kind=A.ORDER_RESULT,
            cycle=cycle,
            symbol=request.symbol,
            data={
                "client_order_id": cid,
                "outcome": str(result.outcome),
                "status": str(order.status) if order else None,
                "filled_size": order.filled_size if order else None,
                "avg_fill_price": order.avg_fill_price if order else None,
                "fee": order.fee if order else None,
                "attempts": result.attempts,
                "sent": result.sent,
                "error": result.error,
            },
        ),
    )
    return result


async def _send(
    exchange: Exchange,
    request: OrderRequest,
    policy: RetryPolicy,
    sleep: Sleep,
    monotonic: Callable[[], float],
    rng: random.Random | None,
) -> SubmitResult:
    deadline = monotonic() + policy.total_timeout
    attempt = 0
    resent_absent = False
    while True:
        attempt += 1
        try:
            order = await exchange.place_order(request)
        except DuplicateOrderError as exc:
            # The venue already has this id: an earlier attempt got through.
            found = await _poll(exchange, request, policy, sleep, monotonic, rng, deadline)
            if found is not None:
                return SubmitResult(request, outcome_of(found), found, None, attempt)
            return SubmitResult(request, SubmitOutcome.UNKNOWN, None, _err(exc), attempt)
        except (CircuitOpenError, NotionalLimitError) as exc:
            # Refused locally by a safety wrapper: nothing left the process.
            return SubmitResult(request, SubmitOutcome.REJECTED, None, _err(exc), attempt, False)
        except OrderRejectedError as exc:
            return SubmitResult(request, SubmitOutcome.REJECTED, None, _err(exc), attempt)
        except RateLimitedError as exc:
            if attempt >= policy.attempts or monotonic() >= deadline:
                return SubmitResult(
                    request, SubmitOutcome.REJECTED, None, _err(exc), attempt, False
                )
            wait = max(policy.delay(attempt, rng), exc.retry_after or 0.0)
            await sleep(min(wait, max(deadline - monotonic(), 0.0)))
            continue
        except (ExchangeError, TimeoutError, OSError) as exc:
            # Ambiguous: it may have been accepted. Look, never blindly resend.
            found = await _poll(exchange, request, policy, sleep, monotonic, rng, deadline)
            if found is not None:
                return SubmitResult(request, outcome_of(found), found, None, attempt)
            if policy.resend_same_id_when_absent and not resent_absent:
                resent_absent = True
                continue
            return SubmitResult(request, SubmitOutcome.UNKNOWN, None, _err(exc), attempt)
        return SubmitResult(request, outcome_of(order), order, None, attempt)


async def _poll(
    exchange: Exchange,
    request: OrderRequest,
    policy: RetryPolicy,
    sleep: Sleep,
    monotonic: Callable[[], float],
    rng: random.Random | None,
    deadline: float,
) -> Order | None:
    """Look the id up at the venue, with bounded backoff."""
    for attempt in range(1, policy.attempts + 1):
        try:
            found = await exchange.get_order(request.symbol, request.client_order_id)
        except (ExchangeError, TimeoutError, OSError):
            found = None
        if found is not None:
            return found
        if attempt == policy.attempts or monotonic() >= deadline:
            return None
        await sleep(min(policy.delay(attempt, rng), max(deadline - monotonic(), 0.0)))
    return None


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
    """Cancel every open order of ``symbol`` and confirm none is left.

    ``confirmed=False`` means the caller must not place a new order for the
    symbol: two live orders could overfill.
    """
    policy = policy or RetryPolicy()
    deadline = monotonic() + policy.total_timeout
    _append(audit, AuditEvent(now(), A.CANCEL_INTENT, cycle, symbol, {}))
    cancelled = 0
    error: str | None = None
    confirmed = False
    for attempt in range(1, policy.attempts + 1):
        try:
            cancelled += await exchange.cancel_all_orders(symbol)
        except (ExchangeError, TimeoutError, OSError) as exc:
            error = _err(exc)  # maybe applied anyway: the check below tells
        try:
            left = [o for o in await exchange.open_orders([symbol]) if o.symbol == symbol]
        except (ExchangeError, TimeoutError, OSError) as exc:
            error = _err(exc)
        else:
            if not left:
                confirmed = True
                error = None
                break
            error = f"{len(left)} order(s) still open"
        if attempt == policy.attempts or monotonic() >= deadline:
            break
        await sleep(min(policy.delay(attempt, rng), max(deadline - monotonic(), 0.0)))
    _append(
        audit,
        AuditEvent(
            now(),
            A.CANCEL_RESULT,
            cycle,
            symbol,
            {"confirmed": confirmed, "cancelled": cancelled, "error": error},
        ),
    )
    return CancelResult(symbol, confirmed, cancelled, error)
