"""A Lighter venue simulator on 127.0.0.1: as strict as the venue, never kinder.

It answers the REST endpoints the adapter and the SDK's Go signer use
(``orderBookDetails``, ``account``, ``apikeys``, ``nextNonce``, ``sendTx``,
``sendTxBatch``, ``accountActiveOrders``, ``accountOrders``) the way the venue
does (facts: ``docs/adapters.md`` Lighter section):

* a refused transaction is HTTP 400 ``{"code": N, "message": ...}``: 21104
  invalid nonce (per API key; a refused tx never consumes a nonce), 21727 bad
  client order index, 21728 duplicate client order index (the existing order
  stays live), 21706 below minimum base or quote amount, 21733 accidental
  price, 21734 price too far from the mark, 21739 not enough margin, 21506 too
  many pending orders (16 per market, 500 per account);
* ``sendTx`` 200 means *accepted*: a market order executes ``fill_delay``
  seconds later, against ``liquidity`` (base tokens per market; partly or not
  at all), and is cancelled whole if its average fill breaks its price cap;
* resting orders vanish at their ``OrderExpiry`` (``canceled-expired``); a
  scheduled cancel-all fires at its time (the dead-man switch);
* account endpoints need an auth token ``expiry:account:key:sig`` that is
  unexpired and names a registered key of that account;
* ``fail_next(path, kind)`` and ``latency`` inject errors and delays per
  endpoint, ``rtt`` delays every answer; ``counts`` tallies requests.

Signatures are not verified (the Schnorr scheme lives in the Go library), so
tests must decode ``tx_info`` fields instead. Codes the public tables do not
give (bad market, unknown order, expired tx, bad expiry) use 2170x/2111x
numbers of this module's choosing: treat them as "rejected", not as facts.

It runs in its own thread (the Go ``check_client`` makes blocking HTTP calls
from inside the caller's event loop), so it works from sync and async code::

    with LighterSim() as sim:            # or: url = sim.start(); ...; sim.stop()
        account, private_key = sim.new_account()
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from xlp_core.errors import MissingExtraError

API = "/api/v1/"
TX_CREATE, TX_CANCEL, TX_CANCEL_ALL = 14, 15, 16
MAX_CLIENT_ORDER_INDEX = 2**48 - 1
MAX_PER_MARKET, MAX_PER_ACCOUNT = 16, 500
MAX_EXPIRY_MS = 30 * 24 * 3600 * 1000
MIN_EXPIRY_MS = 5 * 60 * 1000
MIN_SCHEDULE_MS, MAX_SCHEDULE_MS = 5 * 60 * 1000, 15 * 24 * 3600 * 1000
ACCOUNT_ORDERS_LIMIT = 20
BATCH_LIMIT = 50

# Codes from the public tables (lighter-venue.md).
INVALID_NONCE = 21104
INVALID_CLIENT_ORDER_INDEX = 21727
DUPLICATE_CLIENT_ORDER_INDEX = 21728
BELOW_MIN_AMOUNT = 21706
ACCIDENTAL_PRICE = 21733
PRICE_TOO_FAR = 21734
NOT_ENOUGH_MARGIN = 21739
TOO_MANY_PENDING = 21506
# This module's choice (not in the public tables).
BAD_MARKET = 21701
ORDER_NOT_FOUND = 21702
BAD_EXPIRY = 21703
TX_EXPIRED = 21110
BAD_API_KEY = 21109
BAD_AUTH = 20013
BAD_PARAMS = 20001
ALREADY_SCHEDULED = 21712  # df-lighter-core: one scheduled cancel-all at a time

LIVE = ("open", "pending", "in-progress")
TIF_NAMES = {0: "immediate-or-cancel", 1: "good-till-time", 2: "post-only"}


def _row(
    market_id: int, symbol: str, size_dec: int, price_dec: int, min_base: str, mark: str, **kw: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "market_id": market_id, "symbol": symbol, "market_type": "perp", "status": "active",
        "size_decimals": size_dec, "price_decimals": price_dec,
        "supported_size_decimals": size_dec, "supported_price_decimals": price_dec,
        "min_base_amount": min_base, "min_quote_amount": "10.000000",
        "mark_price": mark, "index_price": mark, "last_trade_price": float(mark),
        "multiplier": "1", "quote_multiplier": 1, "taker_fee": "0.0000", "maker_fee": "0.0000",
        "default_initial_margin_fraction": 500, "open_interest": 0,
    }  # fmt: skip
    row.update(kw)
    return row


def mainnet_markets() -> list[dict[str, Any]]:
    """A mainnet-shaped ``order_book_details`` table (facts: lighter-venue.md)."""
    return [
        _row(0, "ETH", 4, 2, "0.0050", "3000.00"),
        _row(1, "BTC", 5, 1, "0.00020", "60000.0"),
        _row(2, "SOL", 2, 4, "0.10", "150.0000"),
        _row(3, "DOGE", 0, 6, "10", "0.150000"),
        _row(18, "1000BONK", 0, 6, "500", "0.020000", multiplier="1000"),
        # Not perps, or not scalable: the adapter must skip these rows, not fail.
        _row(90, "TRUMPWIN", 2, 4, "1", "0.5000", market_type="binary_options"),
        _row(91, "XAU", 3, 2, "0.010", "2400.00", supported_price_decimals=3),
        _row(92, "LIT", 1, 4, "1.0", "0.5000", market_type="spot"),
        _row(93, "OLD", 2, 2, "1", "1.00", status="inactive"),
    ]


def _d(x: object) -> Decimal:
    return _decimal(x) if isinstance(x, str) else Decimal(str(x))


@functools.lru_cache(maxsize=4096)
def _decimal(text: str) -> Decimal:
    """Marks and minimums are strings read again for every order: parse each once."""
    return Decimal(text)


class VenueRefusal(Exception):
    """The venue's 400 answer (raised inside the simulator only)."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@attrs.define
class SimOrder:
    order_index: int
    client_order_index: int
    market_index: int
    is_ask: bool
    base: int
    price: int
    type: str
    time_in_force: str
    reduce_only: bool
    order_expiry: int
    nonce: int
    created_ms: int
    status: str = "open"
    filled_base: Decimal = Decimal(0)
    filled_quote: Decimal = Decimal(0)
    execute_at_ms: int = 0

    @property
    def live(self) -> bool:
        return self.status in LIVE


@attrs.define
class SimAccount:
    index: int
    api_keys: dict[int, str]  # key index -> public key hex (no 0x)
    nonces: dict[int, int]
    collateral: Decimal = Decimal(1_000_000)
    positions: dict[int, Decimal] = attrs.Factory(dict)  # market -> signed base tokens
    orders: list[SimOrder] = attrs.Factory(list)
    cancel_all_ms: int = 0
    # Derived from ``orders``, which only grows (however it is appended to):
    # the orders not yet seen terminal and every client order index used, so
    # the venue's checks cost the same after a day of cycles as after one.
    _open: list[SimOrder] = attrs.field(factory=list, init=False, repr=False)
    _cids: set[int] = attrs.field(factory=set, init=False, repr=False)
    _seen: int = attrs.field(default=0, init=False, repr=False)

    def _sync(self) -> None:
        new = self.orders[self._seen :]
        if new:
            self._open.extend(new)
            self._cids.update(o.client_order_index for o in new)
            self._seen = len(self.orders)

    def live(self, market: int | None = None) -> list[SimOrder]:
        """Live orders, oldest first; a terminal order never turns live again."""
        self._sync()
        self._open = [o for o in self._open if o.live]
        return list(self._open) if market is None else [
            o for o in self._open if o.market_index == market
        ]  # fmt: skip

    def used(self, client_order_index: int) -> bool:
        self._sync()
        return client_order_index in self._cids


class LighterSim:
    """Venue state plus the HTTP server; every knob is a public attribute."""

    def __init__(
        self,
        *,
        markets: Iterable[Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
        fill_delay: float = 0.05,
        max_leverage: float = 10.0,
        accidental_band: float = 0.5,
        marketable_band: float = 0.05,
    ) -> None:
        self.markets: list[dict[str, Any]] = [dict(m) for m in (markets or mainnet_markets())]
        self._market_at: dict[int | str, int] = {}
        self.clock = clock
        self.fill_delay = fill_delay
        self.max_leverage = max_leverage
        self.accidental_band = accidental_band
        self.marketable_band = marketable_band
        self.liquidity: dict[int, Decimal] = {}  # market -> base tokens; absent = unlimited
        self.slippage: dict[int, Decimal] = {}  # market -> fractional impact on market fills
        self.accounts: dict[int, SimAccount] = {}
        self.rtt = 0.0
        self.latency: dict[str, float] = {}
        self.script: dict[str, deque[str]] = {}
        self.counts: Counter[str] = Counter()
        # Bounded, so a long offline `xlp run` does not grow without end.
        self.requests: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.txs: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.slow_seconds = 2.0
        # Seconds the simulator spent working on answers (parsing, the book):
        # on the real venue that runs on its servers, here on the caller's
        # cores and under its GIL, so benchmarks report it beside wall times.
        self.busy = 0.0
        self.url = ""
        self._order_seq = itertools.count(281474976710656)
        self._tx_seq = 0
        self._lock = threading.RLock()
        # Exposure after the last create, for the next create of the same
        # request (a 50-order batch would otherwise sum every position and
        # order 50 times); emptied by anything else that can move it.
        self._margin: dict[int, Decimal] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None

    # --- set-up ----------------------------------------------------------------

    def market(self, key: int | str) -> dict[str, Any]:
        # An index keeps a 50-order batch from scanning the table per lookup
        # (simulator CPU the benchmark would count as venue latency); it is
        # checked on every hit and rebuilt on a miss, so edits to ``markets`` show.
        at = self._market_at.get(key)
        if at is not None and at < len(self.markets):
            m = self.markets[at]
            if key in (m["market_id"], m["symbol"]):
                return m
        self._market_at = {}
        for i, m in enumerate(self.markets):
            self._market_at.setdefault(m["market_id"], i)
            self._market_at.setdefault(m["symbol"], i)
        for m in self.markets:
            if key in (m["market_id"], m["symbol"]):
                return m
        raise KeyError(key)

    def add_account(
        self, index: int, api_keys: Mapping[int, str], *, collateral: float = 1_000_000.0
    ) -> SimAccount:
        keys = {k: v.removeprefix("0x") for k, v in api_keys.items()}
        account = SimAccount(index, keys, {k: 100 for k in keys}, collateral=_d(collateral))
        with self._lock:
            self.accounts[index] = account
        return account

    def new_account(
        self, index: int | None = None, *, api_key_index: int = 3, **kw: Any
    ) -> tuple[int, str]:
        """Register a fresh key pair (the SDK's own generator); returns (account, private key)."""
        import importlib

        signer: Any = importlib.import_module("lighter.signer_client")
        private, public, err = signer.create_api_key()
        if err:
            raise RuntimeError(f"create_api_key: {err}")
        index = index if index is not None else 10_000 + len(self.accounts) + id(self) % 50_000
        self.add_account(index, {api_key_index: public}, **kw)
        return index, str(private)

    def set_position(self, account: int, symbol: str, size: float) -> None:
        with self._lock:
            self.accounts[account].positions[self.market(symbol)["market_id"]] = _d(size)

    def set_mark(self, symbol: str, price: float) -> None:
        """Move the mark and fill resting orders it crosses (at their limit price)."""
        with self._lock:
            m = self.market(symbol)
            m["mark_price"] = f"{_d(price):.{m['price_decimals']}f}"
            for account in self.accounts.values():
                for o in account.live(m["market_id"]):
                    limit = self._px(o.price, m)
                    if o.type == "limit" and (
                        _d(price) <= limit if not o.is_ask else _d(price) >= limit
                    ):
                        self._fill(account, o, self._sz(o.base, m), limit)

    def fail_next(self, endpoint: str, *kinds: str) -> None:
        """Kinds: ``429``, ``500``, ``401``, ``code`` (HTTP 200 with code 21500),
        ``slow`` (answer after ``slow_seconds``), ``accept_slow`` (apply, then be slow),
        ``drop`` (apply, then close the connection) or ``400:CODE``."""
        with self._lock:
            self.script.setdefault(endpoint.removeprefix(API), deque()).extend(kinds)

    def orders(self, account: int) -> list[SimOrder]:
        return list(self.accounts[account].orders)

    # --- server ----------------------------------------------------------------

    def start(self) -> str:
        """Serve on an ephemeral 127.0.0.1 port in a daemon thread; returns the base URL."""
        try:
            from aiohttp import web
        except ImportError as exc:  # pragma: no cover - aiohttp comes with lighter-sdk
            raise MissingExtraError("lighter", "the Lighter simulator") from exc
        ready = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(serve())
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="lighter-sim", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("lighter simulator did not start")
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> LighterSim:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> LighterSim:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    async def _handle(self, request: Any) -> Any:
        endpoint = request.path.removeprefix(API)
        started = time.perf_counter()
        form = dict(await request.post()) if request.method == "POST" else {}
        record = {"method": request.method, "path": request.path, "endpoint": endpoint,
                  "query": dict(request.query), "form": form, "headers": dict(request.headers),
                  "arrived": time.monotonic()}  # fmt: skip
        with self._lock:
            self.busy += time.perf_counter() - started
            self.counts[endpoint] += 1
            self.requests.append(record)
            queue = self.script.get(endpoint)
            kind = queue.popleft() if queue else None
        try:
            return await self._answer(request, endpoint, form, kind)
        finally:
            record["answered"] = time.monotonic()

    async def _answer(
        self, request: Any, endpoint: str, form: dict[str, Any], kind: str | None
    ) -> Any:
        from aiohttp import web

        delay = self.rtt + self.latency.get(endpoint, 0.0)
        if delay:
            await asyncio.sleep(delay)
        if kind == "429":
            return web.json_response(
                {"code": 429, "message": "too many requests"}, status=429,
                headers={"Retry-After": "3"},
            )  # fmt: skip
        if kind in ("500", "401"):
            return web.json_response({"code": int(kind), "message": "injected"}, status=int(kind))
        if kind is not None and kind.startswith("400:"):
            return web.json_response({"code": int(kind[4:]), "message": "injected"}, status=400)
        if kind == "slow":
            await asyncio.sleep(self.slow_seconds)
        if kind == "code":
            return web.json_response({"code": 21500, "message": "injected failure"})
        try:
            with self._lock:
                started = time.perf_counter()
                try:
                    self._margin = {}  # only consecutive creates of one request share it
                    self._advance()
                    body = self.route(endpoint, request.query, form, request.headers)
                finally:
                    self.busy += time.perf_counter() - started
        except VenueRefusal as exc:
            return web.json_response({"code": exc.code, "message": exc.message}, status=exc.status)
        if kind == "accept_slow":
            await asyncio.sleep(self.slow_seconds)
        if kind == "drop" and request.transport is not None:
            request.transport.abort()  # applied, then the answer is lost on the wire
        return web.json_response(body)

    # --- routing ---------------------------------------------------------------

    def route(
        self, endpoint: str, query: Mapping[str, str], form: Mapping[str, Any], headers: Any
    ) -> dict[str, Any]:
        if endpoint == "orderBookDetails":
            rows = [
                m for m in self.markets if query.get("market_id") in (None, str(m["market_id"]))
            ]
            return {"code": 200, "order_book_details": rows}
        if endpoint == "apikeys":
            account = self._account(query.get("account_index"))
            keys = [
                {"account_index": account.index, "api_key_index": k, "public_key": pub,
                 "nonce": account.nonces[k], "transaction_time": 0}
                for k, pub in account.api_keys.items()
                if query.get("api_key_index") in (None, "255", str(k))
            ]  # fmt: skip
            return {"code": 200, "api_keys": keys}
        if endpoint == "nextNonce":
            account = self._account(query.get("account_index"))
            key = _int(query.get("api_key_index"))
            if key not in account.nonces:
                raise VenueRefusal(BAD_API_KEY, "api key not found")
            return {"code": 200, "nonce": account.nonces[key]}
        if endpoint == "account":
            if query.get("by") != "index":
                raise VenueRefusal(BAD_PARAMS, "by must be index")
            return {"code": 200, "total": 1, "accounts": [self._account_row(query.get("value"))]}
        if endpoint == "accountActiveOrders":
            account = self._authed(headers, query.get("account_index"))
            market = query.get("market_id")
            live = account.live(_int(market) if market is not None else None)
            return {"code": 200, "orders": [self._order_row(o) for o in live]}
        if endpoint == "accountOrders":
            account = self._authed(headers, query.get("account_index"))
            wanted = [x for x in str(query.get("client_order_indexes", "")).split(",") if x]
            if not wanted or len(wanted) > ACCOUNT_ORDERS_LIMIT:
                raise VenueRefusal(BAD_PARAMS, f"1 to {ACCOUNT_ORDERS_LIMIT} client order indexes")
            ids = {_int(x) for x in wanted}
            hits = [o for o in account.orders if o.client_order_index in ids]
            return {"code": 200, "orders": [self._order_row(o) for o in hits]}
        if endpoint == "sendTx":
            return {"code": 200, **self._apply(_int(form.get("tx_type")), form.get("tx_info"))}
        if endpoint == "sendTxBatch":
            return self._batch(form)
        raise VenueRefusal(404, f"no route {endpoint}", status=404)

    def _account(self, value: object) -> SimAccount:
        account = self.accounts.get(_int(value))
        if account is None:
            raise VenueRefusal(21100, "account not found")
        return account

    def _authed(self, headers: Any, account_index: object) -> SimAccount:
        token = str(headers.get("authorization") or headers.get("Authorization") or "")
        parts = token.split(":")
        if len(parts) != 4 or not all(parts):
            raise VenueRefusal(BAD_AUTH, "invalid auth token", status=400)
        try:
            expiry, acct, key = int(parts[0]), int(parts[1]), int(parts[2])
        except ValueError:
            raise VenueRefusal(BAD_AUTH, "invalid auth token") from None
        account = self.accounts.get(acct)
        if account is None or key not in account.api_keys:
            raise VenueRefusal(BAD_AUTH, "auth token: unknown api key")
        if expiry <= self.clock() or expiry > self.clock() + 8 * 3600:
            raise VenueRefusal(BAD_AUTH, "auth token expired")
        if account_index is not None and _int(account_index) != acct:
            raise VenueRefusal(BAD_AUTH, "auth token is for another account")
        return account

    def _account_row(self, value: object) -> dict[str, Any]:
        account = self._account(value)
        positions = []
        for mid, size in account.positions.items():
            m = self.market(mid)
            positions.append(
                {"market_id": mid, "symbol": m["symbol"], "sign": -1 if size < 0 else 1,
                 "position": f"{abs(size):.{m['size_decimals']}f}", "avg_entry_price": "0",
                 "open_order_count": len(account.live(mid))}
            )  # fmt: skip
        return {
            "code": 200, "index": account.index, "account_index": account.index,
            "collateral": str(account.collateral), "cancel_all_time": account.cancel_all_ms,
            "pending_order_count": len(account.live()), "positions": positions,
        }  # fmt: skip

    def _order_row(self, o: SimOrder) -> dict[str, Any]:
        m = self.market(o.market_index)
        sd, pd = m["size_decimals"], m["price_decimals"]
        base = self._sz(o.base, m)
        return {
            "order_index": o.order_index, "client_order_index": o.client_order_index,
            "order_id": str(o.order_index), "client_order_id": str(o.client_order_index),
            "market_index": o.market_index, "is_ask": o.is_ask, "type": o.type,
            "time_in_force": o.time_in_force, "reduce_only": o.reduce_only,
            "initial_base_amount": f"{base:.{sd}f}",
            "remaining_base_amount": f"{(base - o.filled_base if o.live else 0):.{sd}f}",
            "filled_base_amount": f"{o.filled_base:.{sd}f}",
            "filled_quote_amount": f"{o.filled_quote:.6f}",
            "price": f"{self._px(o.price, m):.{pd}f}", "status": o.status,
            "order_expiry": o.order_expiry, "nonce": o.nonce, "timestamp": o.created_ms // 1000,
        }  # fmt: skip

    # --- transactions ----------------------------------------------------------

    def _batch(self, form: Mapping[str, Any]) -> dict[str, Any]:
        try:
            types = json.loads(str(form.get("tx_types")))
            infos = json.loads(str(form.get("tx_infos")))
        except ValueError:
            raise VenueRefusal(BAD_PARAMS, "tx_types / tx_infos must be JSON lists") from None
        if not isinstance(types, list) or not isinstance(infos, list) or len(types) != len(infos):
            raise VenueRefusal(BAD_PARAMS, "tx_types and tx_infos must be lists of one length")
        if not 1 <= len(types) <= BATCH_LIMIT:
            raise VenueRefusal(BAD_PARAMS, f"1 to {BATCH_LIMIT} transactions per batch")
        hashes = []
        for i, (tx_type, info) in enumerate(zip(types, infos, strict=True)):
            try:
                hashes.append(self._apply(_int(tx_type), info)["tx_hash"])
            except VenueRefusal as exc:
                # Earlier transactions of the batch stand; this one and later ones did not run.
                raise VenueRefusal(exc.code, f"tx {i}: {exc.message}", exc.status) from None
        return {"code": 200, "tx_hash": hashes}

    def _apply(self, tx_type: int, raw: object) -> dict[str, Any]:
        try:
            info = json.loads(str(raw))
        except ValueError:
            raise VenueRefusal(BAD_PARAMS, "tx_info is not JSON") from None
        if not isinstance(info, dict):
            raise VenueRefusal(BAD_PARAMS, "tx_info is not an object")
        account = self._account(info.get("AccountIndex"))
        key = _int(info.get("ApiKeyIndex"))
        if key not in account.api_keys:
            raise VenueRefusal(BAD_API_KEY, "api key not found")
        if not isinstance(info.get("Sig"), str) or not info["Sig"]:
            raise VenueRefusal(21120, "invalid signature")
        now = self._now_ms()
        if _int(info.get("ExpiredAt")) <= now:
            raise VenueRefusal(TX_EXPIRED, "transaction expired")
        if info.get("Nonce") != account.nonces[key]:
            raise VenueRefusal(INVALID_NONCE, "invalid nonce")
        if tx_type != TX_CREATE:
            self._margin = {}
        if tx_type == TX_CREATE:
            self._create(account, info, now)
        elif tx_type == TX_CANCEL:
            self._cancel(account, info)
        elif tx_type == TX_CANCEL_ALL:
            self._cancel_all(account, info, now)
        else:
            raise VenueRefusal(BAD_PARAMS, f"tx type {tx_type} not simulated")
        account.nonces[key] += 1
        self.txs.append({"type": tx_type, **info})
        self._tx_seq += 1
        return {"tx_hash": f"{self._tx_seq:080x}", "predicted_execution_time_ms": now + 200}

    def _create(self, account: SimAccount, info: Mapping[str, Any], now: int) -> None:
        m = next((x for x in self.markets if x["market_id"] == info.get("MarketIndex")), None)
        if m is None or m.get("market_type") != "perp" or m.get("status") != "active":
            raise VenueRefusal(BAD_MARKET, "invalid market index")
        cid = _int(info.get("ClientOrderIndex"))
        if not 0 < cid <= MAX_CLIENT_ORDER_INDEX:
            raise VenueRefusal(INVALID_CLIENT_ORDER_INDEX, "invalid client order index")
        if account.used(cid):
            raise VenueRefusal(DUPLICATE_CLIENT_ORDER_INDEX, "client order index already exists")
        base, price = _int(info.get("BaseAmount")), _int(info.get("Price"))
        size, px, mark = self._sz(base, m), self._px(price, m), _d(m["mark_price"])
        if base <= 0 or size < _d(m["min_base_amount"]) or size * px < _d(m["min_quote_amount"]):
            raise VenueRefusal(BELOW_MIN_AMOUNT, "order below minimum base or quote amount")
        if price <= 0 or abs(px - mark) > mark * _d(self.accidental_band):
            raise VenueRefusal(ACCIDENTAL_PRICE, "accidental price")
        is_ask = bool(info.get("IsAsk"))
        band = mark * _d(self.marketable_band)
        if (px > mark + band) if not is_ask else (px < mark - band):
            raise VenueRefusal(PRICE_TOO_FAR, "price too far from the mark price")
        market_order = info.get("Type") == 1
        expiry, tif = _int(info.get("OrderExpiry")), info.get("TimeInForce")
        if market_order and (tif != 0 or expiry != 0):
            raise VenueRefusal(BAD_EXPIRY, "market orders are immediate-or-cancel, expiry 0")
        if not market_order and (info.get("Type") != 0 or tif not in (1, 2)):
            raise VenueRefusal(BAD_PARAMS, "only limit GTT / post-only and market IOC simulated")
        if not market_order and not now + MIN_EXPIRY_MS <= expiry <= now + MAX_EXPIRY_MS:
            raise VenueRefusal(BAD_EXPIRY, "order expiry must be 5 minutes to 30 days ahead")
        if len(account.live(m["market_id"])) >= MAX_PER_MARKET or (
            len(account.live()) >= MAX_PER_ACCOUNT
        ):
            raise VenueRefusal(TOO_MANY_PENDING, "too many pending orders")
        reduce_only = bool(info.get("ReduceOnly"))
        exposure = self._margin.get(account.index)
        if exposure is None:
            exposure = self._exposure(account)
        if not reduce_only and exposure + size * mark > account.collateral * _d(self.max_leverage):
            raise VenueRefusal(NOT_ENOUGH_MARGIN, "not enough margin")
        # The next create of this batch starts from here, unless anything else moves it.
        self._margin = {account.index: exposure + size * mark}
        order = SimOrder(
            order_index=next(self._order_seq), client_order_index=cid,
            market_index=m["market_id"], is_ask=is_ask, base=base, price=price,
            type="market" if market_order else "limit",
            time_in_force=TIF_NAMES[_int(tif)],
            reduce_only=reduce_only, order_expiry=expiry, nonce=_int(info.get("Nonce")),
            created_ms=now, status="in-progress" if market_order else "open",
            execute_at_ms=now + int(self.fill_delay * 1000),
        )  # fmt: skip
        account.orders.append(order)
        if not market_order and ((px >= mark) if not is_ask else (px <= mark)):
            self._margin = {}  # a fill moves positions: the next create sums again
            if tif == 2:
                order.status = "canceled-post-only"
            else:
                self._fill(account, order, size, mark)

    def _exposure(self, account: SimAccount) -> Decimal:
        """USD at the mark of positions plus live orders (for the margin check)."""
        resting: dict[int, int] = {}  # market -> base units of live orders (exact ints)
        for o in account.live():
            resting[o.market_index] = resting.get(o.market_index, 0) + o.base
        total = Decimal(0)
        for mid in account.positions.keys() | resting.keys():
            m = self.market(mid)
            size = abs(account.positions.get(mid, Decimal(0))) + self._sz(resting.get(mid, 0), m)
            total += size * _d(m["mark_price"])
        return total

    def _cancel(self, account: SimAccount, info: Mapping[str, Any]) -> None:
        for o in account.live(info.get("MarketIndex")):
            if o.order_index == info.get("Index"):
                o.status = "canceled"
                return
        raise VenueRefusal(ORDER_NOT_FOUND, "order not found")

    def _cancel_all(self, account: SimAccount, info: Mapping[str, Any], now: int) -> None:
        tif, at = info.get("TimeInForce"), _int(info.get("Time"))
        attrs_ = info.get("L2TxAttributes") or {}
        market = attrs_.get("5") if isinstance(attrs_, dict) else None
        if tif == 0:
            for o in account.live(market):
                o.status = "canceled"
        elif tif == 1:
            if market is not None or at <= now:
                raise VenueRefusal(
                    BAD_PARAMS, "scheduled cancel-all needs a future time, all markets"
                )
            account.cancel_all_ms = at
        elif tif == 2:
            account.cancel_all_ms = 0
        else:
            raise VenueRefusal(BAD_PARAMS, "bad cancel-all time in force")

    # --- time ------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def advance(self) -> None:
        """Run what is due (market executions, expiries, a scheduled cancel-all)."""
        with self._lock:
            self._advance()

    def _advance(self) -> None:
        now = self._now_ms()
        for account in self.accounts.values():
            if account.cancel_all_ms and account.cancel_all_ms <= now:
                account.cancel_all_ms = 0
                for o in account.live():
                    o.status = "canceled"
            for o in account.live():
                if o.type == "market" and o.execute_at_ms <= now:
                    self._execute(account, o)
                elif o.type == "limit" and o.order_expiry <= now:
                    o.status = "canceled-expired"

    def _execute(self, account: SimAccount, o: SimOrder) -> None:
        m = self.market(o.market_index)
        size = self._sz(o.base, m)
        mid = m["market_id"]
        available = self.liquidity.get(mid, size)
        fill = min(size, available)
        if fill <= 0:
            o.status = "canceled-not-enough-liquidity"
            return
        impact = self.slippage.get(mid, Decimal(0))
        avg = _d(m["mark_price"]) * (1 - impact if o.is_ask else 1 + impact)
        cap = self._px(o.price, m)
        if (avg < cap) if o.is_ask else (avg > cap):
            o.status = "canceled-too-much-slippage"
            return
        self.liquidity[mid] = available - fill if mid in self.liquidity else available
        self._fill(account, o, fill, avg)
        if fill < size:
            o.status = "canceled-not-enough-liquidity"

    def _fill(self, account: SimAccount, o: SimOrder, size: Decimal, price: Decimal) -> None:
        o.filled_base += size
        o.filled_quote += size * price
        o.status = (
            "filled" if o.filled_base >= self._sz(o.base, self.market(o.market_index)) else o.status
        )
        signed = -size if o.is_ask else size
        account.positions[o.market_index] = (
            account.positions.get(o.market_index, Decimal(0)) + signed
        )

    @staticmethod
    def _sz(n: int, m: Mapping[str, Any]) -> Decimal:
        return Decimal(n).scaleb(-int(m["size_decimals"]))

    @staticmethod
    def _px(n: int, m: Mapping[str, Any]) -> Decimal:
        return Decimal(n).scaleb(-int(m["price_decimals"]))


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise VenueRefusal(BAD_PARAMS, f"not an integer: {str(value)[:40]}") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m xlp_adapters.lighter.sim``: an offline venue for ``xlp run`` until Ctrl-C.

    It prints the base URL and a throwaway account whose key exists only in
    this simulator (not a secret of anyone's).
    """
    import argparse

    ap = argparse.ArgumentParser(description="Lighter venue simulator on 127.0.0.1")
    ap.add_argument("--rtt-ms", type=float, default=0.0)
    args = ap.parse_args(argv)
    sim = LighterSim()
    sim.rtt = args.rtt_ms / 1000
    url = sim.start()
    account, key = sim.new_account(1)
    print(f"lighter simulator at {url} (chain id 300); for xlp run:", flush=True)
    print(f"  lighter_base_url = {url!r}, lighter_chain_id = 300 in the config, and")
    print(f"  XLP_LIGHTER_ACCOUNT_INDEX={account} XLP_LIGHTER_API_KEY_INDEX=3")
    print(f"  XLP_LIGHTER_PRIVATE_KEY={key}  (a simulator-only key)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["LighterSim", "SimAccount", "SimOrder", "VenueRefusal", "mainnet_markets"]
