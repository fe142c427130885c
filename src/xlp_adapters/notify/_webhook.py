"""A generic JSON webhook: one POST per notice.

The body is ``{"kind", "message", "at", "symbol", "severity", "data"}`` with
``at`` in ISO 8601; values in ``data`` that JSON cannot hold are sent as text.
HTTP 2xx is success; 408/429/5xx and network errors are retried; any other
status is a permanent refusal (a wrong URL does not get better with retries).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlsplit

import httpx
from typing_extensions import override

from xlp_adapters.notify._queue import DeliveryError, PermanentDeliveryError, QueuedNotifier
from xlp_adapters.notify._secrets import mask_url, protect
from xlp_core.errors import ConfigError
from xlp_core.ports import Notice

_RETRY_STATUS = frozenset({408, 425, 429})


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def notice_json(notice: Notice) -> bytes:
    """The webhook body for ``notice``."""
    body = {
        "kind": notice.kind,
        "message": notice.message,
        "at": notice.at.isoformat(),
        "symbol": notice.symbol,
        "severity": notice.severity,
        "data": _jsonable(dict(notice.data)),
    }
    return json.dumps(body, default=str, allow_nan=False, separators=(",", ":")).encode()


def check_webhook_url(url: str, *, field: str = "notify_urls") -> None:
    """Raise ``ConfigError`` (without the URL in it) unless ``url`` is http(s) with a host."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        _ = parts.port
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(field, f"{mask_url(url)} is not an http(s) URL with a host")


class WebhookNotifier(QueuedNotifier):
    """POST each notice as JSON to ``url`` (queued, throttled, retried)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **queue: Any,
    ) -> None:
        url = url.strip()
        check_webhook_url(url)
        protect([url])
        super().__init__(self._post, name=f"webhook {mask_url(url)}", **queue)
        self.__url = url
        self._timeout = timeout
        self._headers = {"content-type": "application/json", **(headers or {})}
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def _post(self, notice: Notice) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout, transport=self._transport, follow_redirects=False
            )
        try:
            resp = await self._client.post(
                self.__url, content=notice_json(notice), headers=self._headers
            )
        except httpx.HTTPError as exc:
            # httpx messages and reprs can carry the URL: keep the type only.
            raise DeliveryError(type(exc).__name__) from None
        status = resp.status_code
        if 200 <= status < 300:
            return
        if status >= 500 or status in _RETRY_STATUS:
            raise DeliveryError(f"HTTP {status}")
        raise PermanentDeliveryError(
            f"HTTP {status} (is it a generic JSON webhook? use slack:// or discord:// "
            "for those services)"
        )

    @override
    async def _release(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
