"""A fake Solana JSON-RPC server on 127.0.0.1 plus byte-exact account builders.

The builders write accounts exactly as the protocols lay them out (see
docs/adapters.md): discriminator, then fields at their offsets. The server
answers ``getMultipleAccounts`` from a dict and can be told to fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from xlp_adapters.pools.base58 import b58decode


def disc(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


def jlp_custody(
    *, mint: str, decimals: int, stable: bool = False, fees: int = 0, owned: int = 0,
    locked: int = 0, guaranteed: int = 0, gss: int = 0, gsap: int = 0, debt: int = 0,
    accrued: int = 0, size: int = 2000,
) -> bytes:  # fmt: skip
    b = bytearray(size)
    b[0:8] = disc("Custody")
    b[8:40] = b58decode("5BUwFW4nRbftYTDMbgxykoFWqWHPzahFSNAaaaJtVKsq")
    b[40:72] = b58decode(mint)
    b[104], b[105] = decimals, int(stable)
    struct.pack_into("<6Q", b, 214, fees, owned, locked, guaranteed, gss, gsap)
    b[1004:1020] = debt.to_bytes(16, "little")
    b[1020:1036] = accrued.to_bytes(16, "little")
    return bytes(b)


def jlp_pool(custodies: list[str], name: bytes = b"Pool") -> bytes:
    out = disc("Pool") + struct.pack("<I", len(name)) + name
    out += struct.pack("<I", len(custodies)) + b"".join(b58decode(c) for c in custodies)
    return out + bytes(16 + 40 + 72 + 24 + 8 + 2 + 8 + 33 + 8)


def mint(supply: int, decimals: int = 6) -> bytes:
    b = bytearray(82)
    struct.pack_into("<Q", b, 36, supply)
    b[44], b[45] = decimals, 1
    return bytes(b)


def adrena_custody(*, owned: int, locked: int, short_usd: int, layout: str = "r39") -> bytes:
    size, owned_at, short_at = (1168, 384, 608) if layout == "r39" else (824, 376, 600)
    b = bytearray(size)
    b[0:8] = disc("Custody")
    struct.pack_into("<QQQ", b, owned_at - 8, 123456, owned, locked)  # collateral, owned, locked
    struct.pack_into("<QQ", b, short_at - 8, 7, short_usd)  # open_positions, size_usd
    return bytes(b)


def adrena_pool(custodies: list[str]) -> bytes:
    b = bytearray(8 + 8 + 32 + 32 * 8 + 200)
    b[0:8] = disc("Pool")
    b[15] = len(custodies)
    b[16 : 16 + 3], b[47] = b"ALP", 3
    for i, c in enumerate(custodies):
        b[48 + 32 * i : 80 + 32 * i] = b58decode(c)
    return bytes(b)


def adrena_oracle(prices: dict[str, float], slots: int = 50) -> bytes:
    b = bytearray(24 + 64 * slots)
    b[0:8] = disc("Oracle")
    for i, (feed, price) in enumerate(prices.items()):
        at = 24 + 64 * i
        struct.pack_into("<QQqi", b, at, round(price * 1e10), 0, 0, -10)
        name = feed.encode()
        b[at + 32 : at + 32 + len(name)] = name
        b[at + 63] = len(name)
    return bytes(b)


class FakeRpc:
    """Serves accounts; records each request; fails on demand (``429``, ``500``,
    ``rpc_error``, ``slow``, ``garbage``)."""

    def __init__(self) -> None:
        self.accounts: dict[str, tuple[str, bytes]] = {}
        self.requests: list[dict[str, Any]] = []
        self.script: deque[str] = deque()
        self.slot = 440287421
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                kind = fake.script.popleft() if fake.script else None
                status, reply = 200, fake.reply(body)
                if kind == "429":
                    status, reply = 429, {"message": "slow down"}
                elif kind == "500":
                    status, reply = 500, {"message": "boom"}
                elif kind == "rpc_error":
                    reply = {"jsonrpc": "2.0", "id": body["id"],
                             "error": {"code": -32005, "message": "node is behind"}}  # fmt: skip
                elif kind == "slow":
                    time.sleep(1.0)
                data = b"not json" if kind == "garbage" else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        keys = body["params"][0]
        values: list[dict[str, Any] | None] = []
        for key in keys:
            if key not in self.accounts:
                values.append(None)
                continue
            owner, data = self.accounts[key]
            values.append({"data": [base64.b64encode(data).decode(), "base64"], "owner": owner,
                           "executable": False, "lamports": 1, "rentEpoch": 0,
                           "space": len(data)})  # fmt: skip
        return {"jsonrpc": "2.0", "id": body["id"],
                "result": {"context": {"slot": self.slot}, "value": values}}  # fmt: skip

    def __enter__(self) -> FakeRpc:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
