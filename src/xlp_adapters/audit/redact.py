"""Mask secrets before anything is written (defence in depth).

The core never puts credentials into audit data, but one careless ``str(exc)``
or ``**kwargs`` would make the log a copy of the key. Keys are matched on whole
words, not substrings, so ``authority`` (a Solana account role) survives while
``auth_token``, ``X-Api-Key`` and ``privateKey`` do not. Known secret values
can be given as well: they are scrubbed from every string, whatever its key,
which catches a key quoted inside an error message.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

# A key is secret if one of its words is here...
SECRET_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "credential",
        "credentials",
        "mnemonic",
        "passphrase",
        "passwd",
        "password",
        "privatekey",
        "secret",
        "secrets",
        "token",
    }
)
# ...or two consecutive words are one of these.
SECRET_PAIRS = frozenset(
    {
        ("access", "key"),
        ("api", "key"),
        ("private", "key"),
        ("seed", "phrase"),
        ("signing", "key"),
    }
)

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def key_words(key: str) -> list[str]:
    """Split ``apiKey``, ``API_KEY``, ``x-api-key`` alike into lower-case words."""
    return [w.lower() for w in _WORD.findall(key)]


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    # Cached: a log uses a few dozen distinct keys, and this runs for each
    # key of each event (a backtest appends thousands of events).
    words = key_words(key)
    if any(w in SECRET_WORDS for w in words):
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(words))


def normalise_secrets(secrets: Iterable[str]) -> tuple[str, ...]:
    """Drop empty strings (they would match everywhere); longest first."""
    return tuple(sorted({s for s in secrets if s}, key=len, reverse=True))


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Copy ``value`` with secret-keyed entries masked at any depth.

    Mappings become dicts and tuples become lists (what JSON would make of
    them anyway); other values are returned as they are.
    """
    return _redact(value, normalise_secrets(secrets))


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, Mapping):
        return {
            k: MASK if isinstance(k, str) and is_secret_key(k) else _redact(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    if isinstance(value, str) and secrets:
        for secret in secrets:
            value = value.replace(secret, MASK)
    return value
