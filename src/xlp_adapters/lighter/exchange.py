"""``LighterExchange``: the Exchange port on ``lighter-sdk`` (pinned 1.1.8).

What it adds on top of the SDK, which validates nothing:

* markets (decimals, minimums) from one ``orderBookDetails`` call, cached
  with a TTL (listings and frozen markets change without a restart);
* prices for every symbol from that same call, positions for every symbol
  from one ``account`` call, open orders from one ``accountActiveOrders``;
* integer scaling with range checks (:mod:`.scaling`), ``1000BONK`` handled;
* orders signed with an explicit nonce that we manage: fetched once, advanced
  on success, re-fetched after *any* failed or ambiguous send (a raised
  send leaves the SDK's own counter drifted);
* HTTP 200 with ``code != 200`` is an error; 429 is :class:`RateLimitedError`;
  a timeout or 5xx on ``sendTx`` is :class:`OrderOutcomeUnknownError` (the
  order may be live: the core polls ``get_order`` by client order index).

Credentials stay inside the signer; nothing here logs or formats them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from xlp_adapters.lighter.credentials import LighterCredentials
from xlp_adapters.lighter.parse import (
    check_code,
    parse_markets,
    parse_orders,
    parse_positions,
    parse_prices,
)
from xlp_adapters.lighter.scaling import (
    VENUE_MIN_NOTIONAL,
    MarketSpec,
    base_amount,
    price_int,
)
from xlp_core.errors import (
    ExchangeError,
    InvalidInputError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitedError,
    TransientExchangeError,
)
from xlp_core.models import MarketRules, Order, OrderRequest, OrderStatus, OrderType, Side
from xlp_core.ports import ExchangeDefaults

T = TypeVar("T")

MAINNET_CHAIN_ID = 304
TESTNET_CHAIN_ID = 300
TX_CREATE_ORDER = 14
AUTH_TOKEN_TTL = 8 * 60.0  # the signer issues 10-minute tokens; renew early


def _map_api_error(exc: BaseException, what: str) -> ExchangeError:
    """SDK / aiohttp exceptions -> our hierarchy (message without request bodies)."""
    status = getattr(exc, "status", None)
    if status == 429:
        headers = getattr(exc, "headers", None) or {}
        retry = headers.get("Retry-After") if hasattr(headers, "get") else None
        try:
            retry_after = float(retry) if retry is not None else None
        except ValueError:
            retry_after = None
        return RateLimitedError(f"{what}: 429 rate limited", retry_after=retry_after)
    if isinstance(status, int) and status >= 500:
        return TransientExchangeError(f"{what}: HTTP {status}")
    if isinstance(status, int) and 400 <= status < 500:
        reason = getattr(exc, "body", None) or getattr(exc, "reason", "")
        return ExchangeError(f"{what}: HTTP {status}: {str(reason)[:200]}")
    return TransientExchangeError(f"{what}: {type(exc).__name__}: {str(exc)[:200]}")


class LighterExchange(ExchangeDefaults):
    """Build it with :meth:`connect` (the SDK needs a running event loop)."""

    request_weights: Mapping[str, int] = {
        # HTTP requests per port call, for the rate limiter (standard accounts
        # count requests, 60 a minute): markets are cached, a cancel first
        # lists the open orders, a send may need a nonce fetch.
        "markets": 0,
        "prices": 1,
        "positions": 1,
        "open_orders": 1,
        "get_order": 1,
        "place_order": 2,
        "cancel_order": 2,
        "cancel_all_orders": 2,
    }

    def __init__(
        self,
        credentials: LighterCredentials,
        *,
        base_url: str,
        chain_id: int,
        api: Any,
        signer: Any,
        request_timeout: float = 10.0,
        max_slippage: float = 0.01,
        market_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._creds = credentials
        self.base_url = base_url
        self.chain_id = chain_id
        self._api = api
        self._signer = signer
        self.request_timeout = request_timeout
        self.max_slippage = max_slippage
        self.market_ttl = market_ttl
        self._clock = clock
        self._specs: dict[str, MarketSpec] = {}
        self._specs_at = -float("inf")
        self._nonce: int | None = None
        self._send_lock = asyncio.Lock()
        self._markets_lock = asyncio.Lock()
        self._token: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"LighterExchange({self.base_url!r}, account_index={self._creds.account_index})"

    @classmethod
    async def connect(
        cls,
        credentials: LighterCredentials,
        *,
        base_url: str,
        chain_id: int,
        request_timeout: float = 10.0,
        max_slippage: float = 0.01,
        market_ttl: float = 300.0,
    ) -> LighterExchange:
        """Build the SDK clients (inside the running loop) and the adapter."""
        if chain_id not in (MAINNET_CHAIN_ID, TESTNET_CHAIN_ID):
            raise InvalidInputError(f"chain_id must be 304 (mainnet) or 300 (testnet): {chain_id}")
        lighter: Any = importlib.import_module("lighter")
        api_client = lighter.ApiClient(lighter.Configuration(host=base_url))
        api = _Api(api_client, lighter)
        try:
            signer = lighter.SignerClient(
                url=base_url,
                account_index=credentials.account_index,
                api_private_keys={credentials.api_key_index: credentials.key_hex},
                chain_id=chain_id,
            )
        except Exception as exc:
            await api_client.close()
            # The SDK's message can include key material lengths only; keep it short.
            raise InvalidInputError(
                f"lighter signer refused the API key: {type(exc).__name__}"
            ) from None
        return cls(
            credentials, base_url=base_url, chain_id=chain_id, api=api, signer=signer,
            request_timeout=request_timeout, max_slippage=max_slippage, market_ttl=market_ttl,
        )  # fmt: skip

    @property
    def name(self) -> str:
        return "lighter"

    # --- reads -------------------------------------------------------------------

    async def _read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await asyncio.wait_for(call(), self.request_timeout)
        except ExchangeError:
            raise
        except TimeoutError as exc:
            raise TransientExchangeError(f"{what}: timed out") from exc
        except Exception as exc:
            raise _map_api_error(exc, what) from exc

    async def _details(self) -> dict[str, Any]:
        return await self._read(
            "orderBookDetails",
            lambda: self._api.order_book_details(_request_timeout=self.request_timeout),
        )

    async def _market_specs(self, *, force: bool = False) -> dict[str, MarketSpec]:
        async with self._markets_lock:
            if force or self._clock() - self._specs_at >= self.market_ttl:
                self._specs = parse_markets(await self._details())
                self._specs_at = self._clock()
            return self._specs

    async def refresh_markets(self) -> None:
        await self._market_specs(force=True)

    async def _spec(self, symbol: str) -> MarketSpec:
        spec = (await self._market_specs()).get(symbol)
        if spec is None:
            raise OrderRejectedError(f"{symbol}: not listed on Lighter")
        return spec

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        specs = await self._market_specs()
        return {s: specs[s].rules() for s in symbols if s in specs}

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        specs = await self._market_specs()
        body = await self._details()
        prices = parse_prices(body, specs)
        return {s: prices[s] for s in symbols if s in prices}

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        specs = await self._market_specs()
        idx = self._creds.account_index
        body = await self._read(
            "account",
            lambda: self._api.account(
                by="index", value=str(idx), _request_timeout=self.request_timeout
            ),
        )
        pos = parse_positions(body, idx, specs)
        missing = [s for s in symbols if s not in specs]
        if missing:
            raise ExchangeError(f"positions: {missing} not listed on Lighter")
        return {s: pos[s] for s in symbols}

    async def _auth(self) -> str:
        now = self._clock()
        if self._token is not None and now < self._token[1]:
            return self._token[0]
        token, err = self._signer.create_auth_token_with_expiry(
            api_key_index=self._creds.api_key_index
        )
        if err is not None or not token:
            raise ExchangeError("could not create a Lighter auth token")
        self._token = (token, now + AUTH_TOKEN_TTL)
        return str(token)

    async def _active_orders(self) -> list[dict[str, Any]]:
        auth = await self._auth()
        idx = self._creds.account_index
        body = await self._read(
            "accountActiveOrders",
            lambda: self._api.account_active_orders(
                authorization=auth, account_index=idx, _request_timeout=self.request_timeout
            ),
        )
        check_code(body, "accountActiveOrders")
        return list(body.get("orders") or [])

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        specs = await self._market_specs()
        wanted = set(symbols)
        orders = parse_orders(await self._active_orders(), specs)
        return [o for o in orders if o.symbol in wanted and o.is_open]

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        specs = await self._market_specs()
        auth = await self._auth()
        idx = self._creds.account_index
        body = await self._read(
            "accountOrders",
            lambda: self._api.account_orders(
                authorization=auth, client_order_indexes=str(client_order_id),
                account_index=idx, _request_timeout=self.request_timeout,
            ),
        )  # fmt: skip
        check_code(body, "accountOrders")
        for order in parse_orders(body.get("orders") or [], specs):
            if order.client_order_id == client_order_id and order.symbol == symbol:
                return order
        return None

    # --- writes ------------------------------------------------------------------

    async def _next_nonce(self) -> int:
        if self._nonce is None:
            idx, key = self._creds.account_index, self._creds.api_key_index
            body = await self._read(
                "nextNonce",
                lambda: self._api.next_nonce(
                    account_index=idx, api_key_index=key, _request_timeout=self.request_timeout
                ),
            )
            check_code(body, "nextNonce")
            nonce = body.get("nonce")
            if isinstance(nonce, bool) or not isinstance(nonce, int):
                raise ExchangeError(f"nextNonce: bad nonce {nonce!r}")
            self._nonce = nonce
        return self._nonce

    async def _send(
        self, what: str, sign: Callable[[int], tuple[Any, ...]], cid: int | None
    ) -> None:
        """Sign with our nonce and send; the nonce is re-fetched after any failure."""
        async with self._send_lock:
            nonce = await self._next_nonce()
            signed = sign(nonce)
            tx_type, tx_info, err = signed[0], signed[1], signed[-1]
            if err is not None or tx_info is None:
                raise OrderRejectedError(f"{what}: signer refused: {str(err)[:200]}")
            try:
                body = await asyncio.wait_for(
                    self._api.send_tx(
                        tx_type=tx_type, tx_info=tx_info, _request_timeout=self.request_timeout
                    ),
                    self.request_timeout,
                )
            except Exception as exc:
                self._nonce = None
                mapped = _map_api_error(exc, what) if not isinstance(exc, TimeoutError) else None
                if isinstance(mapped, RateLimitedError):
                    raise mapped from exc
                status = getattr(exc, "status", None)
                if isinstance(status, int) and 400 <= status < 500:
                    raise OrderRejectedError(f"{what}: {mapped}") from exc
                raise OrderOutcomeUnknownError(
                    f"{what}: outcome unknown ({type(exc).__name__})", cid
                ) from exc
            code = body.get("code")
            if code != 200:
                self._nonce = None
                raise OrderRejectedError(f"{what}: venue code {code}: {body.get('message')}")
            self._nonce = nonce + 1

    async def place_order(self, request: OrderRequest) -> Order:
        spec = await self._spec(request.symbol)
        size = base_amount(request.size, spec)
        if request.order_type is OrderType.LIMIT:
            assert request.price is not None  # OrderRequest guarantees it
            ref_price = request.price
        else:
            mids = await self.prices([request.symbol])
            if request.symbol not in mids:
                raise OrderRejectedError(f"{request.symbol}: no price for a market order")
            mid = mids[request.symbol]
            ref_price = request.price or mid * (1 + request.side.sign * self.max_slippage)
        notional = request.size * ref_price
        floor = spec.rules().min_notional
        if notional < floor:
            raise OrderRejectedError(
                f"{request.symbol}: notional {notional:.2f} below venue minimum {floor:.2f}"
            )
        price = price_int(ref_price, spec, request.side)
        signer = self._signer
        is_ask = request.side is Side.SELL
        key = self._creds.api_key_index
        if request.order_type is OrderType.LIMIT:
            tif = (
                signer.ORDER_TIME_IN_FORCE_POST_ONLY
                if request.post_only
                else signer.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME
            )

            def sign(nonce: int) -> tuple[Any, ...]:
                return tuple(
                    signer.sign_create_order(
                        spec.market_id, request.client_order_id, size, price, is_ask,
                        signer.ORDER_TYPE_LIMIT, tif, request.reduce_only, 0, -1,
                        nonce=nonce, api_key_index=key,
                    )
                )  # fmt: skip

        else:

            def sign(nonce: int) -> tuple[Any, ...]:
                return tuple(
                    signer.sign_create_order(
                        spec.market_id, request.client_order_id, size, price, is_ask,
                        signer.ORDER_TYPE_MARKET, signer.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL,
                        request.reduce_only, 0, 0, nonce=nonce, api_key_index=key,
                    )
                )  # fmt: skip

        await self._send(f"place {request.symbol}", sign, request.client_order_id)
        return Order(
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            size=request.size,
            price=request.price,
            status=OrderStatus.OPEN,  # accepted, not executed: status comes from get_order
            reduce_only=request.reduce_only,
        )

    async def _cancel_venue_order(self, spec: MarketSpec, order_index: int) -> None:
        signer, key = self._signer, self._creds.api_key_index

        def sign(nonce: int) -> tuple[Any, ...]:
            return tuple(
                signer.sign_cancel_order(
                    spec.market_id, order_index, nonce=nonce, api_key_index=key
                )
            )

        await self._send(f"cancel {spec.symbol}", sign, None)

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        spec = await self._spec(symbol)
        for row in await self._active_orders():
            if row.get("client_order_index") == client_order_id and (
                row.get("market_index") == spec.market_id
            ):
                await self._cancel_venue_order(spec, int(row["order_index"]))
                return True
        return False

    async def cancel_all_orders(self, symbol: str) -> int:
        spec = await self._spec(symbol)
        rows = [r for r in await self._active_orders() if r.get("market_index") == spec.market_id]
        for row in rows:
            await self._cancel_venue_order(spec, int(row["order_index"]))
        return len(rows)

    async def close(self) -> None:
        await self._signer.close()
        await self._api.close()


class _Api:
    """The SDK's REST APIs behind one object, returning plain dicts."""

    def __init__(self, client: Any, lighter: Any) -> None:
        self._client = client
        self._order = lighter.OrderApi(client)
        self._account = lighter.AccountApi(client)
        self._tx = lighter.TransactionApi(client)

    async def order_book_details(self, **kw: Any) -> dict[str, Any]:
        return dict((await self._order.order_book_details(**kw)).to_dict())

    async def account(self, **kw: Any) -> dict[str, Any]:
        return dict((await self._account.account(**kw)).to_dict())

    async def account_active_orders(self, **kw: Any) -> dict[str, Any]:
        return dict((await self._order.account_active_orders(**kw)).to_dict())

    async def account_orders(self, **kw: Any) -> dict[str, Any]:
        return dict((await self._order.account_orders(**kw)).to_dict())

    async def next_nonce(self, **kw: Any) -> dict[str, Any]:
        return dict((await self._tx.next_nonce(**kw)).to_dict())

    async def send_tx(self, *, tx_type: int, tx_info: str, **kw: Any) -> dict[str, Any]:
        return dict((await self._tx.send_tx(tx_type=tx_type, tx_info=tx_info, **kw)).to_dict())

    async def close(self) -> None:
        await self._client.close()


def decode_tx_info(tx_info: str) -> dict[str, Any]:
    """For tests and debugging: the signed fields (never contains the key)."""
    return dict(json.loads(tx_info))


__all__ = ["VENUE_MIN_NOTIONAL", "LighterExchange", "decode_tx_info"]
