"""``LighterExchange``: the Exchange port on ``lighter-sdk`` (pinned 1.1.8).

What it adds on top of the SDK, which validates nothing:

* one ``orderBookDetails`` read gives markets and prices; it is shared for
  ``details_ttl`` seconds, so one cycle's ``prices``, ``markets`` and orders
  cost one request; a bad market row fails only its own symbol;
* positions from one ``account`` read, open orders from one
  ``accountActiveOrders`` (every market), orders by client index from
  ``accountOrders`` (20 a request);
* batched writes: ``place_orders``, ``cancel_orders`` and ``replace_orders``
  share one sender: signed under one hold of the nonce lock, in
  ``sendTxBatch`` requests of at most ``batch_size`` (50) transactions, each
  posted while the next is signed, all in flight at once (one round trip);
  a market is cancelled with one cancel-all transaction;
* every resting order carries an expiry, and ``arm_dead_man_switch`` keeps a
  venue-side scheduled cancel-all armed;
* nonces we manage: fetched once, advanced on success, re-fetched after any
  failure; the batches of a round refused "invalid nonce" (nothing of them
  ran) only because they raced ahead go again together, as signed (about
  one more round trip in all); any other batch refused so is re-signed at
  most ``NONCE_RETRIES`` (1) time;
* 21728 (client order index exists) is :class:`DuplicateOrderError`, other
  refusals :class:`OrderRejectedError`, 429 :class:`RateLimitedError`, a
  timeout or 5xx on a send :class:`OrderOutcomeUnknownError`.

Credentials stay inside the signer; nothing here logs or formats them.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
from typing_extensions import override

from xlp_adapters.lighter.batches import (
    NONCE_RETRIES,
    REPOST_SPACING,
    Batch,
    Held,
    NotSent,
    Prepared,
    Refused,
    Signed,
    Tx,
    Unknown,
    batches_by_market,
    invalid_nonce,
    no_sign,
    raced,
    ran_orders,
)
from xlp_adapters.lighter.credentials import LighterCredentials
from xlp_adapters.lighter.errors import (
    is_auth_error,
    map_read_error,
    map_refusal,
    venue_code,
)
from xlp_adapters.lighter.parse import (
    check_code,
    parse_markets,
    parse_orders,
    parse_positions,
    parse_prices,
)
from xlp_adapters.lighter.presign import Presigned
from xlp_adapters.lighter.scaling import VENUE_MIN_NOTIONAL, MarketSpec, base_amount, price_int
from xlp_adapters.lighter.signing import Signing
from xlp_core.config import HedgeConfig
from xlp_core.errors import (
    ConfigError,
    ExchangeError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    TransientExchangeError,
)
from xlp_core.models import MarketRules, Order, OrderRequest, OrderStatus, OrderType, Side
from xlp_core.ports import (
    CancelOutcome,
    ExchangeDefaults,
    PlaceOutcome,
    ReplaceOutcome,
    cancel_not_applied,
)

T = TypeVar("T")
log = logging.getLogger("xlp_adapters.lighter")

MAINNET_CHAIN_ID = 304
TESTNET_CHAIN_ID = 300
AUTH_TOKEN_TTL = 8 * 60.0  # the signer issues 10-minute tokens; renew early
# Transactions per sendTxBatch. No limit is documented for the REST endpoint
# (the SDK checks none; nautilus_trader's 15 is for its WebSocket transport):
# 50 lets one cycle of up to 50 symbols cancel in one request and place in
# one, and the simulator refuses more than 50. Lower it with ``batch_size``.
BATCH_SIZE = 50
SIGN_WORKERS = max(1, min(os.cpu_count() or 2, 8))  # signing threads: one per core
LOOKUP_SIZE = 20  # client order indexes per accountOrders request
MAX_ORDER_EXPIRY = 28 * 24 * 3600.0
MIN_ORDER_EXPIRY = 5 * 60.0 + 30.0  # the venue wants 5 minutes to 30 days ahead; margin for lag
DEFAULT_ORDER_EXPIRY = 15 * 60.0
MIN_CANCEL_ALL_AHEAD = 5 * 60.0 + 30.0  # a scheduled cancel-all: 5 minutes to 15 days ahead
MAX_CANCEL_ALL_AHEAD = 14 * 24 * 3600.0
ALREADY_SCHEDULED = 21712  # the venue keeps one scheduled cancel-all at a time
CANCEL_ALL_IMMEDIATE, CANCEL_ALL_SCHEDULED, CANCEL_ALL_ABORT = 0, 1, 2
ALL_MARKETS = 255


def default_order_expiry(config: HedgeConfig) -> float:
    """Seconds a resting order may live when the cycle left ``expires_at`` unset.

    ``order_timeout × order_expiry_multiple``, as the cycle itself uses: pass
    it to :meth:`LighterExchange.connect` as ``default_order_expiry``.
    """
    return config.order_timeout_minutes * 60.0 * config.order_expiry_multiple


def check_chain(base_url: str, chain_id: int) -> None:
    """A mainnet URL with the testnet chain id (or the reverse) signs for the wrong chain."""
    if chain_id not in (MAINNET_CHAIN_ID, TESTNET_CHAIN_ID):
        raise ConfigError("lighter_chain_id", f"must be 304 (mainnet) or 300 (testnet): {chain_id}")
    host = (urlsplit(base_url).hostname or "").lower()
    if "mainnet" in host and chain_id != MAINNET_CHAIN_ID:
        raise ConfigError("lighter_chain_id", f"{host} is mainnet: chain id must be 304")
    if "testnet" in host and chain_id != TESTNET_CHAIN_ID:
        raise ConfigError("lighter_chain_id", f"{host} is testnet: chain id must be 300")


class LighterExchange(ExchangeDefaults):
    """Build it with :meth:`connect` (the SDK needs a running event loop)."""

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
        details_ttl: float = 2.0,
        default_order_expiry: float = DEFAULT_ORDER_EXPIRY,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._creds = credentials
        self.base_url = base_url
        self.chain_id = chain_id
        self._api = api
        self._signer = signer
        self.request_timeout = request_timeout
        self.max_slippage = max_slippage
        self.market_ttl = market_ttl
        self.details_ttl = details_ttl
        self.default_order_expiry = min(
            max(default_order_expiry, MIN_ORDER_EXPIRY), MAX_ORDER_EXPIRY
        )
        self._switch_armed = False
        self.batch_size = max(1, batch_size)
        self._clock = clock
        self._wall = wall_clock
        self._specs: dict[str, MarketSpec] = {}
        self._bad_rows: dict[str, str] = {}
        self._specs_at = -float("inf")
        self._details_body: dict[str, Any] | None = None
        self._details_at = -float("inf")
        self._nonce: int | None = None
        self._send_lock = asyncio.Lock()
        self._sign_pool = ThreadPoolExecutor(SIGN_WORKERS, thread_name_prefix="lighter-sign")
        # One spare thread signs the next round's cancel-alls between cycles,
        # never queueing ahead of a round's own signatures.
        self._ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="lighter-presign")
        self._presigned = Presigned(clock)
        self._markets_lock = asyncio.Lock()
        self._token: tuple[str, float] | None = None
        self._open_counts: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"LighterExchange({self.base_url!r}, account_index={self._creds.account_index})"

    @classmethod
    async def connect(
        cls,
        credentials: LighterCredentials,
        *,
        base_url: str,
        chain_id: int,
        verify_key: bool = True,
        request_timeout: float = 10.0,
        max_slippage: float = 0.01,
        market_ttl: float = 300.0,
        details_ttl: float = 2.0,
        default_order_expiry: float = DEFAULT_ORDER_EXPIRY,
        batch_size: int = BATCH_SIZE,
    ) -> LighterExchange:
        """Build the SDK clients (inside the running loop), verify the key, return the adapter.

        A chain id that does not match the URL, or a key the venue does not
        know for this account and index, is a :class:`ConfigError` here,
        before any cycle runs.
        """
        check_chain(base_url, chain_id)
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
            raise ConfigError(
                "lighter_private_key", f"the signer refused the API key ({type(exc).__name__})"
            ) from None
        self = cls(
            credentials, base_url=base_url, chain_id=chain_id, api=api, signer=signer,
            request_timeout=request_timeout, max_slippage=max_slippage, market_ttl=market_ttl,
            details_ttl=details_ttl, default_order_expiry=default_order_expiry,
            batch_size=batch_size,
        )  # fmt: skip
        if verify_key:
            try:
                await self._verify_key()
            except BaseException:
                await self.close()
                raise
        return self

    async def _verify_key(self) -> None:
        # check_client makes blocking HTTP calls from Go: keep them off the loop.
        err = await asyncio.wait_for(
            asyncio.to_thread(self._signer.check_client), self.request_timeout
        )
        if err is None:
            return
        text = str(err)
        if "failed to get" in text.lower() or "dial tcp" in text.lower():
            raise TransientExchangeError(
                f"lighter: could not reach {self.base_url} to check the key"
            )
        c = self._creds
        raise ConfigError(
            "lighter_private_key",
            f"the venue does not know this key for account {c.account_index}, "
            f"api key index {c.api_key_index} (check_client refused it)",
        )

    @property
    def name(self) -> str:
        return "lighter"

    @property
    @override
    def request_weights(self) -> Mapping[str, int]:
        """HTTP requests per call in steady state (markets fresh, nonce known).

        Batched calls count per request: ``place_orders``, ``cancel_orders``
        and ``replace_orders`` 1 per ``batch_size`` (50) transactions, ``get_orders`` 1 per 20
        ids; a nonce is re-fetched (one more request) only after a failed send.
        """
        return {
            "markets": 1, "prices": 1, "positions": 1, "open_orders": 1,
            "get_order": 1, "get_orders": 1, "place_order": 1, "place_orders": 1,
            "cancel_order": 2, "cancel_all_orders": 1, "cancel_orders": 1,
            "replace_orders": 1, "arm_dead_man_switch": 1,
        }  # fmt: skip

    # --- reads -------------------------------------------------------------------

    async def _read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await asyncio.wait_for(call(), self.request_timeout)
        except ExchangeError:
            raise
        except TimeoutError as exc:
            raise TransientExchangeError(f"{what}: timed out") from exc
        except Exception as exc:
            raise map_read_error(exc, what) from exc

    async def _authed_read(self, what: str, call: Callable[[str], Awaitable[T]]) -> T:
        """An account read; after an auth error the token is dropped, re-made, tried once more."""
        try:
            return await asyncio.wait_for(call(self._auth()), self.request_timeout)
        except Exception as exc:
            if not is_auth_error(exc):
                if isinstance(exc, ExchangeError):
                    raise
                if isinstance(exc, TimeoutError):
                    raise TransientExchangeError(f"{what}: timed out") from exc
                raise map_read_error(exc, what) from exc
            log.warning("%s: auth token refused; making a new one", what)
            self._token = None
        return await self._read(what, lambda: call(self._auth()))

    async def _details(self) -> dict[str, Any]:
        """``orderBookDetails``, shared for ``details_ttl`` seconds (one read per cycle)."""
        async with self._markets_lock:
            if self._details_body is None or self._clock() - self._details_at >= self.details_ttl:
                body = await self._read(
                    "orderBookDetails",
                    lambda: self._api.order_book_details(_request_timeout=self.request_timeout),
                )
                self._details_body, self._details_at = body, self._clock()
                self._parse_specs(body)
            return self._details_body

    def _parse_specs(self, body: Mapping[str, Any]) -> None:
        bad: dict[str, str] = {}
        self._specs = parse_markets(body, bad)
        self._specs_at = self._clock()
        for symbol, reason in bad.items():
            if self._bad_rows.get(symbol) != reason:
                log.warning("lighter market %s skipped: %s", symbol, reason)
        self._bad_rows = bad

    async def _market_specs(self, *, force: bool = False) -> dict[str, MarketSpec]:
        if force or self._clock() - self._specs_at >= self.market_ttl:
            self._details_body = None
            await self._details()
        return self._specs

    async def refresh_markets(self) -> None:
        await self._market_specs(force=True)

    def _unlisted(self, symbol: str) -> str:
        reason = self._bad_rows.get(symbol)
        return f"{symbol}: market row unusable: {reason}" if reason else f"{symbol}: not listed"

    async def _spec(self, symbol: str) -> MarketSpec:
        spec = (await self._market_specs()).get(symbol)
        if spec is None:
            raise OrderRejectedError(self._unlisted(symbol))
        return spec

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        await self._details()
        return {s: self._specs[s].rules() for s in symbols if s in self._specs}

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        body = await self._details()
        prices = parse_prices(body, self._specs)
        return {s: prices[s] for s in symbols if s in prices}

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        """Signed positions; a symbol whose market row is unusable is absent (never 0).

        The cycle then reports that symbol missing and hedges the others.
        """
        specs = await self._market_specs()
        idx = self._creds.account_index
        body = await self._read(
            "account",
            lambda: self._api.account(
                by="index", value=str(idx), _request_timeout=self.request_timeout
            ),
        )
        pos = parse_positions(body, idx, specs)
        return {s: pos[s] for s in symbols if s in specs}

    def _auth(self) -> str:
        now = self._clock()
        if self._token is not None and now < self._token[1]:
            return self._token[0]
        token, err = self._signer.create_auth_token_with_expiry(
            api_key_index=self._creds.api_key_index
        )
        if err is not None or not token:
            raise ExchangeError("could not create a Lighter auth token")
        self._token = (str(token), now + AUTH_TOKEN_TTL)
        return str(token)

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        """One read for every market; ``()`` means all of them."""
        specs = await self._market_specs()
        idx = self._creds.account_index
        body = await self._authed_read(
            "accountActiveOrders",
            lambda auth: self._api.account_active_orders(
                authorization=auth, account_index=idx, _request_timeout=self.request_timeout
            ),
        )
        check_code(body, "accountActiveOrders")
        orders = [o for o in parse_orders(body.get("orders") or [], specs) if o.is_open]
        self._open_counts = {}
        for o in orders:
            self._open_counts[o.symbol] = self._open_counts.get(o.symbol, 0) + 1
        wanted = set(symbols)
        return [o for o in orders if not wanted or o.symbol in wanted]

    async def _lookup(self, cids: Sequence[int]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        idx = self._creds.account_index
        for i in range(0, len(cids), LOOKUP_SIZE):
            chunk = ",".join(str(c) for c in cids[i : i + LOOKUP_SIZE])
            body = await self._authed_read(
                "accountOrders",
                lambda auth, chunk=chunk: self._api.account_orders(  # type: ignore[misc]
                    authorization=auth, client_order_indexes=chunk, account_index=idx,
                    _request_timeout=self.request_timeout,
                ),
            )  # fmt: skip
            check_code(body, "accountOrders")
            rows.extend(body.get("orders") or [])
        return rows

    @override
    async def get_orders(self, keys: Sequence[tuple[str, int]]) -> Mapping[int, Order]:
        if not keys:
            return {}
        specs = await self._market_specs()
        wanted = dict((cid, symbol) for symbol, cid in keys)
        found: dict[int, Order] = {}
        for order in parse_orders(await self._lookup(list(wanted)), specs):
            if wanted.get(order.client_order_id) == order.symbol:
                found[order.client_order_id] = order
        return found

    @override
    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        return (await self.get_orders([(symbol, client_order_id)])).get(client_order_id)

    # --- nonces and sends --------------------------------------------------------

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

    def _signing(self, signers: Sequence[Callable[[int], tuple[Any, ...]]], first: int) -> Signing:
        """Queue a batch's signatures at consecutive nonces (caller holds the nonce lock).

        Signing runs on the exchange's own small thread pool, never on the
        event loop's thread: the Go signer releases the GIL, and measured here
        one signature took about 5 ms on the loop's thread against under 1 ms
        on a worker (``benchmarks/lighter_cycle.py`` prints both), and a pool
        of one worker per core signs a batch fastest; a cancel-all signed
        ahead (:mod:`~xlp_adapters.lighter.presign`) is taken instead. Every
        result is checked to carry its nonce (:func:`~xlp_adapters.lighter.signing.checked`).
        """
        return Signing(self._sign_pool, SIGN_WORKERS, signers, first, self._take_ahead)

    def _take_ahead(
        self, sign: Callable[[int], tuple[Any, ...]], nonce: int
    ) -> Future[tuple[Any, ...]] | None:
        if isinstance(sign, _CancelAll) and sign.tif == CANCEL_ALL_IMMEDIATE:
            return self._presigned.take(sign.market, nonce)
        return None

    async def _sign_all(
        self, signers: Sequence[Callable[[int], tuple[Any, ...]]], first: int
    ) -> list[Signed]:
        """Sign with consecutive nonces now and wait (caller holds the nonce lock)."""
        return await self._signing(signers, first).result()

    async def _post(self, txs: Sequence[Signed]) -> None:
        """One ``sendTx`` (one tx) or ``sendTxBatch``; raises the SDK's exception as is."""
        if len(txs) == 1:
            call = self._api.send_tx(
                tx_type=txs[0][0], tx_info=txs[0][1], _request_timeout=self.request_timeout
            )
        else:
            call = self._api.send_tx_batch(
                tx_types=json.dumps([t for t, _ in txs]),
                tx_infos=json.dumps([i for _, i in txs]),
                _request_timeout=self.request_timeout,
            )
        body = await asyncio.wait_for(call, self.request_timeout)
        code = body.get("code")
        if code != 200:
            raise Refused(code if isinstance(code, int) else None, str(body.get("message"))[:200])

    async def _post_fresh(
        self, what: str, signers: Sequence[Callable[[int], tuple[Any, ...]]]
    ) -> Exception | None:
        """Sign at the next nonce and post once (caller holds the nonce lock); the error or None.

        Only for txs known not to have run (never sent, or refused): a fresh
        nonce on a tx that may have run could run it twice.
        """
        try:
            first = await self._next_nonce()
            txs = await self._sign_all(signers, first)
        except (ExchangeError, Refused, Unknown) as exc:  # nothing was sent
            return exc
        err = await self._post_checked(what, txs)
        self._nonce = first + len(txs) if err is None else None
        return err

    async def _send(self, what: str, signers: Sequence[Callable[[int], tuple[Any, ...]]]) -> None:
        """One batch on its own through the one sender (caller holds the lock); raise its error.

        The error is raised as it came: a refusal as :class:`Refused` (after
        "invalid nonce" only once :data:`NONCE_RETRIES` is spent), 429 as
        :class:`RateLimitedError`, a timeout, 5xx or dropped connection as
        :class:`Unknown` (maybe sent); the nonce is re-fetched on the next send.
        """
        (batch,) = await self._send_round([[Tx(what, s) for s in signers]], [what], set())
        if batch.error is not None:
            raise batch.error

    async def _post_checked(self, what: str, txs: Sequence[Signed]) -> Exception | None:
        """Post; a failure comes back as ``Refused``, ``RateLimitedError`` or ``Unknown``."""
        try:
            await self._post(txs)
        except Refused as exc:
            return exc
        except Exception as exc:
            status = getattr(exc, "status", None)
            if status == 429:
                return map_read_error(exc, what)
            if isinstance(status, int) and 400 <= status < 500:
                return Refused(*venue_code(exc))
            unknown = Unknown(what, f"outcome unknown ({type(exc).__name__})")
            unknown.__cause__ = exc
            return unknown
        return None

    async def _send_round(
        self, chunks: Sequence[Sequence[Tx]], whats: Sequence[str], targets: set[str]
    ) -> list[Batch]:
        """Send the batches (caller holds the nonce lock); each as it finally went, with its error.

        The one sender of every write (``place_orders``, ``cancel_orders``,
        ``replace_orders``; single sends through :meth:`_send`). All batches
        are posted before any answer is awaited (:meth:`_post_chunks`); the
        batches that only raced ahead are posted again together
        (:meth:`_repost_raced`); then, in nonce order, a batch refused
        "invalid nonce" or not sent is re-signed with a fresh nonce (at most
        :data:`NONCE_RETRIES` (1) time after "invalid nonce", a batch not sent
        once more than that), without the orders of a market in ``targets``
        whose cancel-all is not known to have run (those come back as a batch
        of :class:`Held`).
        """
        try:
            first = await self._next_nonce()
        except ExchangeError as exc:  # nothing was sent
            return [Batch(w, c, exc) for w, c in zip(whats, chunks, strict=True)]
        starts = list(itertools.accumulate((len(c) for c in chunks), initial=first))
        errors, signed = await self._post_chunks(chunks, whats, starts)
        self._nonce = None if any(errors) else starts[-1]
        await self._repost_raced(errors, signed, whats)
        out: list[Batch] = []
        ran: set[str] = set()  # markets whose cancel-all is known to have run
        in_step = True  # every batch so far ran at the nonces it was signed with
        for k, (chunk, what) in enumerate(zip(chunks, whats, strict=True)):
            err = errors[k]
            retries = NONCE_RETRIES + isinstance(err, NotSent)  # re-signings it may get
            while retries and (isinstance(err, NotSent) or invalid_nonce(err)):
                log.warning("%s: not run (invalid nonce or not sent); re-signing", what)
                in_step, retries = False, retries - 1
                chunk, err = await self._resend(what, chunk, targets, ran, out)
            out.append(Batch(what, chunk, err))
            in_step = in_step and err is None
            if err is None:
                ran.update(t.symbol for t in chunk if t.index is None)
        if in_step:
            self._nonce = starts[-1]
        return out

    async def _repost_raced(
        self,
        errors: list[Exception | None],
        signed: Sequence[Sequence[Signed]],
        whats: Sequence[str],
    ) -> None:
        """Post again exactly as signed, all together, the batches that only raced ahead.

        They are the run refused "invalid nonce" right after the leading
        batches that all ran (:func:`raced`): their nonces are the next ones
        in order, so they go out in nonce order without waiting for any
        answer, as the first round does, each :data:`REPOST_SPACING` after
        the one before (posts sent at one instant reach the venue in any
        order). A signed tx runs only at its own nonce, so it never runs
        twice. Each round settles at least its first batch, whose nonce is
        the next one: it runs, or its error ends the run. Those that raced
        again go once more, so this ends after at most one round per batch,
        usually one. A first refused "invalid nonce" again met a stale nonce,
        not a race: it is left to be re-signed. Updates ``errors`` in place.
        """
        while group := raced(errors):
            log.warning(
                "%s: raced ahead of the batch before; posting again as signed",
                "; ".join(whats[k] for k in group),
            )
            posts: list[asyncio.Future[Exception | None]] = []
            for k in group:
                if posts:
                    await asyncio.sleep(REPOST_SPACING)
                posts.append(asyncio.ensure_future(self._post_checked(whats[k], signed[k])))
            results = await asyncio.gather(*posts)
            for k, err in zip(group, results, strict=True):
                errors[k] = err
            if invalid_nonce(results[0]):
                return

    async def _post_chunks(
        self, chunks: Sequence[Sequence[Tx]], whats: Sequence[str], starts: Sequence[int]
    ) -> tuple[list[Exception | None], list[list[Signed]]]:
        """Post each batch as soon as it is signed (later ones sign meanwhile); await all.

        The batches are independent (:func:`batches_by_market`), so one round
        trip carries them all; one that arrives before its predecessor is
        refused with "invalid nonce" without running and sent again by the
        caller. A batch continuing a market from an earlier batch is posted
        only once the earlier ones answered without error (otherwise it is
        left ``NotSent``), so it can never run ahead of its cancel-all.
        ``starts[k]`` is batch k's first nonce.
        """
        home = {t.symbol: k for k, c in enumerate(chunks) for t in c if t.index is None}
        posts: list[asyncio.Future[Exception | None]] = []
        errors: list[Exception | None] = []
        signed: list[list[Signed]] = []
        # Every batch is queued for signing at once, in nonce order: the workers
        # sign batch k+1 while batch k is posted, and never wait for the loop.
        signing = [
            self._signing([t.sign for t in c], s) for c, s in zip(chunks, starts[:-1], strict=True)
        ]
        for k, chunk in enumerate(chunks):
            try:
                part = await signing[k].result()
            except (ExchangeError, Refused, Unknown) as exc:  # this batch not sent
                errors = [exc]
                break
            signed.append(part)
            continues = any(t.index is not None and home.get(t.symbol, k) < k for t in chunk)
            if continues and any(await asyncio.gather(*posts)):
                break
            posts.append(asyncio.ensure_future(self._post_checked(whats[k], part)))
        for left in signing[len(signed) :]:
            left.cancel()  # batches that will not be posted
        done: list[Exception | None] = list(await asyncio.gather(*posts))
        done += errors
        return done + [NotSent()] * (len(chunks) - len(done)), signed

    async def _resend(
        self,
        what: str,
        chunk: Sequence[Tx],
        targets: set[str],
        ran: set[str],
        out: list[Batch],
    ) -> tuple[list[Tx], Exception | None]:
        """Re-sign and post a batch that did not run, without orders whose cancel-all did not."""
        cancelled = ran | {t.symbol for t in chunk if t.index is None}
        keep = [
            t for t in chunk
            if t.index is None or t.symbol not in targets or t.symbol in cancelled
        ]  # fmt: skip
        if len(keep) < len(chunk):
            out.append(Batch(what, [t for t in chunk if t not in keep], Held()))
        if not keep:
            return keep, None
        return keep, await self._post_fresh(what, [t.sign for t in keep])

    # --- outcomes: one mapping from batch errors to per-order results --------------

    async def _outcomes(
        self, batches: Sequence[Batch]
    ) -> tuple[dict[int, PlaceOutcome], dict[str, ExchangeError | None]]:
        """Each order's outcome (by request index) and each cancel-all's error (by symbol).

        A refused batch stood up to the refused tx. A one-tx batch's refusal is
        that tx's own, so it is not looked up; the orders of the longer refused
        batches are looked up in one ``get_orders``: a found order ran, and so
        did every tx before it in its batch (nonces run in order), so a
        cancel-all counts as run only when an order after it was found.
        """
        looked = {id(b) for b in batches if isinstance(b.error, Refused) and len(b.txs) > 1}
        keys = [
            (t.symbol, t.prepared.request.client_order_id)
            for b in batches if id(b) in looked for t in b.txs if t.prepared
        ]  # fmt: skip
        found: Mapping[int, Order] = {}
        lookup_error: ExchangeError | None = None
        if keys:
            try:
                found = await self.get_orders(keys)
            except ExchangeError as exc:
                lookup_error = exc
        places: dict[int, PlaceOutcome] = {}
        cancels: dict[str, ExchangeError | None] = {}
        for b in batches:
            later_found = False
            for t in reversed(b.txs):
                if t.prepared is None or t.index is None:
                    cancels[t.symbol] = self._cancel_error(t.symbol, b.error, later_found)
                    continue
                r = t.prepared.request
                order = found.get(r.client_order_id) if id(b) in looked else None
                if order is not None:
                    later_found = True
                    places[t.index] = PlaceOutcome(r, order=order)
                else:
                    unsure = lookup_error if id(b) in looked else None
                    places[t.index] = self._order_outcome(r, b.error, unsure)
        return places, cancels

    def _order_outcome(
        self, r: OrderRequest, err: Exception | None, lookup_error: ExchangeError | None
    ) -> PlaceOutcome:
        """An order's outcome from its batch's error; the client order id kept in every error."""
        what, cid = f"place {r.symbol}", r.client_order_id
        if err is None:
            return PlaceOutcome(r, order=self._accepted(r))
        if isinstance(err, Held):
            return cancel_not_applied(r)
        if isinstance(err, Refused):
            if lookup_error is not None:
                msg = f"{what}: batch refused ({err.code}), look-up failed: {lookup_error}"
                return PlaceOutcome(r, error=OrderOutcomeUnknownError(msg, cid))
            return PlaceOutcome(r, error=map_refusal(err.code, err.message, what, cid))
        if isinstance(err, Unknown):
            said = f"{what}: {err.detail}" if err.what == what else f"{what}: {err}"
            return PlaceOutcome(r, error=OrderOutcomeUnknownError(said, cid))
        # 429, a nonce fetch or a signer failure: nothing was sent.
        exc = err if isinstance(err, ExchangeError) else ExchangeError(str(err))
        return PlaceOutcome(r, error=exc)

    # --- orders ------------------------------------------------------------------

    def _expiry_ms(self, request: OrderRequest) -> int:
        now = self._wall()
        if request.order_type is OrderType.MARKET:
            return 0
        if request.expires_at is not None:
            at = request.expires_at.timestamp()
            if at <= now:
                raise OrderRejectedError(f"{request.symbol}: expires_at is in the past")
            # The venue refuses expiries under 5 minutes ahead: lift those to the floor.
            at = min(max(at, now + MIN_ORDER_EXPIRY), now + MAX_ORDER_EXPIRY)
        else:
            at = now + self.default_order_expiry
        return int(at * 1000)

    async def _prepare(self, request: OrderRequest) -> Prepared:
        """Scale and check an order locally; market orders price off the shared details read."""
        spec = await self._spec(request.symbol)
        size = base_amount(request.size, spec)
        if request.order_type is OrderType.LIMIT:
            assert request.price is not None  # OrderRequest guarantees it
            ref_price = request.price
        elif request.price is not None:
            ref_price = request.price
        else:
            mids = parse_prices(await self._details(), self._specs)
            if request.symbol not in mids:
                raise OrderRejectedError(f"{request.symbol}: no price for a market order")
            ref_price = mids[request.symbol] * (1 + request.side.sign * self.max_slippage)
        notional = request.size * ref_price
        floor = spec.rules().min_notional
        if notional < floor:
            raise OrderRejectedError(
                f"{request.symbol}: notional {notional:.2f} below venue minimum {floor:.2f}"
            )
        price = price_int(ref_price, spec, request.side)
        return Prepared(request, spec, size, price, self._expiry_ms(request))

    def _order_signer(self, p: Prepared) -> Callable[[int], tuple[Any, ...]]:
        signer, key, r = self._signer, self._creds.api_key_index, p.request
        if r.order_type is OrderType.LIMIT:
            kind = signer.ORDER_TYPE_LIMIT
            tif = (
                signer.ORDER_TIME_IN_FORCE_POST_ONLY
                if r.post_only
                else signer.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME
            )
        else:
            kind, tif = signer.ORDER_TYPE_MARKET, signer.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL

        def sign(nonce: int) -> tuple[Any, ...]:
            return tuple(
                signer.sign_create_order(
                    p.spec.market_id, r.client_order_id, p.size, p.price, r.side is Side.SELL,
                    kind, tif, r.reduce_only, 0, p.expiry_ms, nonce=nonce, api_key_index=key,
                )
            )  # fmt: skip

        return sign

    @staticmethod
    def _accepted(request: OrderRequest) -> Order:
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

    @override
    async def place_order(self, request: OrderRequest) -> Order:
        (outcome,) = await self._place([request], sign_ahead=False)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.order is not None  # PlaceOutcome holds exactly one of the two
        return outcome.order

    @override
    async def place_orders(self, requests: Sequence[OrderRequest]) -> Sequence[PlaceOutcome]:
        """Batches of ``batch_size`` (50) in ``sendTxBatch``, all in flight together, one lock hold.

        A refused batch stops at the refused transaction (earlier ones stand),
        so the orders of a refused batch of several are looked up once: found
        ones are reported as placed, the rest as refused with the venue's
        reason (see :meth:`_outcomes`).
        """
        return await self._place(requests, sign_ahead=True)

    async def _place(
        self, requests: Sequence[OrderRequest], *, sign_ahead: bool
    ) -> list[PlaceOutcome]:
        """Orders in request order, through the one sender (:meth:`_send_round`)."""
        outcomes: dict[int, PlaceOutcome] = {}
        txs: list[Tx] = []
        for i, request in enumerate(requests):
            try:
                prepared = await self._prepare(request)
            except ExchangeError as exc:
                outcomes[i] = PlaceOutcome(request, error=exc)
            else:
                txs.append(Tx(request.symbol, self._order_signer(prepared), i, prepared))
        chunks = self._chunks(txs)
        if chunks:
            whats = ["place " + ",".join(t.symbol for t in c) for c in chunks]
            async with self._send_lock:
                batches = await self._send_round(chunks, whats, set())
                if sign_ahead:
                    self._sign_ahead(ran_orders(batches))
            outcomes.update((await self._outcomes(batches))[0])
        return [outcomes[i] for i in range(len(requests))]

    # --- cancels -----------------------------------------------------------------

    def _chunks(self, txs: Sequence[Tx]) -> list[Sequence[Tx]]:
        """Batches of ``batch_size`` in order (txs that need no market kept together)."""
        size = self.batch_size
        return [txs[start : start + size] for start in range(0, len(txs), size)]

    def _cancel_all_signer(self, time_in_force: int, at_ms: int, market: int) -> _CancelAll:
        return _CancelAll(self._signer, self._creds.api_key_index, time_in_force, at_ms, market)

    async def _send_or_raise(
        self, what: str, signers: Sequence[Callable[[int], tuple[Any, ...]]]
    ) -> None:
        try:
            await self._send(what, signers)
        except (Refused, Unknown) as exc:
            raise _port_error(what, exc) from exc

    @override
    async def cancel_orders(self, symbols: Sequence[str]) -> Mapping[str, int]:
        """One cancel-all transaction per market, through the one sender, under one lock hold.

        Nothing is read first, so the counts are those of the last
        :meth:`open_orders` read (0 when unknown). The first failed batch's
        error is raised.
        """
        specs = await self._market_specs()
        targets = [s for s in dict.fromkeys(symbols) if s in specs]
        for s in symbols:
            if s not in specs:
                log.warning("cancel %s: %s", s, self._unlisted(s))
        txs = [
            Tx(s, self._cancel_all_signer(CANCEL_ALL_IMMEDIATE, 0, specs[s].market_id))
            for s in targets
        ]
        chunks = self._chunks(txs)
        if chunks:
            whats = ["cancel " + ",".join(t.symbol for t in c) for c in chunks]
            async with self._send_lock:
                batches = await self._send_round(chunks, whats, set())
            for b in batches:
                if b.error is not None:
                    raise _port_error(b.what, b.error)
        return {s: self._open_counts.pop(s, 0) if s in targets else 0 for s in symbols}

    # --- replace: cancel-alls and orders in one nonce-ordered round ---------------

    @override
    async def replace_orders(
        self, cancel_symbols: Sequence[str], requests: Sequence[OrderRequest]
    ) -> ReplaceOutcome:
        """Each market's cancel-all, then its orders, in nonce order, in one round trip.

        The transactions are cut into ``sendTxBatch`` batches of at most
        ``batch_size`` that keep each market's cancel-all and orders together
        (cancel-alls first within a batch), signed with consecutive nonces
        under one hold of the nonce lock, and each posted as soon as it is
        signed. The venue runs a key's nonces strictly in order and a refused
        tx consumes none, so no order can execute unless every tx before it
        (its market's cancel-all included) ran; a batch refused with "invalid
        nonce" is sent again only without the orders whose cancel-all did not
        run. See docs/adapters.md (Lighter).
        """
        specs = await self._market_specs()
        symbols = list(dict.fromkeys(cancel_symbols))
        for s in symbols:
            if s not in specs:
                log.warning("cancel %s: %s", s, self._unlisted(s))
        targets = [s for s in symbols if s in specs]
        places: dict[int, PlaceOutcome] = {}
        txs: list[Tx] = [
            Tx(s, self._cancel_all_signer(CANCEL_ALL_IMMEDIATE, 0, specs[s].market_id))
            for s in targets
        ]
        for i, request in enumerate(requests):
            try:
                prepared = await self._prepare(request)
            except ExchangeError as exc:
                places[i] = PlaceOutcome(request, error=exc)
            else:
                txs.append(Tx(request.symbol, self._order_signer(prepared), i, prepared))
        chunks = batches_by_market(txs, self.batch_size)
        cancels = {s: CancelOutcome(s) for s in symbols}
        if chunks:
            whats = ["replace " + ",".join(dict.fromkeys(t.symbol for t in c)) for c in chunks]
            async with self._send_lock:
                batches = await self._send_round(chunks, whats, set(targets))
                self._sign_ahead(ran_orders(batches))
            placed, cancel_errors = await self._outcomes(batches)
            places.update(placed)
            for s, error in cancel_errors.items():
                count = 0 if error is not None else self._open_counts.pop(s, 0)
                cancels[s] = CancelOutcome(s, count, error)
        return ReplaceOutcome(
            cancels=cancels, places=tuple(places[i] for i in range(len(requests)))
        )

    def _sign_ahead(self, placed: Sequence[Prepared]) -> None:
        """Start signing the cancel-alls the next round will most likely open with.

        They are the markets of the limit orders among ``placed`` (what a
        round just placed), in that order, at the nonces the next round gives them if it
        cancels each and places one order each, after the dead-man switch's
        renewal (two txs) when one is armed (:mod:`xlp_adapters.lighter.presign`).
        """
        resting = [p.spec.market_id for p in placed if p.request.order_type is OrderType.LIMIT]
        if self._nonce is None or not resting:
            self._presigned.clear()
            return
        markets = list(dict.fromkeys(resting))
        guess = [Tx(str(m), no_sign) for m in markets]
        guess += [Tx(str(m), no_sign, 0) for m in markets]
        plan, nonce = [], self._nonce + (2 if self._switch_armed else 0)
        for chunk in batches_by_market(guess, self.batch_size):
            for t in chunk:
                if t.index is None:
                    plan.append((int(t.symbol), nonce))
                nonce += 1

        def sign(market: int, nonce: int) -> tuple[Any, ...]:
            return self._cancel_all_signer(CANCEL_ALL_IMMEDIATE, 0, market)(nonce)

        self._presigned.start(self._ahead_pool, sign, plan)

    def _cancel_error(self, symbol: str, err: Exception | None, ran: bool) -> ExchangeError | None:
        if err is None or ran:
            return None
        what = f"cancel {symbol}"
        if isinstance(err, Held):
            return OrderRejectedError(f"{what}: not sent")
        if isinstance(err, Refused):
            return _rejected(what, err)
        if isinstance(err, Unknown):
            return TransientExchangeError(f"{what}: {err}")
        return err if isinstance(err, ExchangeError) else ExchangeError(f"{what}: {err}")

    @override
    async def cancel_all_orders(self, symbol: str) -> int:
        return (await self.cancel_orders([symbol]))[symbol]

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        spec = await self._spec(symbol)
        rows = await self._lookup([client_order_id])
        live = [
            r for r in rows
            if r.get("client_order_index") == client_order_id
            and r.get("market_index") == spec.market_id
            and r.get("status") in ("open", "pending", "in-progress")
        ]  # fmt: skip
        if not live:
            return False
        signer, key, index = self._signer, self._creds.api_key_index, int(live[0]["order_index"])

        def sign(nonce: int) -> tuple[Any, ...]:
            return tuple(
                signer.sign_cancel_order(spec.market_id, index, nonce=nonce, api_key_index=key)
            )

        async with self._send_lock:
            await self._send_or_raise(f"cancel {symbol}", [sign])
        return True

    @override
    async def arm_dead_man_switch(self, at: datetime | None) -> bool:
        """Venue-side scheduled cancel-all of every market at ``at``; ``None`` aborts it.

        The venue keeps one schedule at a time (21712 while one is queued) and
        wants it 5 minutes to 15 days ahead: a renewal is an abort plus a new
        schedule in one batch, and ``at`` is moved into that window.
        """
        abort = self._cancel_all_signer(CANCEL_ALL_ABORT, 0, ALL_MARKETS)
        if at is None:
            async with self._send_lock:
                await self._send_or_raise("dead-man switch", [abort])
                self._switch_armed = False
            return True
        now = self._wall()
        when = min(max(at.timestamp(), now + MIN_CANCEL_ALL_AHEAD), now + MAX_CANCEL_ALL_AHEAD)
        schedule = self._cancel_all_signer(CANCEL_ALL_SCHEDULED, int(when * 1000), ALL_MARKETS)
        async with self._send_lock:
            if self._switch_armed:
                await self._send_or_raise("dead-man switch", [abort, schedule])
                return True
            try:
                await self._send("dead-man switch", [schedule])
            except Refused as exc:
                if exc.code != ALREADY_SCHEDULED:
                    raise _port_error("dead-man switch", exc) from exc
                # An earlier process left one queued: replace it.
                await self._send_or_raise("dead-man switch", [abort, schedule])
            except Unknown as exc:
                raise _port_error("dead-man switch", exc) from exc
            self._switch_armed = True
        return True

    async def close(self) -> None:
        self._presigned.clear()
        self._ahead_pool.shutdown(wait=False)
        self._sign_pool.shutdown(wait=False)
        await self._signer.close()
        await self._api.close()


def _port_error(what: str, err: Exception) -> Exception:
    """A send's error as the port raises it: a refusal is ``OrderRejectedError``, a maybe-sent
    one ``TransientExchangeError``; anything else (429, nonce fetch, signer) as it is."""
    if isinstance(err, Refused):
        return _rejected(what, err)
    if isinstance(err, Unknown):
        return TransientExchangeError(str(err))
    return err


def _rejected(what: str, err: Refused) -> OrderRejectedError:
    return OrderRejectedError(f"{what}: venue code {err.code}: {err.message}")


@attrs.frozen
class _CancelAll:
    """A cancel-all to sign at a nonce; its fields say which, so one signed ahead can stand in."""

    signer: Any = attrs.field(repr=False)
    key: int
    tif: int
    at_ms: int
    market: int

    def __call__(self, nonce: int) -> tuple[Any, ...]:
        return tuple(
            self.signer.sign_cancel_all_orders(
                self.tif, self.at_ms, self.market, nonce=nonce, api_key_index=self.key
            )
        )


class VenueHttpError(Exception):
    """A non-2xx answer, shaped like the SDK's ``ApiException`` (status, body, headers)."""

    def __init__(self, status: int, body: str, headers: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.headers = status, body[:2000], headers
        self.reason = ""


class _Api:
    """The SDK's REST APIs behind one object, returning the venue's JSON as plain dicts.

    The raw body is parsed here rather than through the SDK's models, whose
    ``to_dict`` warns (and under ``-W error`` raises) on any field of an
    unexpected type, so one odd market row would break every read; skipping
    the models also saves their (large) deserialization cost per request.
    """

    def __init__(self, client: Any, lighter: Any) -> None:
        self._client = client
        self._order = lighter.OrderApi(client)
        self._account = lighter.AccountApi(client)
        self._tx = lighter.TransactionApi(client)

    @staticmethod
    async def _json(call: Awaitable[Any]) -> dict[str, Any]:
        """Read the raw response (the ``_without_preload_content`` variants skip the models)."""
        resp = await call
        try:
            data = await resp.read()
        finally:
            resp.release()
        if not 200 <= resp.status <= 299:
            raise VenueHttpError(resp.status, data.decode("utf-8", "replace"), resp.headers)
        try:
            body = json.loads(data)
        except (TypeError, ValueError) as exc:
            raise TransientExchangeError("lighter: response is not JSON") from exc
        if not isinstance(body, dict):
            raise ExchangeError("lighter: response is not a JSON object")
        return body

    async def order_book_details(self, **kw: Any) -> dict[str, Any]:
        return await self._json(self._order.order_book_details_without_preload_content(**kw))

    async def account(self, **kw: Any) -> dict[str, Any]:
        return await self._json(self._account.account_without_preload_content(**kw))

    async def account_active_orders(self, **kw: Any) -> dict[str, Any]:
        return await self._json(self._order.account_active_orders_without_preload_content(**kw))

    async def account_orders(self, **kw: Any) -> dict[str, Any]:
        return await self._json(self._order.account_orders_without_preload_content(**kw))

    async def next_nonce(self, **kw: Any) -> dict[str, Any]:
        return await self._json(self._tx.next_nonce_without_preload_content(**kw))

    async def send_tx(self, **kw: Any) -> dict[str, Any]:
        return await self._json(self._tx.send_tx_without_preload_content(**kw))

    async def send_tx_batch(self, **kw: Any) -> dict[str, Any]:
        return await self._json(self._tx.send_tx_batch_without_preload_content(**kw))

    async def close(self) -> None:
        await self._client.close()


def decode_tx_info(tx_info: str) -> dict[str, Any]:
    """For tests and debugging: the signed fields (never contains the key)."""
    return dict(json.loads(tx_info))


__all__ = ["VENUE_MIN_NOTIONAL", "LighterExchange", "decode_tx_info"]
