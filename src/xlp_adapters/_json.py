"""Strict JSON, shared by the state stores and the audit sinks.

Our writers never emit NaN or infinities, so reading one back means the
bytes were not ours: refuse them instead of letting a NaN reach the core.

:func:`dumps_fast` (audit data) uses orjson when ``xlp-core[speedups]`` is
installed, for plain data only (:func:`_nones_if_plain`): its text may
differ from the standard library's (``0.00001`` for ``1e-05``, UTF-8 for
``\\u`` escapes) but reads back as the very same values. Anything else
takes the standard library's path, which keeps every error and every
lenient case as it was. State is always written by the standard library
(:func:`dumps_compact`), so a state file's bytes never depend on extras.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from operator import countOf
from typing import Any

_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_SORTED = json.JSONEncoder(separators=(",", ":"), allow_nan=False, sort_keys=True)


_Orjson = tuple[Callable[..., bytes], int, int, type[Exception]]


def _load_orjson() -> _Orjson | None:
    """orjson's ``dumps``, its options (plain, sorted) and error; ``None`` when it
    is not installed or ``XLP_PURE_JSON`` is set (the standard library only)."""
    if os.environ.get("XLP_PURE_JSON"):
        return None
    try:
        import orjson
    except ImportError:
        return None
    # Refuse what the standard library refuses: datetimes, dataclasses and
    # subclasses of str/int/dict raise here and take the standard path.
    strict = (
        orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )
    return orjson.dumps, strict, strict | orjson.OPT_SORT_KEYS, orjson.JSONEncodeError


@functools.cache
def _orjson() -> _Orjson | None:
    """orjson, imported on first use: it takes tens of milliseconds to import
    (it loads dataclasses, uuid, inspect...), which read-only commands such as
    ``xlp status`` need not pay."""
    return _load_orjson()


def dumps_compact(obj: Any, *, sort_keys: bool = False) -> str:
    """``json.dumps(obj, separators=(",", ":"), allow_nan=False)`` without building
    an encoder per call (that is a third of the time for a small object)."""
    return (_SORTED if sort_keys else _COMPACT).encode(obj)


def dumps_fast(obj: Any, *, sort_keys: bool = False) -> str:
    """:func:`dumps_compact`'s values, through orjson when it is installed and
    ``obj`` is plain (about ten times faster for a cycle's ``decisions``)."""
    fast = _orjson()
    if fast is not None:
        nones = _nones_if_plain(obj)
        if nones >= 0:
            dumps, plain, ordered, failed = fast
            try:
                text = dumps(obj, option=ordered if sort_keys else plain)
            except failed:
                pass  # a non-str key, an int beyond 64 bits, a lone surrogate...
            else:
                # orjson writes NaN and infinities as null: one null more than
                # the Nones (or a string holding "null") sends it the standard
                # way, which refuses them.
                if text.count(b"null") == nones:
                    return text.decode()
    return dumps_compact(obj, sort_keys=sort_keys)


def floats_repr(values: list[float]) -> list[str]:
    """``float.__repr__`` of each finite value, the very same text.

    With orjson installed, one call writes them all: for magnitudes from
    1e-4 to 1e16 (and zero) both give the shortest round-trip digits in
    positional notation, so the text is identical (a test compares them);
    a list with any value outside that range is written by ``repr``.
    """
    fast = _orjson() if values else None
    if fast is not None:
        nonzero = list(filter(None, values))
        if not nonzero or (min(map(abs, nonzero)) >= 1e-4 and max(map(abs, nonzero)) < 1e16):
            texts = fast[0](values, option=0).decode()[1:-1].split(",")
            if len(texts) == len(values):
                return texts
    return list(map(float.__repr__, values))


_NONE = type(None)
_SCALARS = frozenset({str, int, float, bool, _NONE})
_CONTAINERS = frozenset({dict, list, tuple})
_ALLOWED = _SCALARS | _CONTAINERS


def _nones_if_plain(obj: Any, depth: int = 0) -> int:
    """The number of ``None`` in ``obj`` if it holds only exact JSON types (dict,
    list, tuple, str, int, float, bool, None), else -1.

    orjson writes some types the standard library refuses (enums, UUIDs):
    those, and anything unusual, take the standard path. Checked in C per
    container (``set(map(type, ...))``, ``countOf``), with a loop only over
    nested containers.
    """
    kind = type(obj)
    if kind is dict:
        values: Any = obj.values()
    elif kind is list or kind is tuple:
        values = obj
    else:
        return int(obj is None) if kind in _SCALARS else -1
    types = set(map(type, values))
    if not types <= _ALLOWED or depth > 64:
        return -1
    nones = countOf(values, None) if _NONE in types else 0
    if types.isdisjoint(_CONTAINERS):
        return nones
    for v in values:
        kind = type(v)
        if kind is dict:  # the usual record of scalars, without a call of its own
            inner_types = set(map(type, v.values()))
            if inner_types <= _SCALARS:
                nones += countOf(v.values(), None) if _NONE in inner_types else 0
                continue
        if kind in _CONTAINERS:
            inner = _nones_if_plain(v, depth + 1)
            if inner < 0:
                return -1
            nones += inner
    return nones


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
