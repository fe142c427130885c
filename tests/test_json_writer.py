"""The audit's JSON writer: orjson when installed, with the standard library's values and errors.

``dumps_fast`` may write different text (``0.00001`` for ``1e-05``, UTF-8
instead of ``\\u`` escapes) but must read back as the very same values, in
the same key order, and must refuse exactly what ``dumps_compact`` refuses.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import math
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlp_adapters import _json
from xlp_adapters._json import dumps_compact, dumps_fast

pytestmark = pytest.mark.skipif(_json._orjson() is None, reason="needs xlp-core[speedups]")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits too: orjson refuses, the standard path writes them
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.sampled_from(["null", "a null b", "nullnull", "\ud800", "é", "\u2028"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=5),
    ),
    max_leaves=30,
)


def pairs(text: str) -> Any:
    """The parsed value with every object as its list of pairs: key order counts."""
    return json.loads(text, object_pairs_hook=list)


def outcome(write: Any, value: Any, sort_keys: bool) -> Any:
    try:
        return pairs(write(value, sort_keys=sort_keys))
    except (TypeError, ValueError) as exc:  # what the standard library raises
        return type(exc)


@settings(max_examples=400)
@given(documents, st.booleans())
def test_the_fast_writer_reads_back_as_the_standard_one(value: Any, sort_keys: bool) -> None:
    assert outcome(dumps_fast, value, sort_keys) == outcome(dumps_compact, value, sort_keys)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "where",
    [
        lambda b: b,
        lambda b: {"a": b},
        lambda b: {"a": [1.0, {"b": b}]},
        lambda b: {"text": "null", "n": None, "x": b},  # a "null" and a None besides
        lambda b: (None, b),
    ],
)
def test_non_finite_numbers_are_refused_anywhere(bad: float, where: Any) -> None:
    for sort_keys in (False, True):
        with pytest.raises(ValueError, match="JSON compliant"):
            dumps_fast(where(bad), sort_keys=sort_keys)


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    ONE = 1


class Kind(enum.StrEnum):
    BUY = "buy"


@dataclasses.dataclass
class Point:
    x: int


class MyFloat(float):
    pass


@pytest.mark.parametrize(
    "value",
    [
        {"when": datetime(2026, 1, 1, tzinfo=UTC)},  # refused by both
        {"colour": Colour.RED},
        {"id": uuid.UUID(int=1)},
        {"point": Point(1)},
        {"set": {1}},
        {"bytes": b"x"},
        {1: "int key"},  # written by both, as "1"
        {"size": Size.ONE},
        {"kind": Kind.BUY},
        {"f": MyFloat(1.5)},
        collections.OrderedDict(b=1, a=2),
        {"big": 2**70},
        {"deep": [[[[1]]]]},
    ],
)
def test_unusual_values_behave_as_with_the_standard_library(value: Any) -> None:
    for sort_keys in (False, True):
        assert outcome(dumps_fast, value, sort_keys) == outcome(dumps_compact, value, sort_keys)


def test_a_typical_decisions_record_goes_through_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    dumps, plain, ordered, failed = _json._orjson() or (None, 0, 0, Exception)
    assert dumps is not None

    def counted(obj: Any, option: int) -> bytes:
        calls.append(obj)
        return dumps(obj, option=option)

    monkeypatch.setattr(_json, "_orjson", lambda: (counted, plain, ordered, failed))
    record = {"offset": 1e-05, "cost_basis": 100.25, "zone": None, "reason": "within threshold"}
    text = dumps_fast({"symbols": {"SOL": record, "ETH": record}}, sort_keys=True)
    assert calls
    assert json.loads(text) == {"symbols": {"SOL": record, "ETH": record}}
    assert text.startswith('{"symbols":{"ETH":{"cost_basis":100.25,')


def test_the_switch_and_a_missing_orjson_leave_the_standard_library(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XLP_PURE_JSON", "1")
    assert _json._load_orjson() is None
    monkeypatch.delenv("XLP_PURE_JSON")
    assert _json._load_orjson() is not None
    monkeypatch.setitem(sys.modules, "orjson", None)  # import fails
    assert _json._load_orjson() is None
    monkeypatch.setattr(_json, "_orjson", lambda: None)
    assert dumps_fast({"a": 1e-05}) == '{"a":1e-05}'


finite = st.floats(allow_nan=False, allow_infinity=False)
usual = st.one_of(
    st.floats(min_value=1e-4, max_value=1e16, exclude_max=True),
    st.floats(min_value=-1e16, max_value=-1e-4, exclude_min=True),
    st.just(0.0),
)


@settings(max_examples=500)
@given(st.one_of(st.lists(usual, max_size=60), st.lists(finite, max_size=60)))
def test_floats_repr_is_repr(values: list[float]) -> None:
    """State numbers written in one orjson call are exactly ``repr``'s text (state
    bytes never depend on the extra); lists with other magnitudes use ``repr``."""
    assert _json.floats_repr(values) == [float.__repr__(v) for v in values]


@pytest.mark.parametrize(
    "value", [1e-4, 9.999999999999998e15, 1e15, 0.1, 1 / 3, -123456.789, 1e-05, 1e16, 5e-324]
)
def test_floats_repr_at_the_edges(value: float) -> None:
    assert _json.floats_repr([value, 1.5]) == [repr(value), "1.5"]
