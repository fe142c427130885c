"""Lighter's answers -> our error hierarchy, with each message said once.

The venue refuses with HTTP 400 and ``{"code": N, "message": ...}`` (the SDK
raises ``BadRequestException`` with ``.data``/``.body``); 429 is a plain
``ApiException``; 5xx is ``ServiceException``; 401/403 are auth problems.
"""

from __future__ import annotations

import json
from typing import Any

from xlp_core.errors import (
    DuplicateOrderError,
    ExchangeError,
    OrderRejectedError,
    RateLimitedError,
    TransientExchangeError,
)

INVALID_NONCE = 21104
DUPLICATE_CLIENT_ORDER_INDEX = 21728


def venue_code(exc: BaseException) -> tuple[int | None, str]:
    """The ``ResultCode`` of a refused request: (code, message), either may be empty."""
    data = getattr(exc, "data", None)
    code = getattr(data, "code", None)
    message = getattr(data, "message", None)
    if code is None:
        body = getattr(exc, "body", None)
        try:
            parsed: Any = json.loads(body) if isinstance(body, (str, bytes)) else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            code, message = parsed.get("code"), parsed.get("message")
    if isinstance(code, bool) or not isinstance(code, int):
        code = None
    return code, str(message or getattr(exc, "reason", "") or "")[:200]


def is_auth_error(exc: BaseException) -> bool:
    """401/403, or a 400 that names the auth token: drop the token and make a new one."""
    status = getattr(exc, "status", None)
    if status in (401, 403):
        return True
    if status == 400:
        _code, message = venue_code(exc)
        return "auth" in message.lower() or "token" in message.lower()
    return False


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    retry = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(retry) if retry is not None else None
    except ValueError:
        return None


def map_read_error(exc: BaseException, what: str) -> ExchangeError:
    """A failed read: 429 rate limited, 5xx/transport transient, 4xx an error."""
    status = getattr(exc, "status", None)
    if status == 429:
        return RateLimitedError(f"{what}: 429 rate limited", retry_after=_retry_after(exc))
    if isinstance(status, int) and status >= 500:
        return TransientExchangeError(f"{what}: HTTP {status}")
    if isinstance(status, int) and 400 <= status < 500:
        code, message = venue_code(exc)
        return ExchangeError(f"{what}: HTTP {status} code {code}: {message}")
    return TransientExchangeError(f"{what}: {type(exc).__name__}: {str(exc)[:200]}")


def map_refusal(code: int | None, message: str, what: str, cid: int | None) -> ExchangeError:
    """A transaction the venue refused (it did not execute)."""
    text = f"{what}: venue code {code}: {message}"
    if code == DUPLICATE_CLIENT_ORDER_INDEX or "already exist" in message.lower():
        # The earlier order with this index is live: the core looks it up and adopts it.
        return DuplicateOrderError(text, cid)
    return OrderRejectedError(text)
