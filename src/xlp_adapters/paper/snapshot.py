"""The paper account as JSON: a strict codec, and a durable file for it.

The paper account stands in for a venue's books, so its file follows the
state store's rules: written atomically (temp + fsync + rename), write
failures a one-line ``StateError`` (exit 3, the previous file intact), and
anything malformed (``[]``, ``null``, a NaN position, a size given as a
string) refused with a one-line ``StateCorruptError`` naming what is wrong,
never loaded half-way.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from xlp_adapters._json import loads_strict
from xlp_adapters.stores._fs import atomic_write, remove_leftover_temps
from xlp_core.errors import InvalidInputError, StateCorruptError, StateError
from xlp_core.models import Order, OrderStatus, OrderType, Side

if TYPE_CHECKING:
    from xlp_adapters.paper.exchange import PaperExchange

VERSION = 1
_ACCOUNT_FIELDS = ("position", "entry", "realised", "fees", "funding")


@attrs.frozen
class Snapshot:
    seq: int
    prices: Mapping[str, float]
    accounts: Mapping[str, Mapping[str, float]]
    orders: Mapping[int, Order]
    resting: Mapping[str, tuple[int, ...]]
    expiry: Mapping[int, datetime]
    dead_man_at: datetime | None


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def order_to_dict(o: Order) -> dict[str, Any]:
    d = attrs.asdict(o)
    d["side"], d["order_type"], d["status"] = str(o.side), str(o.order_type), str(o.status)
    d["created_at"] = _when(o.created_at)
    return d


def snapshot_dict(
    *,
    seq: int,
    prices: Mapping[str, float],
    accounts: Mapping[str, Mapping[str, float]],
    orders: Iterable[Order],
    resting: Mapping[str, Iterable[int]],
    expiry: Mapping[int, datetime],
    dead_man_at: datetime | None,
) -> dict[str, Any]:
    return {
        "version": VERSION,
        "seq": seq,
        "prices": dict(prices),
        "accounts": {s: dict(a) for s, a in accounts.items()},
        "orders": [order_to_dict(o) for o in orders],
        "resting": {s: list(c) for s, c in resting.items() if c},
        "expiry": {str(c): w.isoformat() for c, w in expiry.items()},
        "dead_man_at": _when(dead_man_at),
    }


# --- strict parsing -----------------------------------------------------------


def _at(parent: str, key: object) -> str:
    """Where a file-supplied key is: quoted unless plainly printable, so a reason stays one line."""
    if isinstance(key, str) and key.isprintable():
        return f"{parent}.{key}"
    return f"{parent}[{key!r}]"


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _num(value: Any, where: str, *, positive: bool = False, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{where}: {'not > 0' if positive else 'not finite'}: {value!r}")
    return float(value)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: expected an integer, got {value!r}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {value!r}")
    return value


def _dt(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(_str(value, where))
    if parsed.tzinfo is None:
        raise ValueError(f"{where}: datetime without timezone {value!r}")
    return parsed


def _order(raw: Any, where: str) -> Order:
    d = _obj(raw, where)
    known = {f.name for f in attrs.fields(Order)}
    if set(d) - known:
        raise ValueError(f"{where}: unknown fields {sorted(set(d) - known)}")
    reduce_only = d.get("reduce_only", False)
    if not isinstance(reduce_only, bool):
        raise ValueError(f"{where}.reduce_only: expected true/false, got {reduce_only!r}")
    exchange_id = d.get("exchange_order_id")
    return Order(
        client_order_id=_int(d.get("client_order_id"), f"{where}.client_order_id"),
        symbol=_str(d.get("symbol"), f"{where}.symbol"),
        side=Side(_str(d.get("side"), f"{where}.side")),
        order_type=OrderType(_str(d.get("order_type"), f"{where}.order_type")),
        size=_num(d.get("size"), f"{where}.size", positive=True),
        price=_num(d.get("price"), f"{where}.price", positive=True, optional=True),
        status=OrderStatus(_str(d.get("status"), f"{where}.status")),
        filled_size=_num(d.get("filled_size", 0.0), f"{where}.filled_size"),
        avg_fill_price=_num(d.get("avg_fill_price"), f"{where}.avg_fill_price", optional=True),
        fee=_num(d.get("fee", 0.0), f"{where}.fee"),
        reduce_only=reduce_only,
        exchange_order_id=None if exchange_id is None else _str(exchange_id, where),
        created_at=_dt(d.get("created_at"), f"{where}.created_at"),
    )


def _account(raw: Any, where: str) -> dict[str, float]:
    d = _obj(raw, where)
    if set(d) - set(_ACCOUNT_FIELDS):
        raise ValueError(f"{where}: unknown fields {sorted(set(d) - set(_ACCOUNT_FIELDS))}")
    return {k: _num(d.get(k, 0.0), f"{where}.{k}") for k in _ACCOUNT_FIELDS}


def parse_snapshot(data: Any) -> Snapshot:
    """Check every field; ``InvalidInputError`` with a one-line reason if anything is off."""
    try:
        return _parse(data)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise InvalidInputError(f"paper snapshot is malformed: {exc}") from None


def _parse(data: Any) -> Snapshot:
    d = _obj(data, "snapshot")
    if d.get("version") != VERSION:
        raise ValueError(f"unsupported version {d.get('version')!r}")
    prices = {
        _str(k, "prices"): _num(v, _at("prices", k), positive=True)
        for k, v in _obj(d.get("prices"), "prices").items()
    }
    accounts = {
        k: _account(v, _at("accounts", k)) for k, v in _obj(d.get("accounts"), "accounts").items()
    }
    raw_orders = d.get("orders")
    if not isinstance(raw_orders, list):
        raise ValueError("orders: expected a list")
    orders: dict[int, Order] = {}
    for i, raw in enumerate(raw_orders):
        order = _order(raw, f"orders[{i}]")
        if order.client_order_id in orders:
            raise ValueError(f"orders[{i}]: client order id {order.client_order_id} repeated")
        orders[order.client_order_id] = order
    resting: dict[str, tuple[int, ...]] = {}
    for symbol, raw in _obj(d.get("resting"), "resting").items():
        if not isinstance(raw, list):
            raise ValueError(f"{_at('resting', symbol)}: expected a list")
        cids = tuple(_int(c, _at("resting", symbol)) for c in raw)
        for c in cids:
            if c not in orders or orders[c].symbol != symbol or not orders[c].is_open:
                raise ValueError(f"{_at('resting', symbol)}: {c} is not an open {symbol!r} order")
        resting[symbol] = cids
    expiry: dict[int, datetime] = {}
    for key, raw in _obj(d.get("expiry", {}), "expiry").items():
        if not isinstance(key, str) or not key.isdigit() or int(key) not in orders:
            raise ValueError(f"expiry: {key!r} is not a known order")
        when = _dt(raw, f"expiry.{key}")
        if when is not None:
            expiry[int(key)] = when
    return Snapshot(
        seq=_int(d.get("seq"), "seq"),
        prices=prices,
        accounts=accounts,
        orders=orders,
        resting=resting,
        expiry=expiry,
        dead_man_at=_dt(d.get("dead_man_at"), "dead_man_at"),
    )


# --- the file -----------------------------------------------------------------


def load_account(venue: PaperExchange, path: str | os.PathLike[str]) -> bool:
    """Restore ``venue`` from ``path``; ``False`` (venue untouched) if there is no file.

    Leftover temp files of a killed save (their pid no longer alive) are
    removed first. Unreadable
    bytes or a malformed snapshot raise ``StateCorruptError`` (the file is
    left as it is); an I/O failure raises ``StateError``.
    """
    path = Path(path)
    remove_leftover_temps(path, locked=False)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateError(f"{path}: cannot read paper account: {exc}") from None
    try:
        venue.restore(loads_strict(raw, unique_keys=True))
    except (ValueError, InvalidInputError) as exc:
        raise StateCorruptError(f"{path}: not a usable paper account: {exc}") from None
    return True


def save_account(venue: PaperExchange, path: str | os.PathLike[str]) -> None:
    """Write the venue's snapshot atomically; ``StateError`` (old file intact) on failure.

    A full disk, a read-only directory or a path that is a directory all
    give one line and exit code 3 from the CLI.
    """
    path = Path(path)
    try:
        data = json.dumps(venue.snapshot(), allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise StateError(f"{path}: paper account is not JSON: {exc}") from None
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise StateError(f"{path}: cannot save paper account: {exc}") from None
