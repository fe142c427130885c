"""A fake Lighter REST server on 127.0.0.1 for offline adapter tests.

It keeps per-account state (markets, positions, orders by client index, a
nonce counter), records every request, and can be scripted to fail the next
calls of a path: ``429``, ``500``, ``code`` (HTTP 200 with an error code),
``slow`` (sleep past the client's timeout), ``accept_slow`` (apply the tx,
then be too slow to answer).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any
from urllib.parse import parse_qs

import attrs
from aiohttp import web

MARKETS = [
    {"symbol": "ETH", "market_id": 0, "size_decimals": 4, "price_decimals": 2,
     "min_base_amount": "0.0050", "min_quote_amount": "10.000000", "mark_price": "3000.00"},
    {"symbol": "BTC", "market_id": 1, "size_decimals": 5, "price_decimals": 1,
     "min_base_amount": "0.00020", "min_quote_amount": "10.000000", "mark_price": "60000.0"},
    {"symbol": "SOL", "market_id": 2, "size_decimals": 3, "price_decimals": 3,
     "min_base_amount": "0.050", "min_quote_amount": "10.000000", "mark_price": "150.000"},
    {"symbol": "1000BONK", "market_id": 3, "size_decimals": 0, "price_decimals": 6,
     "min_base_amount": "500", "min_quote_amount": "10.000000", "mark_price": "0.020000"},
]  # fmt: skip


@attrs.define
class FakeLighter:
    account_index: int
    positions: dict[int, tuple[int, str]] = attrs.Factory(dict)  # market -> (sign, abs size)
    orders: dict[int, dict[str, Any]] = attrs.Factory(dict)  # client index -> order row
    nonce: int = 100
    requests: list[dict[str, Any]] = attrs.Factory(list)
    txs: list[dict[str, Any]] = attrs.Factory(list)
    script: dict[str, deque[str]] = attrs.Factory(dict)
    slow_seconds: float = 2.0
    _order_seq: int = 281474976710656

    def fail_next(self, path: str, *kinds: str) -> None:
        self.script.setdefault(path, deque()).extend(kinds)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        form = dict(await request.post()) if request.method == "POST" else {}
        self.requests.append(
            {"method": request.method, "path": path, "query": dict(request.query),
             "form": form, "headers": dict(request.headers)}
        )  # fmt: skip
        queue = self.script.get(path)
        kind = queue.popleft() if queue else None
        if kind == "429":
            return web.json_response(
                {"code": 429, "message": "too many"}, status=429, headers={"Retry-After": "3"}
            )
        if kind == "500":
            return web.json_response({"code": 500, "message": "boom"}, status=500)
        if kind == "slow":
            await asyncio.sleep(self.slow_seconds)
        if kind == "code":
            return web.json_response({"code": 21500, "message": "scripted failure"})
        body = self.route(path, request.query, form)
        if kind == "accept_slow":
            await asyncio.sleep(self.slow_seconds)
        return web.json_response(body)

    def route(self, path: str, query: Any, form: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/orderBookDetails":
            return {"code": 200, "order_book_details": [
                {**m, "supported_size_decimals": m["size_decimals"],
                 "supported_price_decimals": m["price_decimals"], "status": "active"}
                for m in MARKETS
            ]}  # fmt: skip
        if path == "/api/v1/account":
            positions = [
                {"market_id": m, "sign": sign, "position": size, "symbol": MARKETS[m]["symbol"]}
                for m, (sign, size) in self.positions.items()
            ]
            return {"code": 200, "total": 1, "accounts": [
                {"index": self.account_index, "account_index": self.account_index,
                 "positions": positions}
            ]}  # fmt: skip
        if path == "/api/v1/nextNonce":
            return {"code": 200, "nonce": self.nonce}
        if path == "/api/v1/accountActiveOrders":
            rows = [o for o in self.orders.values() if o["status"] == "open"]
            return {"code": 200, "orders": rows}
        if path == "/api/v1/accountOrders":
            ids = [int(x) for x in query.get("client_order_indexes", "").split(",") if x]
            return {"code": 200, "orders": [self.orders[i] for i in ids if i in self.orders]}
        if path == "/api/v1/sendTx":
            return self.send_tx(int(form["tx_type"]), json.loads(form["tx_info"]))
        return {"code": 404, "message": f"no route {path}"}

    def send_tx(self, tx_type: int, info: dict[str, Any]) -> dict[str, Any]:
        if info.get("Nonce") != self.nonce:
            return {"code": 21104, "message": f"invalid nonce {info.get('Nonce')} != {self.nonce}"}
        self.nonce += 1
        self.txs.append({"type": tx_type, **info})
        if tx_type == 14:
            cid = info["ClientOrderIndex"]
            market = MARKETS[info["MarketIndex"]]
            size = info["BaseAmount"] / 10 ** market["size_decimals"]
            price = info["Price"] / 10 ** market["price_decimals"]
            self._order_seq += 1
            market_order = info["Type"] == 1
            self.orders[cid] = {
                "order_index": self._order_seq, "client_order_index": cid,
                "market_index": info["MarketIndex"], "is_ask": bool(info["IsAsk"]),
                "initial_base_amount": f"{size}", "price": f"{price}",
                "filled_base_amount": f"{size}" if market_order else "0",
                "filled_quote_amount": f"{size * price}" if market_order else "0",
                "remaining_base_amount": "0" if market_order else f"{size}",
                "status": "filled" if market_order else "open",
                "type": "market" if market_order else "limit",
                "reduce_only": bool(info["ReduceOnly"]),
            }  # fmt: skip
        elif tx_type == 15:
            for order in self.orders.values():
                if order["order_index"] == info["Index"] and order["status"] == "open":
                    order["status"] = "canceled"
        return {"code": 200, "tx_hash": "00" * 16}


class FakeServer:
    """Runs a :class:`FakeLighter` on an ephemeral loopback port."""

    def __init__(self, fake: FakeLighter) -> None:
        self.fake = fake
        self.runner = web.AppRunner(fake.app())
        self.url = ""

    async def __aenter__(self) -> FakeServer:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


def form_query(text: str) -> dict[str, list[str]]:
    return parse_qs(text)
