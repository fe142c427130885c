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
from pathlib import Path
from typing import Any

from xlp_adapters.pools.base58 import b58decode


def disc(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


def jlp_custody(
    *, mint: str, decimals: int, stable: bool = False, fees: int = 0, owned: int = 0,
    locked: int = 0, guaranteed: int = 0, gss: int = 0, gsap: int = 0, debt: int = 0,
    accrued: int = 0, target_bps: int = 0, size: int = 2000,
) -> bytes:  # fmt: skip
    b = bytearray(size)
    b[0:8] = disc("Custody")
    b[8:40] = b58decode("5BUwFW4nRbftYTDMbgxykoFWqWHPzahFSNAaaaJtVKsq")
    b[40:72] = b58decode(mint)
    b[104], b[105] = decimals, int(stable)
    struct.pack_into("<7Q", b, 206, target_bps, fees, owned, locked, guaranteed, gss, gsap)
    b[1004:1020] = debt.to_bytes(16, "little")
    b[1020:1036] = accrued.to_bytes(16, "little")
    return bytes(b)


def jlp_pool(custodies: list[str], name: bytes = b"Pool", aum_usd: int = 0) -> bytes:
    """A JLP ``Pool``: name, custodies, then ``aumUsd`` (u128, USD x 1e6) and the rest."""
    out = disc("Pool") + struct.pack("<I", len(name)) + name
    out += struct.pack("<I", len(custodies)) + b"".join(b58decode(c) for c in custodies)
    return out + aum_usd.to_bytes(16, "little") + bytes(40 + 72 + 24 + 8 + 2 + 8 + 33 + 8)


def mint(supply: int, decimals: int = 6) -> bytes:
    b = bytearray(82)
    struct.pack_into("<Q", b, 36, supply)
    b[44], b[45] = decimals, 1
    return bytes(b)


# Adrena custody offsets per the reference table (release/37, release/39):
# account length, assets.collateral (owned, locked follow), long_positions
# (short_positions 200 bytes later), long collateral_usd (release/39 only).
ADRENA_LAYOUTS: dict[str, tuple[int, int, int, int | None]] = {
    "r37": (824, 368, 392, None),
    "r39": (1168, 376, 400, 472),
}


def u128_split(value: int) -> bytes:
    """Adrena's U128Split: high u64 first, then low."""
    return struct.pack("<QQ", value >> 64, value & (2**64 - 1))


def adrena_side(b: bytearray, at: int, *, size_usd: int, weighted: int, quantity: int) -> None:
    struct.pack_into("<QQ", b, at, 7 if size_usd else 0, size_usd)  # open_positions, size_usd
    b[at + 32 : at + 48] = u128_split(weighted)
    b[at + 48 : at + 64] = u128_split(quantity)


def adrena_custody(
    *, mint: str = "So11111111111111111111111111111111111111112", decimals: int = 9,
    stable: bool = False, collateral: int = 0, owned: int = 0, locked: int = 0,
    long_usd: int = 0, long_weighted: int = 0, long_quantity: int = 0,
    long_collateral_usd: int = 0, short_usd: int = 0, short_weighted: int = 0,
    short_quantity: int = 0, layout: str = "r39",
) -> bytes:  # fmt: skip
    size, collateral_at, longs, long_collateral_at = ADRENA_LAYOUTS[layout]
    b = bytearray(size)
    b[0:8] = disc("Custody")
    b[12], b[13] = decimals, int(stable)
    b[48:80] = b58decode(mint)
    struct.pack_into("<QQQ", b, collateral_at, collateral, owned, locked)
    adrena_side(b, longs, size_usd=long_usd, weighted=long_weighted, quantity=long_quantity)
    adrena_side(b, longs + 200, size_usd=short_usd, weighted=short_weighted,
                quantity=short_quantity)  # fmt: skip
    if long_collateral_at is not None:
        struct.pack_into("<Q", b, long_collateral_at, long_collateral_usd)
    return bytes(b)


def adrena_pool(
    custodies: list[str | None], *, aum_usd: int = 0, lp_price_usd: int = 0,
    registered: int | None = None,
) -> bytes:  # fmt: skip
    """An Adrena ``Pool``: count at 15, name at 16, 8 custody slots from 48 (``None`` = gap),
    lp_token_price_usd at 328, aum_usd (U128Split) at 448."""
    b = bytearray(8 + 8 + 32 + 32 * 8 + 32 + 32 + 64 + 16 + 16 + 16 + 200)
    b[0:8] = disc("Pool")
    b[15] = len([c for c in custodies if c]) if registered is None else registered
    b[16 : 16 + 3], b[47] = b"ALP", 3
    for i, c in enumerate(custodies):
        if c:
            b[48 + 32 * i : 80 + 32 * i] = b58decode(c)
    struct.pack_into("<Q", b, 328, lp_price_usd)
    b[448:464] = u128_split(aum_usd)
    return bytes(b)


def adrena_oracle(
    prices: dict[str, float] | list[tuple[str, int, float, int]], slots: int = 50,
    timestamp: int = 0,
) -> bytes:  # fmt: skip
    """Oracle slots at 24 + 64 i: price, confidence, timestamp, exponent, feed id, name.

    ``prices`` is ``{name: price}`` (feed ids 0, 1, 2 ... in order) or a list of
    ``(name, feed_id, price, timestamp)``."""
    rows = (
        [(n, i, p, timestamp) for i, (n, p) in enumerate(prices.items())]
        if isinstance(prices, dict)
        else prices
    )
    b = bytearray(24 + 64 * slots)
    b[0:8] = disc("Oracle")
    for i, (feed, feed_id, price, ts) in enumerate(rows):
        at = 24 + 64 * i
        struct.pack_into("<QQqiB", b, at, round(price * 1e10), 0, ts, -10, feed_id)
        name = feed.encode()
        b[at + 32 : at + 32 + len(name)] = name
        b[at + 63] = len(name)
    return bytes(b)


ONCHAIN = Path(__file__).parent / "data" / "onchain"


def onchain_account(name: str, size: int = 2000) -> bytes:
    """Real account bytes from ``tests/data/onchain`` (decode rule in its README)."""
    token = (ONCHAIN / name).read_text().split()[0]
    raw = base64.b64decode(token[: len(token) // 4 * 4])
    return (raw + bytes(size))[:size]


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
