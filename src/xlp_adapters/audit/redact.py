"""Mask secret-looking values before anything is written (defence in depth)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECRET_MARKERS = ("private_key", "api_key", "secret", "token", "password", "auth", "mnemonic")
MASK = "***"


def is_secret_key(key: str) -> bool:
    k = key.lower()
    return any(m in k for m in SECRET_MARKERS)


def redact(value: Any) -> Any:
    """Copy ``value`` with every secret-keyed entry, at any depth, masked."""
    if isinstance(value, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
