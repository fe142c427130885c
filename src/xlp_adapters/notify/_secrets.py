"""Keeping notification URLs secret: masking for display, redaction in logs.

A notification URL usually *is* the credential (a Telegram bot token, a Slack
webhook path, a password in ``mailto://``), so it is shown masked everywhere
and the third-party loggers that would print it (httpx logs every request URL
at INFO, Apprise logs an unparseable URL at ERROR) get a redacting filter for
the URLs we registered. The filter rewrites only records that contain a
registered secret; everything else passes untouched.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import parse_qsl, urlsplit

# Schemes whose host part is a real host name rather than a token
# (``tgram://TOKEN/CHAT``, ``pover://USER@TOKEN``, ``ntfy://TOPIC``...).
_HOST_SCHEMES = frozenset(
    {"http", "https", "json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos"}
)
# Loggers that may print a request URL; the Notice text itself is not secret.
_LOGGERS = ("httpx", "httpcore", "apprise", "urllib3.connectionpool", "urllib3.connection")
_MIN_PART = 4  # shorter fragments are not worth redacting (and would mangle logs)
MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with only the scheme (and the host, for host-based schemes) kept.

    ``https://user:pw@hooks.example.com/T0/B1/XYZ`` -> ``https://***@hooks.example.com/***``;
    ``tgram://123:ABC/456`` -> ``tgram://***``. Never raises.
    """
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname if scheme in _HOST_SCHEMES else None
        port = parts.port if host else None
    except ValueError:
        return MASK
    if not scheme or not scheme.isascii() or not scheme.replace("+", "").isalnum():
        return MASK
    if not host:
        return f"{scheme}://{MASK}"
    creds = f"{MASK}@" if parts.username or parts.password else ""
    shown = f"[{host}]" if ":" in host else host
    if port is not None:
        shown += f":{port}"
    rest = f"/{MASK}" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{scheme}://{creds}{shown}{rest}"


def secret_parts(url: str) -> list[str]:
    """Substrings of ``url`` that must not appear in a log line, longest first."""
    url = url.strip()
    found = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    host_based = parts.scheme.lower() in _HOST_SCHEMES
    found.update(p for p in (parts.username, parts.password) if p)
    if not host_based:
        found.add(parts.netloc)
        found.update(parts.netloc.replace("@", ":").split(":"))
    found.add(parts.path)
    found.update(parts.path.split("/"))
    found.add(parts.query)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        found.update((key, value))
    found.add(parts.fragment)
    return sorted((p for p in found if len(p) >= _MIN_PART), key=len, reverse=True)


class _Redactor(logging.Filter):
    """Replaces registered secrets in log records (message and traceback text).

    Secrets stay registered for the life of the process: a delivery thread
    abandoned after a timeout may still log after its notifier was closed.
    """

    def __init__(self) -> None:
        super().__init__("xlp-notify-redactor")
        self._lock = threading.Lock()
        self._parts: tuple[str, ...] = ()

    def register(self, urls: list[str]) -> None:
        with self._lock:
            parts = set(self._parts).union(p for u in urls for p in secret_parts(u))
            self._parts = tuple(sorted(parts, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for part in self._parts:
            if part in text:
                text = text.replace(part, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._parts:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's problem, not ours
            return True
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


REDACTOR = _Redactor()
_installed = False
_install_lock = threading.Lock()


def protect(urls: list[str]) -> None:
    """Redact ``urls`` from the third-party loggers that could print them."""
    global _installed
    with _install_lock:
        if not _installed:
            for name in _LOGGERS:
                logging.getLogger(name).addFilter(REDACTOR)
            _installed = True
    REDACTOR.register(urls)
