"""Strict JSON reading, shared by the state stores and the audit sinks.

Our writers never emit NaN or infinities, so reading one back means the
bytes were not ours: refuse them instead of letting a NaN reach the core.
"""

from __future__ import annotations

import json
from typing import Any

_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_SORTED = json.JSONEncoder(separators=(",", ":"), allow_nan=False, sort_keys=True)


def dumps_compact(obj: Any, *, sort_keys: bool = False) -> str:
    """``json.dumps(obj, separators=(",", ":"), allow_nan=False)`` without building
    an encoder per call (that is a third of the time for a small object)."""
    return (_SORTED if sort_keys else _COMPACT).encode(obj)


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_strict(raw: str | bytes, *, unique_keys: bool = False) -> Any:
    """``json.loads`` that refuses NaN and infinities; ``ValueError`` for every failure.

    ``unique_keys`` also refuses an object with a repeated key (plain
    ``json.loads`` silently keeps the last one).
    """
    hook = _unique_keys if unique_keys else None
    try:
        return json.loads(raw, parse_constant=_no_constants, object_pairs_hook=hook)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
