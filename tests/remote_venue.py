"""A paper venue that outlives its client: PaperExchange behind HTTP on 127.0.0.1.

The crash tests kill the hedger with SIGKILL; the venue (and its orders) must
survive that, as a real exchange would, so it lives in the test process and
the hedger talks to it over HTTP through :class:`RemoteExchange`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import httpx

from xlp_adapters.paper import PaperExchange
from xlp_core import errors as E
from xlp_core.models import MarketRules, Order, OrderRequest, OrderStatus, OrderType, Side
from xlp_core.ports import ExchangeDefaults

_ERRORS: dict[str, type[E.ExchangeError]] = {
    cls.__name__: cls
    for cls in (
        E.ExchangeError,
        E.TransientExchangeError,
        E.OrderRejectedError,
        E.RateLimitedError,
        E.OrderOutcomeUnknownError,
        E.DuplicateOrderError,
    )
}


def order_to_json(o: Order) -> dict[str, Any]:
    d = attrs.asdict(o)
    d["side"], d["order_type"], d["status"] = str(o.side), str(o.order_type), str(o.status)
    d["created_at"] = o.created_at.isoformat() if o.created_at else None
    return d


def order_from_json(d: dict[str, Any]) -> Order:
    d = dict(d)
    d["side"], d["order_type"] = Side(d["side"]), OrderType(d["order_type"])
    d["status"] = OrderStatus(d["status"])
    d["created_at"] = datetime.fromisoformat(d["created_at"]) if d["created_at"] else None
    return Order(**d)


class VenueServer:
    """Serves one PaperExchange; every request runs under a lock, like a matching engine."""

    def __init__(self, paper: PaperExchange) -> None:
        self.paper = paper
        self.lock = threading.Lock()
        venue = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with venue.lock:
                    reply = venue.dispatch(body["method"], body["args"])
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def dispatch(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        p = self.paper
        try:
            if method == "place_order":
                r = dict(args["request"])
                r["side"], r["order_type"] = Side(r["side"]), OrderType(r["order_type"])
                if r.get("expires_at"):
                    r["expires_at"] = datetime.fromisoformat(r["expires_at"])
                result: Any = order_to_json(asyncio.run(p.place_order(OrderRequest(**r))))
            elif method in ("open_orders",):
                result = [order_to_json(o) for o in asyncio.run(p.open_orders(args["symbols"]))]
            elif method == "get_order":
                o = asyncio.run(p.get_order(args["symbol"], args["cid"]))
                result = None if o is None else order_to_json(o)
            elif method == "markets":
                result = {
                    s: attrs.asdict(m) for s, m in asyncio.run(p.markets(args["symbols"])).items()
                }
            elif method in ("prices", "positions"):
                result = dict(asyncio.run(getattr(p, method)(args["symbols"])))
            elif method == "cancel_all_orders":
                result = asyncio.run(p.cancel_all_orders(args["symbol"]))
            elif method == "cancel_order":
                result = asyncio.run(p.cancel_order(args["symbol"], args["cid"]))
            else:
                return {"error": "ExchangeError", "message": f"unknown method {method}"}
        except E.ExchangeError as exc:
            return {
                "error": type(exc).__name__,
                "message": str(exc),
                "client_order_id": getattr(exc, "client_order_id", None),
            }
        return {"result": result}

    def __enter__(self) -> VenueServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class RemoteExchange(ExchangeDefaults):
    """The client side: an Exchange whose venue is a :class:`VenueServer`."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=url, timeout=timeout)

    @property
    def name(self) -> str:
        return "remote-paper"

    async def _call(self, method: str, **args: Any) -> Any:
        try:
            r = await self._client.post("/", json={"method": method, "args": args})
        except httpx.HTTPError as exc:
            if method == "place_order":
                cid = args["request"]["client_order_id"]
                raise E.OrderOutcomeUnknownError(f"transport: {exc}", cid) from exc
            raise E.TransientExchangeError(f"transport: {exc}") from exc
        reply = r.json()
        if "error" in reply:
            cls = _ERRORS.get(reply["error"], E.ExchangeError)
            if cls is E.DuplicateOrderError:
                raise E.DuplicateOrderError("duplicate", reply["client_order_id"])
            if cls is E.OrderOutcomeUnknownError:
                raise E.OrderOutcomeUnknownError(reply["message"], reply["client_order_id"])
            raise cls(reply["message"])
        return reply["result"]

    async def markets(self, symbols: Sequence[str]) -> Mapping[str, MarketRules]:
        raw = await self._call("markets", symbols=list(symbols))
        return {s: MarketRules(**m) for s, m in raw.items()}

    async def prices(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return dict(await self._call("prices", symbols=list(symbols)))

    async def positions(self, symbols: Sequence[str]) -> Mapping[str, float]:
        return dict(await self._call("positions", symbols=list(symbols)))

    async def open_orders(self, symbols: Sequence[str]) -> Sequence[Order]:
        return [order_from_json(o) for o in await self._call("open_orders", symbols=list(symbols))]

    async def place_order(self, request: OrderRequest) -> Order:
        r = attrs.asdict(request)
        r["side"], r["order_type"] = str(request.side), str(request.order_type)
        if request.expires_at is not None:
            r["expires_at"] = request.expires_at.isoformat()
        return order_from_json(await self._call("place_order", request=r))

    async def get_order(self, symbol: str, client_order_id: int) -> Order | None:
        raw = await self._call("get_order", symbol=symbol, cid=client_order_id)
        return None if raw is None else order_from_json(raw)

    async def cancel_order(self, symbol: str, client_order_id: int) -> bool:
        return bool(await self._call("cancel_order", symbol=symbol, cid=client_order_id))

    async def cancel_all_orders(self, symbol: str) -> int:
        return int(await self._call("cancel_all_orders", symbol=symbol))

    async def close(self) -> None:
        await self._client.aclose()


def utc_now() -> datetime:
    return datetime.now(UTC)
