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
  is rejected if that is beyond its price cap;
* a resting order whose ``expires_at`` has passed (by the venue's clock)
  vanishes with status EXPIRED, and an armed dead-man switch cancels every
  resting order once its time comes; both are applied before anything else
  the venue does (a price update, any call).

The batched calls (``place_orders``, ``cancel_orders``, ``get_orders``) are
one venue request each: one latency, one fault roll.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
from typing_extensions import override

from xlp_adapters.paper.faults import Fault, FaultInjector, raise_after, raise_before
from xlp_adapters.paper.snapshot import parse_snapshot, snapshot_dict
from xlp_core.errors import (
    DuplicateOrderError,
    ExchangeError,
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
from xlp_core.ports import (
    CancelOutcome,
    Exchange,
    ExchangeDefaults,
    PlaceOutcome,
    ReplaceOutcome,
    cancel_not_applied,
)

DEFAULT_MARKETS: Mapping[str, MarketRules] = {
    "SOL": MarketRules("SOL", size_increment=0.001, price_increment=0.001, min_notional=10.0),
    "ETH": MarketRules("ETH", size_increment=0.0001, price_increment=0.01, min_notional=10.0),
    "BTC": MarketRules("BTC", size_increment=0.00001, price_increment=0.1, min_notional=10.0),
    "BONK": MarketRules("BONK", size_increment=1.0, price_increment=1e-9, min_notional=10.0),
}


log = logging.getLogger("xlp_adapters.paper")

_WEIGHTS: Mapping[str, int] = {
    "place_orders": 1, "cancel_orders": 1, "get_orders": 1, "replace_orders": 1,
}  # fmt: skip


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


def _validate_rate(name: str, value: float, hi: float = 0.1) -> float:
    check_finite(value, name)
    if not 0 <= value <= hi:
        raise InvalidInputError(f"{name} must be in [0, {hi}], got {value}")
    return float(value)


class PaperExchange(ExchangeDefaults, Exchange):
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
        max_price_age: timedelta | None = None,
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
        if max_price_age is not None and max_price_age <= timedelta(0):
            raise InvalidInputError(f"max_price_age must be > 0, got {max_price_age}")
        self.max_price_age = max_price_age
        self._prices: dict[str, float] = {}
        self._priced_at: dict[str, datetime] = {}
        self._accounts: dict[str, _Account] = {}
        self._orders: dict[int, Order] = {}
        self._resting: dict[str, list[int]] = {}
        self._expiry: dict[int, datetime] = {}
        self._dead_man_at: datetime | None = None
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
        self._priced_at[symbol] = self._clock()
        self._tick()
        if self._resting.get(symbol):
            self._match(symbol)

    def set_prices(self, prices: Mapping[str, float]) -> None:
        for symbol, price in prices.items():
            self.set_price(symbol, price)

    def update_prices(self, prices: Mapping[str, object]) -> dict[str, str]:
        """Apply a feed's ticks one symbol at a time; return the refused ones and why.

        A bad tick (NaN, ``1e400``, a string, <= 0) is refused for its
        symbol only, with a warning; the other symbols still update. The
        refused symbol keeps its previous price, which ages out under
        ``max_price_age``.
        """
        refused: dict[str, str] = {}
        for symbol, price in prices.items():
            try:
                self.set_price(symbol, price)  # type: ignore[arg-type]
            except InvalidInputError as exc:
                refused[symbol] = str(exc)
                log.warning("paper: price tick refused: %s", exc)
        return refused

    def _live_price(self, symbol: str) -> float | None:
        """The price, unless ``max_price_age`` says the feed has stopped pricing it."""
        price = self._prices.get(symbol)
        if price is None or self.max_price_age is None:
            return price
        at = self._priced_at.get(symbol)
        if at is None or self._clock() - at > self.max_price_age:
            return None
        return price

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
        """Accounts, orders, prices, expiries and the dead-man switch as JSON-able data.

        Fills are not kept. :func:`xlp_adapters.paper.save_account` writes it
        durably.
        """
        return snapshot_dict(
            seq=self._seq,
            prices=self._prices,
            accounts={s: attrs.asdict(a) for s, a in self._accounts.items()},
            orders=self._orders.values(),
            resting=self._resting,
            expiry=self._expiry,
            dead_man_at=self._dead_man_at,
        )

    def restore(self, data: object) -> None:
        """Load a :meth:`snapshot`; a malformed one raises ``InvalidInputError``, no change."""
        snap = parse_snapshot(data)
        self._prices = dict(snap.prices)
        self._priced_at = {}  # restored prices are old: under max_price_age, stale
        self._accounts = {s: _Account(**a) for s, a in snap.accounts.items()}
        self._orders = dict(snap.orders)
        self._resting = {s: list(c) for s, c in snap.resting.items()}
        self._expiry = dict(snap.expiry)
        self._dead_man_at = snap.dead_man_at
        self._seq = snap.seq

    # --- the Exchange port ---------------------------------------------------

    @property
    @override
    def name(self) -> str:
        return self._name

    async def _enter(self, method: str, client_order_id: int | None = None) -> Fault | None:
        self.calls[method] += 1
        if self.latency > 0:
            await self._sleep(self.latency)
        self._tick()
        fault = self.faults.draw(method) if self.faults is not None else None
        raise_before(fault, method, client_order_id)
        return fault

    @override
    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        await self._enter("markets")
        return {s: self._markets[s] for s in symbols if s in self._markets}

    @override
    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        await self._enter("prices")
        live = {s: self._live_price(s) for s in symbols}
        return {s: p for s, p in live.items() if p is not None}

    @override
    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        await self._enter("positions")
        accts = self._accounts
        return {s: (accts[s].position if s in accts else 0.0) for s in symbols}

    @override
    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        """``()`` means every market, as on the port."""
        await self._enter("open_orders")
        wanted = set(symbols)
        return [
            self._orders[cid]
            for s, cids in self._resting.items()
            if not wanted or s in wanted
            for cid in cids
        ]

    @override
    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        fault = await self._enter("get_order")
        order = self._orders.get(client_order_id)
        raise_after(fault, "get_order")
        return order if order is not None and order.symbol == symbol else None

    @override
    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        fault = await self._enter("get_orders")
        found: dict[int, Order] = {}
        for symbol, cid in keys:
            order = self._orders.get(cid)
            if order is not None and order.symbol == symbol:
                found[cid] = order
        raise_after(fault, "get_orders")
        return found

    @override
    async def place_order(self, request: OrderRequest) -> Order:
        fault = await self._enter("place_order", request.client_order_id)
        order = self._place(request)
        raise_after(fault, "place_order", request.client_order_id)
        return order

    @override
    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        """One request for the batch; each order succeeds or fails on its own."""
        fault = await self._enter("place_orders")
        out: list[PlaceOutcome] = []
        for request in requests:
            if fault is Fault.REJECT:
                error = OrderRejectedError(f"{request.symbol}: paper: injected rejection")
                out.append(PlaceOutcome(request, error=error))
                continue
            try:
                out.append(PlaceOutcome(request, order=self._place(request)))
            except ExchangeError as exc:
                out.append(PlaceOutcome(request, error=exc))
        raise_after(fault, "place_orders")
        return out

    @override
    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        fault = await self._enter("cancel_order")
        done = self._cancel(symbol, client_order_id)
        raise_after(fault, "cancel_order")
        return done

    @override
    async def cancel_all_orders(self, symbol: str) -> int:
        fault = await self._enter("cancel_all_orders")
        n = self._cancel_symbol(symbol)
        raise_after(fault, "cancel_all_orders")
        return n

    @override
    async def cancel_orders(self, symbols: Sequence[str]) -> Mapping[str, int]:
        fault = await self._enter("cancel_orders")
        done = {s: self._cancel_symbol(s) for s in symbols}
        raise_after(fault, "cancel_orders")
        return done

    @override
    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        """One request, applied atomically in order: the cancels, then the orders.

        The cancel part rolls faults as ``cancel_orders`` and the order part
        as ``place_orders``: a cancel refused before it ran holds back every
        order of its symbols (refused, never placed); a hidden-effect fault
        applies everything and then fails the whole call (ambiguous).
        """
        self.calls["replace_orders"] += 1
        if self.latency > 0:
            await self._sleep(self.latency)
        self._tick()
        symbols = list(dict.fromkeys(cancel_symbols))
        draw = self.faults.draw if self.faults is not None else (lambda _m: None)
        cancel_fault = draw("cancel_orders") if symbols else None
        place_fault = draw("place_orders") if requests else None
        try:
            raise_before(cancel_fault, "cancel_orders")
        except ExchangeError as exc:
            cancels = {s: CancelOutcome(s, error=exc) for s in symbols}
        else:
            cancels = {s: CancelOutcome(s, self._cancel_symbol(s)) for s in symbols}
        held = {s for s, c in cancels.items() if not c.applied}
        try:
            raise_before(place_fault, "place_orders")
            whole: ExchangeError | None = None
        except ExchangeError as exc:
            whole = exc
        places: list[PlaceOutcome] = []
        for request in requests:
            if request.symbol in held:
                places.append(cancel_not_applied(request))
            elif whole is not None:
                places.append(PlaceOutcome(request, error=whole))
            elif place_fault is Fault.REJECT:
                error = OrderRejectedError(f"{request.symbol}: paper: injected rejection")
                places.append(PlaceOutcome(request, error=error))
            else:
                try:
                    places.append(PlaceOutcome(request, order=self._place(request)))
                except ExchangeError as exc:
                    places.append(PlaceOutcome(request, error=exc))
        raise_after(cancel_fault, "cancel_orders")
        raise_after(place_fault, "place_orders")
        return ReplaceOutcome(cancels=cancels, places=tuple(places))

    @override
    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        """At ``at`` every resting order is cancelled; re-arming moves it, ``None`` disarms."""
        fault = await self._enter("arm_dead_man_switch")
        if at is not None and at.tzinfo is None:
            raise InvalidInputError(f"dead-man switch time needs a timezone: {at!r}")
        self._dead_man_at = at
        raise_after(fault, "arm_dead_man_switch")
        return True

    @property
    @override
    def request_weights(self) -> Mapping[str, int]:
        """Every call, batched ones included, is one request (as the rate limiter counts)."""
        return _WEIGHTS

    @property
    def dead_man_switch_at(self) -> datetime | None:
        return self._dead_man_at

    @override
    async def close(self) -> None:
        return None

    # --- time: expiries and the dead-man switch --------------------------------

    def _tick(self) -> None:
        """Apply what the venue's clock says has happened (before anything else)."""
        if not self._expiry and self._dead_man_at is None:
            return
        now = self._clock()
        if self._dead_man_at is not None and now >= self._dead_man_at:
            self._dead_man_at = None
            for symbol in list(self._resting):
                self._cancel_symbol(symbol)
        for cid, when in list(self._expiry.items()):
            if now >= when:
                self._finish(cid, OrderStatus.EXPIRED)

    def advance(self) -> None:
        """Apply expiries and the dead-man switch now (e.g. after moving a test clock)."""
        self._tick()

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
        price = self._live_price(request.symbol)
        if price is None:
            raise self._reject(request, "no price (or a stale one)")
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
        if request.expires_at is not None:
            self._expiry[cid] = request.expires_at
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
            else:
                self._expiry.pop(cid, None)
        self._resting[symbol] = still

    def _cancel(self, symbol: str, cid: int) -> bool:
        resting = self._resting.get(symbol)
        if not resting or cid not in resting:
            return False
        self._finish(cid, OrderStatus.CANCELLED)
        return True

    def _cancel_symbol(self, symbol: str) -> int:
        return sum(self._cancel(symbol, cid) for cid in list(self._resting.get(symbol, ())))

    def _finish(self, cid: int, status: OrderStatus) -> None:
        """Take a resting order off the book with a final status."""
        order = self._orders[cid]
        resting = self._resting.get(order.symbol)
        if resting and cid in resting:
            resting.remove(cid)
        self._expiry.pop(cid, None)
        self._orders[cid] = attrs.evolve(order, status=status)
