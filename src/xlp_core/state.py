"""Persistent per-symbol hedge state and its (de)serialisation.

The state is a plain value: the decision functions take one and return the
next. Stores persist it whole; :func:`state_to_dict` and
:func:`state_from_dict` are the one serialisation every store shares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from xlp_core.errors import StateCorruptError

STATE_VERSION = 1


@attrs.frozen
class SymbolState:
    """Everything remembered about one hedged symbol between cycles.

    ``order_zone`` is the zone of the limit order we believe is live, or
    ``None`` when we have no live order: it is cleared whenever the order is
    gone (cancelled, filled, or missing from the venue), so a later return to
    the same zone places a new order instead of "maintaining" a phantom.

    ``zone`` is the zone seen in the previous cycle and ``fill_zone`` the zone
    seen just *before* the last fill: the cooldown compares against the
    pre-fill zone, never the post-fill one.
    """

    offset: float = 0.0
    cost_basis: float = 0.0
    exchange_position: float | None = None
    last_fill_at: datetime | None = None
    order_zone: int | None = None
    order_id: int | None = None
    order_placed_at: datetime | None = None
    last_alert_at: datetime | None = None
    zone: int | None = None
    fill_zone: int | None = None


@attrs.frozen
class PendingOrder:
    """An order whose outcome is unknown: remembered until a lookup resolves it.

    ``lookups`` counts the later lookups that did not find it; after
    ``UNKNOWN_LOOKUPS`` of them it is recorded as never arrived.
    """

    symbol: str
    client_order_id: int
    side: str
    size: float
    price: float | None = None
    order_type: str = "limit"
    zone: int | None = None
    since: datetime | None = None
    lookups: int = 0


@attrs.frozen
class HedgeState:
    """The whole persisted state: one record per symbol plus counters.

    ``next_serial`` is the serial of the next client order id
    (:func:`xlp_core.ids.order_id`); 0 means "not chosen yet" (a fresh state
    picks one from the clock). ``unknowns`` are orders whose outcome is still
    unknown, looked up every cycle until resolved.
    """

    cycle: int = 0
    symbols: Mapping[str, SymbolState] = attrs.field(factory=dict)
    updated_at: datetime | None = None
    version: int = STATE_VERSION
    epoch: int = 0
    next_serial: int = 0
    unknowns: tuple[PendingOrder, ...] = ()

    def symbol(self, symbol: str) -> SymbolState:
        found = self.symbols.get(symbol)
        return _EMPTY if found is None else found

    def with_symbols(self, updates: Mapping[str, SymbolState]) -> HedgeState:
        merged = dict(self.symbols)
        merged.update(updates)
        return attrs.evolve(self, symbols=merged)


_EMPTY = SymbolState()  # frozen: one shared default instead of one per lookup


def _dt_out(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt_in(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise StateCorruptError(f"{field}: expected ISO datetime string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise StateCorruptError(f"{field}: bad datetime {value!r}") from exc
    if parsed.tzinfo is None:
        raise StateCorruptError(f"{field}: datetime without timezone {value!r}")
    return parsed


def _num_in(value: Any, field: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateCorruptError(f"{field}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise StateCorruptError(f"{field}: not finite: {value!r}")
    return float(value)


def _int_in(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateCorruptError(f"{field}: expected an integer, got {value!r}")
    return value


def symbol_state_to_dict(s: SymbolState) -> dict[str, Any]:
    """The stored form. An optional field that holds nothing is left out: every
    reader takes a missing field as ``None``, and an idle symbol's state is then
    under half the size (it is written every cycle for every symbol)."""
    out: dict[str, Any] = {"offset": s.offset, "cost_basis": s.cost_basis}
    for key, value in (
        ("exchange_position", s.exchange_position),
        ("last_fill_at", _dt_out(s.last_fill_at)),
        ("order_zone", s.order_zone),
        ("order_id", s.order_id),
        ("order_placed_at", _dt_out(s.order_placed_at)),
        ("last_alert_at", _dt_out(s.last_alert_at)),
        ("zone", s.zone),
        ("fill_zone", s.fill_zone),
    ):
        if value is not None:
            out[key] = value
    return out


def symbol_state_from_dict(d: Any, where: str = "symbol") -> SymbolState:
    if not isinstance(d, dict):
        raise StateCorruptError(f"{where}: expected an object, got {type(d).__name__}")
    offset = _num_in(d.get("offset", 0.0), f"{where}.offset") or 0.0
    cost = _num_in(d.get("cost_basis", 0.0), f"{where}.cost_basis") or 0.0
    if cost < 0:
        raise StateCorruptError(f"{where}.cost_basis: negative {cost!r}")
    return SymbolState(
        offset=offset,
        cost_basis=cost,
        exchange_position=_num_in(
            d.get("exchange_position"), f"{where}.exchange_position", optional=True
        ),
        last_fill_at=_dt_in(d.get("last_fill_at"), f"{where}.last_fill_at"),
        order_zone=_int_in(d.get("order_zone"), f"{where}.order_zone"),
        order_id=_int_in(d.get("order_id"), f"{where}.order_id"),
        order_placed_at=_dt_in(d.get("order_placed_at"), f"{where}.order_placed_at"),
        last_alert_at=_dt_in(d.get("last_alert_at"), f"{where}.last_alert_at"),
        zone=_int_in(d.get("zone"), f"{where}.zone"),
        fill_zone=_int_in(d.get("fill_zone"), f"{where}.fill_zone"),
    )


def pending_to_dict(p: PendingOrder) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "client_order_id": p.client_order_id,
        "side": p.side,
        "size": p.size,
        "price": p.price,
        "order_type": p.order_type,
        "zone": p.zone,
        "since": _dt_out(p.since),
        "lookups": p.lookups,
    }


def pending_from_dict(d: Any, where: str = "unknowns") -> PendingOrder:
    if not isinstance(d, dict):
        raise StateCorruptError(f"{where}: expected an object, got {type(d).__name__}")
    symbol, side, kind = d.get("symbol"), d.get("side"), d.get("order_type", "limit")
    if not isinstance(symbol, str) or not isinstance(side, str) or not isinstance(kind, str):
        raise StateCorruptError(f"{where}: symbol, side and order_type must be strings")
    cid = _int_in(d.get("client_order_id"), f"{where}.client_order_id")
    if cid is None:
        raise StateCorruptError(f"{where}.client_order_id: missing")
    return PendingOrder(
        symbol=symbol,
        client_order_id=cid,
        side=side,
        size=_num_in(d.get("size"), f"{where}.size") or 0.0,
        price=_num_in(d.get("price"), f"{where}.price", optional=True),
        order_type=kind,
        zone=_int_in(d.get("zone"), f"{where}.zone"),
        since=_dt_in(d.get("since"), f"{where}.since"),
        lookups=_int_in(d.get("lookups", 0), f"{where}.lookups") or 0,
    )


def state_to_dict(state: HedgeState) -> dict[str, Any]:
    return {
        "version": state.version,
        "cycle": state.cycle,
        "epoch": state.epoch,
        "next_serial": state.next_serial,
        "updated_at": _dt_out(state.updated_at),
        "symbols": {k: symbol_state_to_dict(v) for k, v in sorted(state.symbols.items())},
        "unknowns": [pending_to_dict(p) for p in state.unknowns],
    }


def state_from_dict(d: Any) -> HedgeState:
    """Parse stored state; raise :class:`StateCorruptError` on anything odd."""
    if not isinstance(d, dict):
        raise StateCorruptError("state: expected a JSON object")
    version = d.get("version")
    if version != STATE_VERSION:
        raise StateCorruptError(f"state: unsupported version {version!r}")
    cycle = _int_in(d.get("cycle", 0), "state.cycle")
    symbols_raw = d.get("symbols", {})
    if not isinstance(symbols_raw, dict):
        raise StateCorruptError("state.symbols: expected an object")
    symbols = {str(k): symbol_state_from_dict(v, f"symbols.{k}") for k, v in symbols_raw.items()}
    unknowns_raw = d.get("unknowns", [])
    if not isinstance(unknowns_raw, list):
        raise StateCorruptError("state.unknowns: expected a list")
    next_serial = _int_in(d.get("next_serial", 0), "state.next_serial") or 0
    if next_serial < 0:
        raise StateCorruptError(f"state.next_serial: negative {next_serial!r}")
    return HedgeState(
        cycle=cycle or 0,
        symbols=symbols,
        updated_at=_dt_in(d.get("updated_at"), "state.updated_at"),
        version=STATE_VERSION,
        epoch=_int_in(d.get("epoch", 0), "state.epoch") or 0,
        next_serial=next_serial,
        unknowns=tuple(pending_from_dict(u, f"unknowns[{i}]") for i, u in enumerate(unknowns_raw)),
    )
