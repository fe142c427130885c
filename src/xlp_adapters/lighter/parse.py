"""Pure parsing of Lighter JSON (as dicts) into core values.

The SDK does not validate responses (missing fields become ``None``), so every
field we rely on is checked here and a malformed reply is an
:class:`~xlp_core.errors.ExchangeError`, never a silent zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from xlp_adapters.lighter.scaling import (
    MarketSpec,
    core_symbol,
    dec,
    price_from_venue,
    size_from_venue,
)
from xlp_core.errors import ExchangeError, InvalidInputError
from xlp_core.models import Order, OrderStatus, OrderType, Side

_STATUS = {
    "in-progress": OrderStatus.OPEN,
    "pending": OrderStatus.OPEN,
    "open": OrderStatus.OPEN,
    "filled": OrderStatus.FILLED,
    "canceled-expired": OrderStatus.EXPIRED,
}


def check_code(body: Mapping[str, Any], what: str) -> None:
    """Lighter answers HTTP 200 with ``code != 200`` for some failures."""
    code = body.get("code")
    if code is not None and code != 200:
        raise ExchangeError(f"{what}: venue error {code}: {body.get('message')}")


def _int(d: Mapping[str, Any], key: str, what: str) -> int:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ExchangeError(f"{what}: field {key!r} missing or not an integer: {v!r}")
    return v


def parse_markets(
    body: Mapping[str, Any], bad: dict[str, str] | None = None
) -> dict[str, MarketSpec]:
    """``orderBookDetails`` -> specs keyed by core symbol: active perps only, row by row.

    A row we cannot trust (missing field, supported decimals that differ from
    the actual ones, a bad multiplier) is left out and its reason recorded in
    ``bad`` under its symbol, so one odd listing fails only its own symbol.
    Spot and binary-option rows are not ours and are skipped without a word.
    """
    check_code(body, "orderBookDetails")
    rows = body.get("order_book_details")
    if not isinstance(rows, list):
        raise ExchangeError("orderBookDetails: no order_book_details list")
    out: dict[str, MarketSpec] = {}
    for row in rows:
        if not isinstance(row, Mapping) or row.get("status") not in (None, "active"):
            continue
        if row.get("market_type") not in (None, "perp", "perps"):
            continue
        venue = row.get("symbol")
        try:
            spec = _market_row(row)
        except (ExchangeError, InvalidInputError) as exc:
            if bad is not None:
                bad[str(venue)[:40]] = str(exc)
            continue
        if spec.symbol in out:
            if bad is not None:
                bad[spec.symbol] = f"{venue}: listed twice"
            del out[spec.symbol]
            continue
        out[spec.symbol] = spec
    return out


def _market_row(row: Mapping[str, Any]) -> MarketSpec:
    venue = row.get("symbol")
    if not isinstance(venue, str) or not venue:
        raise ExchangeError(f"market {row.get('market_id')!r}: no symbol")
    size_dec = _int(row, "size_decimals", venue)
    price_dec = _int(row, "price_decimals", venue)
    for key, value in (
        ("supported_size_decimals", size_dec),
        ("supported_price_decimals", price_dec),
    ):
        # The reference could not confirm which pair the sequencer uses: insist they agree.
        if row.get(key) is not None and row.get(key) != value:
            raise ExchangeError(f"{venue}: {key} {row.get(key)} != {value}; refusing to scale")
    mult = row.get("multiplier", 1)
    if isinstance(mult, str) and mult.isdigit():
        mult = int(mult)
    if isinstance(mult, bool) or not isinstance(mult, int) or mult < 1:
        raise ExchangeError(f"{venue}: multiplier {mult!r} is not a positive integer")
    return MarketSpec(
        symbol=core_symbol(venue, mult),
        venue_symbol=venue,
        market_id=_int(row, "market_id", venue),
        size_decimals=size_dec,
        price_decimals=price_dec,
        min_base_amount=dec(row.get("min_base_amount", "0"), f"{venue} min_base_amount"),
        min_quote_amount=dec(row.get("min_quote_amount", "0"), f"{venue} min_quote_amount"),
        multiplier=mult,
    )


def parse_prices(
    body: Mapping[str, Any],
    specs: Mapping[str, MarketSpec],
    bad: dict[str, str] | None = None,
) -> dict[str, float]:
    """Mark price (else last trade) per core symbol, in USD per token.

    A row whose price is missing, not finite or not positive is left out (and
    its reason recorded in ``bad``): that symbol has no price, the rest do.
    """
    check_code(body, "orderBookDetails")
    by_id = {s.market_id: s for s in specs.values()}
    out: dict[str, float] = {}
    for row in body.get("order_book_details") or []:
        spec = by_id.get(row.get("market_id", -1)) if isinstance(row, Mapping) else None
        if spec is None:
            continue
        raw = row.get("mark_price") or row.get("last_trade_price")
        try:
            price = price_from_venue(raw, spec)
        except InvalidInputError as exc:
            if bad is not None:
                bad[spec.symbol] = str(exc)
            continue
        if math.isfinite(price) and price > 0:
            out[spec.symbol] = price
        elif bad is not None:
            bad[spec.symbol] = f"{spec.symbol}: price {raw!r} is not a positive finite number"
    return out


def parse_positions(
    body: Mapping[str, Any], account_index: int, specs: Mapping[str, MarketSpec]
) -> dict[str, float]:
    """Signed positions in tokens; ``position`` is absolute and ``sign`` gives the side."""
    check_code(body, "account")
    accounts = body.get("accounts")
    if not isinstance(accounts, list):
        raise ExchangeError("account: no accounts list")
    mine = [a for a in accounts if isinstance(a, Mapping) and a.get("index") == account_index]
    if len(mine) != 1:
        raise ExchangeError(f"account: expected account {account_index}, got {len(mine)}")
    by_id = {s.market_id: s for s in specs.values()}
    out = {s: 0.0 for s in specs}
    for pos in mine[0].get("positions") or []:
        spec = by_id.get(pos.get("market_id"))
        if spec is None:
            continue
        sign = pos.get("sign")
        if sign not in (1, -1, 0):
            raise ExchangeError(f"{spec.symbol}: position sign {sign!r}")
        try:
            size = size_from_venue(pos.get("position"), spec)
        except InvalidInputError as exc:
            raise ExchangeError(str(exc)) from exc
        out[spec.symbol] = sign * size if sign else 0.0
    return out


def order_status(status: object, filled: float) -> OrderStatus:
    if not isinstance(status, str):
        raise ExchangeError(f"order status {status!r}")
    mapped = _STATUS.get(status)
    if mapped is not None:
        if mapped is OrderStatus.OPEN and filled > 0:
            return OrderStatus.PARTIALLY_FILLED
        return mapped
    if status.startswith("canceled"):
        return OrderStatus.CANCELLED
    raise ExchangeError(f"unknown order status {status!r}")


def parse_orders(rows: Iterable[Mapping[str, Any]], specs: Mapping[str, MarketSpec]) -> list[Order]:
    by_id = {s.market_id: s for s in specs.values()}
    out: list[Order] = []
    for row in rows:
        market = row.get("market_index")
        spec = by_id.get(market) if isinstance(market, int) else None
        if spec is None:
            continue
        try:
            size = size_from_venue(row.get("initial_base_amount"), spec)
            filled = size_from_venue(row.get("filled_base_amount") or "0", spec)
            price = price_from_venue(row.get("price"), spec)
            quote = dec(row.get("filled_quote_amount") or "0", "filled_quote_amount")
        except InvalidInputError as exc:
            raise ExchangeError(str(exc)) from exc
        avg = float(quote / Decimal(repr(filled))) if filled > 0 else None
        out.append(
            Order(
                client_order_id=_int(row, "client_order_index", spec.symbol),
                symbol=spec.symbol,
                side=Side.SELL if row.get("is_ask") else Side.BUY,
                order_type=OrderType.MARKET if row.get("type") == "market" else OrderType.LIMIT,
                size=size,
                price=price,
                status=order_status(row.get("status"), filled),
                filled_size=filled,
                avg_fill_price=avg,
                reduce_only=bool(row.get("reduce_only")),
                exchange_order_id=str(row.get("order_index")),
            )
        )
    return out
