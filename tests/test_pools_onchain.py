"""JLP pool source against byte-exact accounts served by a fake RPC on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rpc_fake import FakeRpc, jlp_custody, jlp_pool, mint
from xlp_adapters.pools import (
    JlpPoolSource,
    PoolDataError,
    PoolDriftError,
    PoolRpcError,
    SolanaRpc,
    StaticPoolSource,
)
from xlp_adapters.pools.base58 import b58decode, b58encode
from xlp_adapters.pools.exposure import check_drift
from xlp_adapters.pools.jlp import JLP_MINT, JLP_POOL, PERPS_PROGRAM
from xlp_adapters.pools.jlp_layout import decode_jlp_custody
from xlp_core.errors import InvalidInputError
from xlp_core.models import PoolSnapshot

TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
SOL_MINT = "So11111111111111111111111111111111111111112"
ETH_MINT = "7vfCXTUXx5WJV5JADk17DUJ4ksgau7utNKj4b963voxs"
BTC_MINT = "3NZ9JMVBmGAqocybic2c7LQCJScmgsAZ6vQqTDzcqmJh"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
C_SOL = "7xS2gz2bTp3fwCC7knJvUWTEU9Tycczu6VhJYKgi1wdz"
C_ETH = "AQCGyheWPLeo6Qp9WpYS9m3Qj479t7R636N9ey1rEjEn"
C_BTC = "5Pv3gM9JrFFH883SWAhvJC9RPYmo8UNxuFtv5bMMALkm"
C_USDC = "G18jKKXQwBbrHeiK3C9MRXhkHsLHf7XgCSisykV46EZa"
C_JUPUSD = "DdwY1ELc9rRK7xNL3hTXabSFBmVrTPpfsUZSv2Y3LL1U"

# Raw values of the recorded mainnet dump (slot 440287421), reference table.
GOLDEN = {
    C_SOL: (SOL_MINT, 9, 4179899767, 4756753350084239, 443388119372740, 27176509834458,
            19580477183998, 76787316),
    C_ETH: (ETH_MINT, 8, 3166765, 3306662332061, 190862285911, 3071413027911,
            2543973576118, 1912346193),
    C_BTC: (BTC_MINT, 8, 25012, 161803362343, 18093361691, 9418270867965,
            22491902793993, 63744217960),
}  # fmt: skip


def golden_custody(key: str) -> bytes:
    m, d, fees, owned, locked, guar, gss, gsap = GOLDEN[key]
    return jlp_custody(mint=m, decimals=d, fees=fees, owned=owned, locked=locked,
                       guaranteed=guar, gss=gss, gsap=gsap)  # fmt: skip


def test_base58_round_trip() -> None:
    for key in (JLP_POOL, SOL_MINT, C_SOL):
        assert b58encode(b58decode(key)) == key
    with pytest.raises(PoolDataError):
        b58decode("0OIl")


def test_golden_custody_deltas_match_reference() -> None:
    # Pool net token delta from the reference: SOL 4,568,361.47; ETH 32,488.29; BTC 1,789.95.
    want = {C_SOL: 4_568_361.47, C_ETH: 32_488.29, C_BTC: 1_789.95}
    for key, delta in want.items():
        assert decode_jlp_custody(golden_custody(key)).delta_tokens() == pytest.approx(
            delta, abs=0.01
        )


def test_jlp_custody_rejects_bad_bytes() -> None:
    good = golden_custody(C_SOL)
    with pytest.raises(PoolDataError, match="need at least"):
        decode_jlp_custody(good[:1000])
    with pytest.raises(PoolDataError, match="wrong account type"):
        decode_jlp_custody(b"\x00" * 8 + good[8:])
    # locked > owned is the source's check, and only on hedged custodies
    assert decode_jlp_custody(jlp_custody(mint=SOL_MINT, decimals=9, owned=1, locked=2)).locked == 2
    assert issubclass(PoolDataError, InvalidInputError)


def test_debt_counts_as_owned() -> None:
    c = decode_jlp_custody(jlp_custody(mint=SOL_MINT, decimals=9, owned=10 * 10**9,
                                       debt=2 * 10**9 * 10**9))  # fmt: skip
    assert c.delta_tokens() == pytest.approx(12.0)


@pytest.fixture
def rpc() -> Iterator[FakeRpc]:
    with FakeRpc() as fake:
        yield fake


def serve_jlp(fake: FakeRpc, custodies: list[str]) -> None:
    fake.accounts[JLP_POOL] = (PERPS_PROGRAM, jlp_pool(custodies))
    for key in custodies:
        if key in GOLDEN:
            fake.accounts[key] = (PERPS_PROGRAM, golden_custody(key))
    stable = jlp_custody(mint=USDC_MINT, decimals=6, stable=True, owned=10**15)
    fake.accounts[C_USDC] = (PERPS_PROGRAM, stable)
    fake.accounts[C_JUPUSD] = (PERPS_PROGRAM, stable)
    fake.accounts[JLP_MINT] = (TOKEN, mint(4_000_000_000 * 10**6))  # 4e9 JLP


async def test_jlp_fetch_one_call_per_refresh(rpc: FakeRpc) -> None:
    custodies = [C_SOL, C_ETH, C_BTC, C_USDC, C_JUPUSD]
    serve_jlp(rpc, custodies)
    source = JlpPoolSource(rpc=SolanaRpc(rpc.url), drift_tolerance_pct=None)
    snap = await source.fetch()
    assert snap.pool == "JLP"
    assert snap.slot == 440287421
    assert snap.per_token == pytest.approx(
        {"SOL": 4_568_361.47 / 4e9, "ETH": 32_488.29 / 4e9, "BTC": 1_789.95 / 4e9}, rel=1e-6
    )
    first = len(rpc.requests)  # the pool read that learns the custody list, then one
    await source.fetch()
    await source.fetch()
    assert len(rpc.requests) == first + 2
    last = rpc.requests[-1]
    assert last["method"] == "getMultipleAccounts"
    assert last["params"][0] == [JLP_POOL, *custodies, JLP_MINT]
    assert last["params"][1]["encoding"] == "base64"
    await source.close()


async def test_jlp_learns_a_new_custody(rpc: FakeRpc) -> None:
    serve_jlp(rpc, [C_SOL, C_USDC])
    source = JlpPoolSource(rpc=SolanaRpc(rpc.url), drift_tolerance_pct=None)
    assert set((await source.fetch()).per_token) == {"SOL"}
    serve_jlp(rpc, [C_SOL, C_ETH, C_USDC])
    assert set((await source.fetch()).per_token) == {"SOL", "ETH"}
    await source.close()


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (lambda f: f.accounts.pop(C_SOL), "not found"),
        (lambda f: f.accounts.__setitem__(C_SOL, ("SomeOtherProgram1111", golden_custody(C_SOL))),
         "owned by"),
        (lambda f: f.accounts.__setitem__(JLP_MINT, (TOKEN, mint(0))), "supply"),
        (lambda f: f.accounts.__setitem__(JLP_MINT, (TOKEN, b"\x00" * 40)), "SPL mint"),
    ],
)  # fmt: skip
async def test_jlp_bad_accounts_are_typed_errors(rpc: FakeRpc, tamper: object, error: str) -> None:
    serve_jlp(rpc, [C_SOL, C_USDC])
    tamper(rpc)  # type: ignore[operator]
    source = JlpPoolSource(rpc=SolanaRpc(rpc.url), drift_tolerance_pct=None)
    with pytest.raises(PoolDataError, match=error):
        await source.fetch()
    await source.close()


@pytest.mark.parametrize("kind", ["429", "500", "rpc_error", "garbage", "slow"])
async def test_rpc_failures_are_transient_errors(rpc: FakeRpc, kind: str) -> None:
    serve_jlp(rpc, [C_SOL])
    rpc.script.append(kind)
    source = JlpPoolSource(rpc=SolanaRpc(rpc.url, timeout=0.3), drift_tolerance_pct=None)
    with pytest.raises(PoolRpcError):
        await source.fetch()
    await source.close()


async def test_static_source_validates() -> None:
    snap = await StaticPoolSource("JLP", {"wbtc": 0.001, "SOL": 0.1}).fetch()
    assert snap.per_token == {"BTC": 0.001, "SOL": 0.1}
    for bad in (float("nan"), -1.0, "x"):
        with pytest.raises(InvalidInputError):
            StaticPoolSource("JLP", {"SOL": bad})  # type: ignore[dict-item]


def test_drift_check_edges() -> None:
    check_drift("JLP", decoded_usd=101.9, onchain_usd=100.0, tolerance_pct=2.0)
    check_drift("JLP", decoded_usd=1e9, onchain_usd=0.0, tolerance_pct=None)  # off
    for decoded, onchain in ((102.1, 100.0), (97.9, 100.0), (1.0, 0.0), (float("nan"), 1.0)):
        with pytest.raises(PoolDriftError) as caught:
            check_drift("JLP", decoded_usd=decoded, onchain_usd=onchain, tolerance_pct=2.0)
        assert "JLP" in str(caught.value)
    assert issubclass(PoolDriftError, InvalidInputError)


def test_snapshot_usd_fields_default_empty() -> None:
    snap = PoolSnapshot("JLP", {"SOL": 0.1})
    assert (snap.usd_per_token, snap.share, snap.lp_price_usd) == ({}, {}, None)
