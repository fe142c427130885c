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
    them anyway); other values are returned as they are. A flat dict with
    nothing to mask is returned itself, not copied: callers only encode it.
    """
    return _redact(value, normalise_secrets(secrets))


# Leaves that can hold no secret: copied as they are without a call per value.
_LEAVES = frozenset({int, float, bool, type(None)})


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    kind = type(value)
    if kind is dict or (kind not in _LEAVES and isinstance(value, Mapping)):
        return _redact_mapping(value, secrets)
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return [v if type(v) in _LEAVES else _redact(v, secrets) for v in value]
    if secrets and isinstance(value, str):
        return _scrub(value, secrets)
    return value


# Leaves and plain strings: a dict of these under plain keys is returned as is.
_FLAT = frozenset({*_LEAVES, str})
# Keys seen and found not secret (``is_secret_key`` False): one set lookup
# tells that a whole record's keys are plain. Bounded like that cache.
_PLAIN_KEYS: set[str] = set()


def _is_flat_and_plain(value: dict[Any, Any], secrets: tuple[str, ...]) -> bool:
    """True when ``value`` has nothing to mask: then it is returned itself, not copied.

    The common case, a record the core built (numbers, ``None``, strings,
    under the same few keys every cycle, e.g. each symbol's decision record),
    is checked in C without a call per entry; keys not seen before are
    checked once each (:func:`_secret_key` remembers the plain ones).
    """
    if not value.keys() <= _PLAIN_KEYS and not all(
        type(k) is str and not _secret_key(k) for k in value
    ):
        return False
    if not _FLAT.issuperset(map(type, value.values())):
        return False
    return not secrets or not any(
        type(v) is str and _holds_secret(v, secrets) for v in value.values()
    )


def _redact_mapping(value: Mapping[Any, Any], secrets: tuple[str, ...]) -> dict[Any, Any]:
    # One pass per mapping; this runs on every event's data (a cycle's
    # ``decisions`` event holds a record per symbol), so leaves are handled
    # inline rather than by a recursive call each.
    if type(value) is dict and _is_flat_and_plain(value, secrets):
        return value  # nothing to copy (only JSON is made of it)
    out: dict[Any, Any] = {}
    for k, v in value.items():
        if type(k) is str and _secret_key(k):
            out[k] = MASK
        elif type(v) in _LEAVES:
            out[k] = v
        elif type(v) is str:
            out[k] = _scrub(v, secrets) if secrets else v
        elif type(v) is dict:  # e.g. one symbol's record: checked here, without a call
            out[k] = v if _is_flat_and_plain(v, secrets) else _redact_mapping(v, secrets)
        else:
            out[k] = _redact(v, secrets)
    return out


def _secret_key(key: str) -> bool:
    """``is_secret_key``, noting plain keys for :func:`_is_flat_and_plain`."""
    if key in _PLAIN_KEYS:
        return False
    if is_secret_key(key):
        return True
    if len(_PLAIN_KEYS) >= 4096:
        _PLAIN_KEYS.clear()
    _PLAIN_KEYS.add(key)
    return False


def _holds_secret(value: str, secrets: tuple[str, ...]) -> bool:
    return any(secret in value for secret in secrets)


def _scrub(value: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in value:
            value = value.replace(secret, MASK)
    return value
