"""What every subcommand shares: exit codes, config loading, error reporting, output.

Imports here are the standard library and ``xlp_core.errors`` only, so that
``xlp --help`` stays fast; anything heavier is imported inside a function.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from xlp_core.errors import (
    AuditError,
    ConfigError,
    InvalidInputError,
    LiveTradingNotEnabledError,
    MissingExtraError,
    StartupError,
    StateError,
    StateLockedError,
)

if TYPE_CHECKING:
    from xlp_core.config import HedgeConfig, Source

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_CONFIG: Final = 2
EXIT_STATE: Final = 3

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMAT: Final = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s"
TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"

log = logging.getLogger("xlp_adapters.cli")


def utc_now() -> datetime:
    return datetime.now(UTC)


def say(text: str) -> None:
    """One line of ``xlp run`` output, timestamped like the log lines."""
    now = utc_now()
    print(f"{now:{TIME_FORMAT}}.{now.microsecond // 1000:03d}Z {text}", flush=True)


# --- log level ------------------------------------------------------------------


def resolve_log_level(given: str | None, environ: Mapping[str, str]) -> str:
    """``--log-level``, else ``XLP_LOG_LEVEL``, else INFO; a bad name is a ConfigError."""
    where, value = ("--log-level", given) if given is not None else ("XLP_LOG_LEVEL", None)
    if value is None:
        value = environ.get("XLP_LOG_LEVEL", "INFO")
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        shown = value if len(value) <= 20 and value.isprintable() else "<invalid>"
        raise ConfigError(where, f"unknown log level {shown!r} (one of {', '.join(LOG_LEVELS)})")
    return level


def configure_logging(level: str) -> None:
    """Timestamped (UTC) log lines on stderr; only the CLI installs a handler."""
    handler = logging.StreamHandler()
    formatter = logging.Formatter(LOG_FORMAT, TIME_FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.set_name("xlp-cli")
    root = logging.getLogger()
    # Replace only our own handler (main() may run twice in one process, e.g. tests).
    for old in [h for h in root.handlers if h.get_name() == "xlp-cli"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


# --- errors -------------------------------------------------------------------


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_exit_code(exc: Exception) -> int:
    if isinstance(exc, StateError | AuditError):
        return EXIT_STATE
    if isinstance(
        exc, ConfigError | LiveTradingNotEnabledError | InvalidInputError | MissingExtraError
    ):
        return EXIT_CONFIG
    return EXIT_ERROR


def report(exc: Exception, *, internal: bool = False) -> int:
    """Print one ``xlp: ...`` line for ``exc`` and return its exit code."""
    message = one_line(str(exc))
    if internal:
        message = f"internal error (details with --log-level DEBUG): {message[:200]}"
    for secret in secret_values(os.environ):  # a last line of defence for adapters' messages
        message = message.replace(secret, "***")
    pid = exc.holder_pid if isinstance(exc, StateLockedError) else None
    if pid is not None and str(pid) not in message:
        message += f" (held by pid {pid})"
    if isinstance(exc, StartupError):
        message = f"start-up failed: {message}"
    print(f"xlp: {type(exc).__name__}: {message}", file=sys.stderr)
    return error_exit_code(exc)


@contextlib.contextmanager
def data_errors(what: str) -> Iterator[None]:
    """Map what a data file can throw (not UTF-8, a directory, a CSV field too big,
    a number too large) to a one-line :class:`InvalidInputError` about ``what``.

    The loaders should raise typed errors themselves; this keeps the CLI free of
    tracebacks whatever they miss.
    """
    import csv

    try:
        yield
    except UnicodeError:
        raise InvalidInputError(f"{what}: a data file is not UTF-8 text") from None
    except OSError as exc:
        name = exc.filename or what
        raise InvalidInputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    except (csv.Error, OverflowError, RecursionError) as exc:
        text = one_line(str(exc))[:120]
        raise InvalidInputError(f"{what}: malformed data: {text}") from None


# --- config ---------------------------------------------------------------------


def default_config_path(path: str | None) -> str | None:
    if path is None and Path("xlp.toml").exists():
        return "xlp.toml"
    return path


def load_config(path: str | None, environ: Mapping[str, str] | None = None) -> HedgeConfig:
    from xlp_core.config import HedgeConfig

    return HedgeConfig.load(default_config_path(path), environ=environ)


def load_config_sources(
    path: str | None, environ: Mapping[str, str] | None = None
) -> tuple[HedgeConfig, dict[str, Source]]:
    from xlp_core.config import load_with_sources

    return load_with_sources(default_config_path(path), environ)


def pairs(text: str, what: str) -> dict[str, float]:
    """``SYM=NUMBER[,...]``; anything else is refused (never silently ignored)."""
    import math

    from xlp_core.config import shown

    out: dict[str, float] = {}
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise ConfigError(what, "expected SYMBOL=NUMBER[,...], got nothing")
    for part in parts:
        key, sep, value = part.partition("=")
        number = _float(value) if sep and key.strip() else None
        if number is None or not math.isfinite(number):
            raise ConfigError(what, f"expected SYMBOL=NUMBER[,...], got {shown(part)}")
        out[key.strip().upper()] = number
    return out


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def check_writable(path: str, what: str) -> Path:
    """Refuse an output target that cannot be written *before* any work is done."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError(what, f"{target} is a directory")
    parent = target.parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(what, f"{existing} is not a directory")
    if target.exists():
        writable = os.access(target, os.W_OK)
    else:
        writable = os.access(existing, os.W_OK | os.X_OK)
    if writable:
        # access() says yes to root on /proc, a read-only fs...: try for real
        # in the nearest directory that exists.
        writable = _can_create_in(existing)
    if not writable:
        raise ConfigError(what, f"{target}: cannot write there")
    return target


def _can_create_in(directory: Path) -> bool:
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".xlp-probe-"):
            return True
    except OSError:
        return False


# --- stores ---------------------------------------------------------------------


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The key as set and without its ``0x``, so neither form reaches the log."""
    raw = environ.get("XLP_LIGHTER_PRIVATE_KEY", "").strip()
    return [v for v in {raw, raw.removeprefix("0x")} if len(v) >= 8]
