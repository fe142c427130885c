"""Typed errors.

Every failure a caller may want to handle has its own class, so that bad input
never degrades into a silent default (the original bot read a failed position
as 0.0 and traded against it).
"""

from __future__ import annotations


class XlpError(Exception):
    """Base class of every error raised by xlp-core."""


# --- input and configuration -------------------------------------------------


class ConfigError(XlpError, ValueError):
    """A configuration value is missing, malformed or inconsistent."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidInputError(XlpError, ValueError):
    """A number or record given to the core is unusable (NaN, inf, negative...)."""


class InvalidPriceError(InvalidInputError):
    """A price is not a finite positive number."""


class MissingSymbolError(InvalidInputError):
    """Data for a symbol that must be hedged is absent."""

    def __init__(self, symbol: str, what: str) -> None:
        super().__init__(f"{symbol}: no {what}")
        self.symbol = symbol
        self.what = what


class NegativeCostBasisError(InvalidInputError):
    """The cost-basis formula produced a negative break-even price.

    The reference formula raises here; callers that must keep running (the
    hedge cycle) catch it and rebase the cost to the observed price.
    """

    def __init__(self, cost: float) -> None:
        super().__init__(f"cost basis would be negative: {cost!r}")
        self.cost = cost


# --- persistence -------------------------------------------------------------


class StateError(XlpError):
    """The state store could not load or save."""


class StateCorruptError(StateError):
    """Stored state exists but cannot be parsed; it is left untouched on disk."""


class StateLockedError(StateError):
    """Another process holds this state: two hedgers on one state would trade twice."""

    def __init__(self, message: str, holder_pid: int | None = None) -> None:
        super().__init__(message)
        self.holder_pid = holder_pid


class AuditError(XlpError):
    """The audit sink could not durably record an event.

    Raised before an order is sent, it stops the order: nothing is traded that
    was not first written down.
    """


# --- exchange ----------------------------------------------------------------


class ExchangeError(XlpError):
    """An exchange call failed."""


class TransientExchangeError(ExchangeError):
    """A failure that may succeed on retry (timeout before send, 5xx, network)."""


class RateLimitedError(TransientExchangeError):
    """The venue answered 429, or our own budget is exhausted."""

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OrderRejectedError(ExchangeError):
    """The venue definitively refused an order; it is not on the book."""


class OrderOutcomeUnknownError(ExchangeError):
    """A submit may or may not have reached the venue (timeout after send).

    Never re-send such an order under a new client id: look it up by its id.
    """

    def __init__(self, message: str, client_order_id: int | None = None) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id


class DuplicateOrderError(OrderRejectedError):
    """The venue already knows this client order id (an earlier send got through)."""

    def __init__(self, message: str, client_order_id: int | None = None) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id


class CircuitOpenError(ExchangeError):
    """Calls are suspended after repeated failures."""


class NotionalLimitError(ExchangeError):
    """An order, or a cycle's orders, would exceed the configured USD notional cap."""


class StartupError(XlpError):
    """Start-up (reconciliation) could not complete within its bounded retries.

    The message says how many attempts were made and the last error.
    """


class LifecycleError(XlpError, RuntimeError):
    """A :class:`~xlp_core.hedger.Hedger` was used out of order (a cycle before
    ``async with``, a second entry, two cycles at once)."""


class ActionRefusedError(XlpError):
    """A strategy's action failed validation in the shell; nothing was sent."""


class MissingExtraError(XlpError, ImportError):
    """An optional dependency is not installed; the message says which extra."""

    def __init__(self, extra: str, feature: str) -> None:
        super().__init__(f"{feature} needs an optional dependency: pip install 'xlp-core[{extra}]'")
        self.extra = extra


class LiveTradingNotEnabledError(XlpError):
    """A live venue was requested without the explicit live flag."""
