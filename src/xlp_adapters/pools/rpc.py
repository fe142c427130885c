"""A minimal Solana JSON-RPC client: ``getMultipleAccounts`` over httpx."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import attrs
import httpx

from xlp_adapters.pools.errors import PoolDataError, PoolRpcError

DEFAULT_RPC_URL = "https://api.mainnet-beta.solana.com"
MAX_ACCOUNTS_PER_CALL = 100


@attrs.frozen
class Account:
    owner: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")


class SolanaRpc:
    """One method, done carefully: every account of a refresh in one call, one slot."""

    def __init__(
        self,
        url: str = DEFAULT_RPC_URL,
        *,
        timeout: float = 10.0,
        commitment: str = "confirmed",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if commitment not in ("processed", "confirmed", "finalized"):
            raise ValueError(f"unknown commitment {commitment!r}")
        self.url = url
        self.commitment = commitment
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._id = 0
        self.calls = 0

    async def get_multiple_accounts(
        self, pubkeys: Sequence[str]
    ) -> tuple[int, list[Account | None]]:
        """``(slot, accounts)`` in request order; a missing account is ``None``."""
        if not 0 < len(pubkeys) <= MAX_ACCOUNTS_PER_CALL:
            raise PoolDataError(f"getMultipleAccounts takes 1-100 keys, got {len(pubkeys)}")
        self._id += 1
        self.calls += 1
        payload = {
            "jsonrpc": "2.0",
            "id": self._id,
            "method": "getMultipleAccounts",
            "params": [list(pubkeys), {"encoding": "base64", "commitment": self.commitment}],
        }
        try:
            response = await self._client.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            raise PoolRpcError(f"RPC {self.url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise PoolRpcError(f"RPC {self.url}: HTTP {response.status_code}")
        try:
            body: Any = response.json()
        except ValueError as exc:
            raise PoolRpcError(f"RPC {self.url}: response is not JSON") from exc
        if not isinstance(body, dict):
            raise PoolRpcError("RPC: response is not an object")
        if "error" in body:
            err = body["error"] if isinstance(body["error"], dict) else {"message": body["error"]}
            raise PoolRpcError(f"RPC error {err.get('code')}: {err.get('message')}")
        try:
            result = body["result"]
            slot = int(result["context"]["slot"])
            values = result["value"]
        except (KeyError, TypeError, ValueError) as exc:
            raise PoolRpcError("RPC: malformed getMultipleAccounts result") from exc
        if not isinstance(values, list) or len(values) != len(pubkeys):
            raise PoolRpcError("RPC: account count does not match the request")
        accounts: list[Account | None] = []
        for key, value in zip(pubkeys, values, strict=True):
            if value is None:
                accounts.append(None)
                continue
            try:
                raw, encoding = value["data"]
                if encoding != "base64":
                    raise ValueError(encoding)
                accounts.append(Account(str(value["owner"]), base64.b64decode(raw, validate=True)))
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                raise PoolDataError(f"{key}: undecodable account data") from exc
        return slot, accounts

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
