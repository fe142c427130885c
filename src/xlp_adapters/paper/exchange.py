"""``PaperExchange``: an in-memory perpetuals venue.

It is the default venue (paper trading), the backtest venue and the fault
injection venue of the safety tests, so it follows the same rules a real
venue does: increments and minimum notional are enforced, client order ids
are unique for the venue's lifetime (a resend is refused as a duplicate),
reduce-only orders cannot grow a position, and faults can hide an order that
did get placed.

Execution rules (the fast backtest engine mirrors them):

* a resting limit fills at its limit price, as maker, on the first price at
  or through it (buy: price <= limit, sell: price >= limit), whole or up to
  ``max_fill_per_update`` per price update;
* a limit that crosses when placed fills at once at the market price, as
  taker (a post-only one is rejected instead);
* a market order fills whole at the price moved ``slippage`` against us, and
  is rejected if that is beyond its price cap.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from xlp_adapters.paper.faults import Fault, FaultInjector, raise_after, raise_before
from xlp_core.errors import (
    DuplicateOrderError,
    InvalidInputError,
    OrderRejectedError,
)
from xlp_core.models import (
    MarketRules,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    check_finite,
    check_price,
)
from xlp_core.ports import ExchangeDefaults

DEFAULT_MARKETS: Mapping[str, MarketRules] = {
    "SOL": MarketRules("SOL", size_increment=0.001, price_increment=0.001, min_notional=10.0),
    "ETH": MarketRules("ETH", size_increment=0.0001, price_increment=0.01, min_notional=10.0),
    "BTC": MarketRules("BTC", size_increment=0.00001, price_increment=0.1, min_notional=10.0),
    "BONK": MarketRules("BONK", size_increment=1.0, price_increment=1e-9, min_notional=10.0),
}


@attrs.frozen
class Fill:
    at: datetime
    symbol: str
    side: Side
    size: float
    price: float
    fee: float
    client_order_id: int
    maker: bool

    @property
    def liquidity(self) -> str:
        return "maker" if self.maker else "taker"


@attrs.define
class _Account:
    """Per-symbol position accounting (average entry, realised PnL)."""

    position: float = 0.0
    entry: float = 0.0
    realised: float = 0.0
    fees: float = 0.0
    funding: float = 0.0

    def trade(self, signed: float, price: float, fee: float) -> None:
        self.fees += fee
        pos = self.position
        if pos == 0 or (pos > 0) == (signed > 0):
            new = pos + signed
            self.entry = (abs(pos) * self.entry + abs(signed) * price) / abs(new)
            self.position = new
            return
        closing = min(abs(signed), abs(pos))
        direction = 1.0 if pos > 0 else -1.0
        self.realised += closing * (price - self.entry) * direction
        new = pos + signed
        if abs(new) < 1e-12:
            self.position, self.entry = 0.0, 0.0
        elif (new > 0) != (pos > 0):
            self.position, self.entry = new, price  # flipped: the rest opens at price
        else:
            self.position = new


def _order_out(o: Order) -> dict[str, Any]:
    d = attrs.asdict(o)
    d["side"], d["order_type"], d["status"] = str(o.side), str(o.order_type), str(o.status)
    d["created_at"] = o.created_at.isoformat() if o.created_at else None
    return d


def _order_in(d: Mapping[str, Any]) -> Order:
    d = dict(d)
    d["side"], d["order_type"] = Side(d["side"]), OrderType(d["order_type"])
    d["status"] = OrderStatus(d["status"])
    d["created_at"] = datetime.fromisoformat(d["created_at"]) if d["created_at"] else None
    return Order(**d)


def _validate_rate(name: str, value: float, hi: float = 0.1) -> float:
    check_finite(value, name)
    if not 0 <= value <= hi:
        raise InvalidInputError(f"{name} must be in [0, {hi}], got {value}")
    return float(value)


class PaperExchange(ExchangeDefaults):
    """See the module docstring. All sizes in base tokens, prices in USD."""

    def __init__(
        self,
        markets: Mapping[str, MarketRules] | None = None,
        *,
        prices: Mapping[str, float] | None = None,
        clock: Callable[[], datetime],
        taker_fee: float = 0.0005,
        maker_fee: float = 0.0002,
        slippage: float = 0.0005,
        latency: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        faults: FaultInjector | None = None,
        positions: Mapping[str, float] | None = None,
        max_fill_per_update: float | None = None,
        name: str = "paper",
    ) -> None:
        self._markets = dict(DEFAULT_MARKETS if markets is None else markets)
        self._clock = clock
        self.taker_fee_rate = _validate_rate("taker_fee", taker_fee)
        self.maker_fee_rate = _validate_rate("maker_fee", maker_fee)
        self.slippage = _validate_rate("slippage", slippage, hi=0.5)
        check_finite(latency, "latency")
        if latency < 0:
            raise InvalidInputError(f"latency must be >= 0, got {latency}")
        if max_fill_per_update is not None and not max_fill_per_update > 0:
            raise InvalidInputError("max_fill_per_update must be > 0")
        self.latency = float(latency)
        self._sleep = sleep
        self.faults = faults
        self.max_fill_per_update = max_fill_per_update
        self._name = name
        self._prices: dict[str, float] = {}
        self._accounts: dict[str, _Account] = {}
        self._orders: dict[int, Order] = {}
        self._resting: dict[str, list[int]] = {}
        self._seq = 0
        self.fills: list[Fill] = []
        self.calls: Counter[str] = Counter()
        if prices:
            self.set_prices(prices)
        for symbol, pos in (positions or {}).items():
            self.set_position(symbol, pos)

    # --- simulation controls ----------------------------------------------

    @property
    def slippage_pct(self) -> float:
        return self.slippage * 100.0

    def set_price(self, symbol: str, price: float) -> None:
        self._prices[symbol] = check_price(price, f"{symbol} price")
        if self._resting.get(symbol):
            self._match(symbol)

    def set_prices(self, prices: Mapping[str, float]) -> None:
        for symbol, price in prices.items():
            self.set_price(symbol, price)

    def set_position(self, symbol: str, size: float) -> None:
        """Start from a position (at the current price as entry), e.g. an existing hedge."""
        check_finite(size, f"{symbol} position")
        self._accounts[symbol] = _Account(position=float(size), entry=self._prices.get(symbol, 0))

    def apply_funding(self, symbol: str, rate: float) -> float:
        """Charge one funding interval; longs pay when ``rate`` > 0. Returns the payment."""
        check_finite(rate, "funding rate")
        acct = self._accounts.get(symbol)
        price = self._prices.get(symbol)
        if acct is None or price is None or acct.position == 0:
            return 0.0
        paid = acct.position * price * rate
        acct.funding += paid
        return paid

    @property
    def fees_paid(self) -> float:
        return sum(a.fees for a in self._accounts.values())

    @property
    def funding_paid(self) -> float:
        return sum(a.funding for a in self._accounts.values())

    def realised_pnl(self, symbol: str) -> float:
        acct = self._accounts.get(symbol)
        return 0.0 if acct is None else acct.realised

    def unrealised_pnl(self, symbol: str) -> float:
        acct = self._accounts.get(symbol)
        price = self._prices.get(symbol)
        if acct is None or price is None or acct.position == 0:
            return 0.0
        return acct.position * (price - acct.entry)

    def all_orders(self) -> list[Order]:
        return list(self._orders.values())

    @property
    def placed_count(self) -> int:
        return len(self._orders)

    # --- persistence (so a paper account survives restarts, like a venue) -----

    def snapshot(self) -> dict[str, Any]:
        """Accounts, orders and prices as plain JSON-able data (fills are not kept)."""
        return {
            "version": 1,
            "seq": self._seq,
            "prices": dict(self._prices),
            "accounts": {s: attrs.asdict(a) for s, a in self._accounts.items()},
            "orders": [_order_out(o) for o in self._orders.values()],
            "resting": {s: list(c) for s, c in self._resting.items() if c},
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load a :meth:`snapshot`; a malformed one raises and changes nothing."""
        try:
            if data.get("version") != 1:
                raise ValueError(f"unsupported version {data.get('version')!r}")
            prices = {str(k): check_price(v, f"{k} price") for k, v in data["prices"].items()}
            accounts = {str(k): _Account(**v) for k, v in data["accounts"].items()}
            orders = {o.client_order_id: o for o in map(_order_in, data["orders"])}
            resting = {str(k): [int(c) for c in v] for k, v in data["resting"].items()}
            if any(c not in orders for cids in resting.values() for c in cids):
                raise ValueError("resting order missing from orders")
            seq = int(data["seq"])
        except (KeyError, TypeError, ValueError, InvalidInputError) as exc:
            raise InvalidInputError(f"paper snapshot is malformed: {exc}") from exc
        self._prices, self._accounts, self._orders = prices, accounts, orders
        self._resting, self._seq = resting, seq

    # --- the Exchange port ---------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    async def _enter(self, method: str, client_order_id: int | None = None) -> Fault | None:
        self.calls[method] += 1
        if self.latency > 0:
            await self._sleep(self.latency)
        fault = self.faults.draw(method) if self.faults is not None else None
        raise_before(fault, method, client_order_id)
        return fault

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        await self._enter("markets")
        return {s: self._markets[s] for s in symbols if s in self._markets}

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        await self._enter("prices")
        return {s: self._prices[s] for s in symbols if s in self._prices}

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        await self._enter("positions")
        accts = self._accounts
        return {s: (accts[s].position if s in accts else 0.0) for s in symbols}

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        await self._enter("open_orders")
        wanted = set(symbols)
        return [
            self._orders[cid] for s, cids in self._resting.items() if s in wanted for cid in cids
        ]

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        fault = await self._enter("get_order")
        order = self._orders.get(client_order_id)
        raise_after(fault, "get_order")
        return order if order is not None and order.symbol == symbol else None

    async def place_order(self, request: OrderRequest) -> Order:
        fault = await self._enter("place_order", request.client_order_id)
        order = self._place(request)
        raise_after(fault, "place_order", request.client_order_id)
        return order

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        fault = await self._enter("cancel_order")
        done = self._cancel(symbol, client_order_id)
        raise_after(fault, "cancel_order")
        return done

    async def cancel_all_orders(self, symbol: str) -> int:
        fault = await self._enter("cancel_all_orders")
        n = sum(self._cancel(symbol, cid) for cid in list(self._resting.get(symbol, ())))
        raise_after(fault, "cancel_all_orders")
        return n

    async def close(self) -> None:
        return None

    # --- matching ------------------------------------------------------------

    def _reject(self, request: OrderRequest, why: str) -> OrderRejectedError:
        # Rejected ids are remembered too: a venue never reuses one.
        self._orders[request.client_order_id] = self._order(request, OrderStatus.REJECTED)
        return OrderRejectedError(f"{request.symbol}: {why}")

    def _order(self, request: OrderRequest, status: OrderStatus, size: float = 0.0) -> Order:
        self._seq += 1
        return Order(
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            size=size or request.size,
            price=request.price,
            status=status,
            reduce_only=request.reduce_only,
            exchange_order_id=str(self._seq),
            created_at=self._clock(),
        )

    def _place(self, request: OrderRequest) -> Order:
        cid = request.client_order_id
        if cid in self._orders:
            raise DuplicateOrderError(f"client order id {cid} already used", cid)
        rules = self._markets.get(request.symbol)
        if rules is None:
            raise self._reject(request, "unknown market")
        price = self._prices.get(request.symbol)
        if price is None:
            raise self._reject(request, "no price")
        size = request.size
        steps = size / rules.size_increment
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise self._reject(request, f"size {size} is not a multiple of {rules.size_increment}")
        if request.reduce_only:
            pos = self._accounts.get(request.symbol, _Account()).position
            reducible = -pos * request.side.sign
            if reducible <= 0:
                raise self._reject(request, "reduce-only order would not reduce the position")
            size = min(size, reducible)
        if size < rules.min_size:
            raise self._reject(request, f"size {size} below minimum {rules.min_size}")
        ref = request.price if request.order_type is OrderType.LIMIT else price
        if size * (ref or price) < rules.min_notional * (1 - 1e-9):
            raise self._reject(
                request, f"notional {size * (ref or price):.2f} below {rules.min_notional}"
            )
        sign = request.side.sign
        if request.order_type is OrderType.MARKET:
            fill_price = price * (1.0 + sign * self.slippage)
            cap = request.price
            if cap is not None and (fill_price > cap if sign > 0 else fill_price < cap):
                raise self._reject(request, f"slippage: {fill_price} beyond cap {cap}")
            return self._fill_now(request, size, fill_price)
        limit = request.price
        if limit is None:  # OrderRequest already forbids this
            raise self._reject(request, "limit order without price")
        if price <= limit if sign > 0 else price >= limit:
            if request.post_only:
                raise self._reject(request, "post-only order would cross")
            return self._fill_now(request, size, price)
        order = self._order(request, OrderStatus.OPEN, size)
        self._orders[cid] = order
        self._resting.setdefault(request.symbol, []).append(cid)
        return order

    def _fill_now(self, request: OrderRequest, size: float, price: float) -> Order:
        fee = size * price * self.taker_fee_rate
        self._record_fill(request.symbol, request.side, size, price, fee, request.client_order_id)
        order = attrs.evolve(
            self._order(request, OrderStatus.FILLED, size),
            filled_size=size,
            avg_fill_price=price,
            fee=fee,
        )
        self._orders[request.client_order_id] = order
        return order

    def _record_fill(
        self, symbol: str, side: Side, size: float, price: float, fee: float, cid: int, *,
        maker: bool = False,
    ) -> None:  # fmt: skip
        acct = self._accounts.setdefault(symbol, _Account())
        acct.trade(side.sign * size, price, fee)
        self.fills.append(Fill(self._clock(), symbol, side, size, price, fee, cid, maker))

    def _match(self, symbol: str) -> None:
        price = self._prices[symbol]
        still: list[int] = []
        for cid in self._resting[symbol]:
            order = self._orders[cid]
            limit = order.price
            assert limit is not None
            crossed = price <= limit if order.side is Side.BUY else price >= limit
            if not crossed:
                still.append(cid)
                continue
            qty = order.remaining
            if self.max_fill_per_update is not None:
                qty = min(qty, self.max_fill_per_update)
            fee = qty * limit * self.maker_fee_rate
            self._record_fill(symbol, order.side, qty, limit, fee, cid, maker=True)
            filled = order.filled_size + qty
            avg = ((order.avg_fill_price or 0.0) * order.filled_size + qty * limit) / filled
            done = filled >= order.size - 1e-12
            order = attrs.evolve(
                order,
                filled_size=filled,
                avg_fill_price=avg,
                fee=order.fee + fee,
                status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
            )
            self._orders[cid] = order
            if not done:
                still.append(cid)
        self._resting[symbol] = still

    def _cancel(self, symbol: str, cid: int) -> bool:
        resting = self._resting.get(symbol)
        if not resting or cid not in resting:
            return False
        resting.remove(cid)
        self._orders[cid] = attrs.evolve(self._orders[cid], status=OrderStatus.CANCELLED)
        return True
