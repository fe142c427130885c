"""Real mainnet JLP bytes (tests/data/onchain, copied from shared/reference/onchain)
decoded through the public JlpPoolSource over the fake RPC, and the layout-drift check.

Facts checked come from the README beside the bytes: decimals, stable flags,
target ratios, the six custodies including JupUSD, pool-level token deltas
(SOL ~4,568,361.5, ETH ~32,488.3, debt included) and the capture's value
(~$781M at SOL $80.73, ETH $1,969.86, split SOL 48 % / ETH 8 % / BTC 14 % / USDC 30 %).
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence

import pytest

from rpc_fake import FakeRpc, jlp_custody, mint, onchain_account
from xlp_adapters.pools import (
    CustodyMismatchError,
    JlpPoolSource,
    PoolDataError,
    PoolDriftError,
    PoolPriceError,
    SolanaRpc,
)
from xlp_adapters.pools.jlp import JLP_MINT, JLP_POOL, PERPS_PROGRAM
from xlp_adapters.pools.jlp_layout import decode_jlp_custody, decode_jlp_pool
from xlp_core.errors import ConfigError
from xlp_core.ports import PoolSource

TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
C_SOL = "7xS2gz2bTp3fwCC7knJvUWTEU9Tycczu6VhJYKgi1wdz"
C_ETH = "AQCGyheWPLeo6Qp9WpYS9m3Qj479t7R636N9ey1rEjEn"
C_BTC = "5Pv3gM9JrFFH883SWAhvJC9RPYmo8UNxuFtv5bMMALkm"
C_USDC = "G18jKKXQwBbrHeiK3C9MRXhkHsLHf7XgCSisykV46EZa"
C_USDT = "4vkNeXiYEUizLdrpdPS1eC2mccyM4NUPRtERrk6ZETkk"
C_JUPUSD = "DdwY1ELc9rRK7xNL3hTXabSFBmVrTPpfsUZSv2Y3LL1U"
BTC_MINT = "3NZ9JMVBmGAqocybic2c7LQCJScmgsAZ6vQqTDzcqmJh"
USDT_MINT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"
JUPUSD_MINT = "JuprjznTrTSp2UFa3ZBUFgwdAmtZCq4MQCwysN55USD"
PRICES = {"SOL": 80.73, "ETH": 1969.86, "BTC": 68_000.0}  # BTC: not in the README; a choice
SUPPLY = 200_000_000  # JLP; the capture does not hold the mint

# BTC custody: not among the real files; the reference's golden raw values of the same capture.
BTC = jlp_custody(mint=BTC_MINT, decimals=8, fees=25012, owned=161803362343, locked=18093361691,
                  guaranteed=9418270867965, gss=22491902793993, gsap=63744217960,
                  target_bps=1400)  # fmt: skip


def real(name: str) -> bytes:
    return onchain_account(f"jlp_custody_{name}_b64.txt")


def expected_value_usd(data: bytes, price: float) -> float:
    """Jupiter's per-custody AUM, written out independently of the library."""
    decimals, stable = data[104], data[105]
    scale = float(10**decimals)
    fields: tuple[int, ...] = struct.unpack_from("<6Q", data, 214)
    _, owned, locked, guaranteed, gss, gsap = fields
    debt = int.from_bytes(data[1004:1020], "little")
    accrued = int.from_bytes(data[1020:1036], "little")
    owned += -(-max(debt - accrued, 0) // 10**9)
    if stable:
        return owned / scale * max(1.0, price)
    value = guaranteed / 1e6 + max(0, owned - locked) / scale * price
    return value + (gss / 1e6 * (price - gsap / 1e6) / (gsap / 1e6) if gsap else 0.0)


def custodies() -> dict[str, bytes]:
    stable_usdt = jlp_custody(mint=USDT_MINT, decimals=6, stable=True, owned=0)
    stable_jup = jlp_custody(mint=JUPUSD_MINT, decimals=6, stable=True, owned=0)
    return {C_SOL: real("sol"), C_ETH: real("eth"), C_BTC: BTC, C_USDC: real("usdc"),
            C_USDT: stable_usdt, C_JUPUSD: stable_jup}  # fmt: skip


def capture_value_usd(accounts: Mapping[str, bytes]) -> float:
    price = {C_SOL: PRICES["SOL"], C_ETH: PRICES["ETH"], C_BTC: PRICES["BTC"]}
    return sum(expected_value_usd(data, price.get(key, 1.0)) for key, data in accounts.items())


def pool_prefix(aum_usd: int | None = None) -> bytes:
    """The real pool prefix (400 bytes), padded to its full length; optionally a new aumUsd."""
    raw = bytearray(onchain_account("jlp_pool_prefix_b64.txt", size=400) + bytes(23))
    if aum_usd is not None:
        raw[212:228] = aum_usd.to_bytes(16, "little")  # aumUsd at 20 + 32 * 6
    return bytes(raw)


Prices = Callable[[Sequence[str]], Awaitable[Mapping[str, float]]]


def prices_from(table: Mapping[str, float]) -> Prices:
    async def prices(symbols: Sequence[str]) -> Mapping[str, float]:
        return {s: table[s] for s in symbols if s in table}

    return prices


@pytest.fixture
def rpc() -> Iterator[FakeRpc]:
    with FakeRpc() as fake:
        yield fake


def serve(fake: FakeRpc, accounts: Mapping[str, bytes], aum_usd: int | None) -> None:
    fake.accounts[JLP_POOL] = (PERPS_PROGRAM, pool_prefix(aum_usd))
    for key, data in accounts.items():
        fake.accounts[key] = (PERPS_PROGRAM, data)
    fake.accounts[JLP_MINT] = (TOKEN, mint(SUPPLY * 10**6))


def source(fake: FakeRpc, table: Mapping[str, float] = PRICES) -> JlpPoolSource:
    return JlpPoolSource(rpc=SolanaRpc(fake.url), prices=prices_from(table))


def test_real_custody_bytes_decode_to_the_readme_facts() -> None:
    facts = {"sol": (9, False, 4700), "eth": (8, False, 800), "usdc": (6, True, 3000)}
    for name, fact in facts.items():
        data = real(name)
        custody = decode_jlp_custody(data)
        assert (custody.decimals, custody.is_stable, custody.target_ratio_bps) == fact
        stamps = {struct.unpack_from("<q", data, at)[0] for at in (278, 988)}
        assert all(1.78e9 < t < 1.79e9 for t in stamps)  # aligned: timestamps where expected
    usdc = decode_jlp_custody(real("usdc"))
    assert usdc.debt_tokens() / 1e6 == pytest.approx(106.25e6, rel=1e-3)
    assert decode_jlp_custody(real("sol")).delta_tokens() == pytest.approx(4_568_361.5, abs=0.1)
    assert decode_jlp_custody(real("eth")).delta_tokens() == pytest.approx(32_488.3, abs=0.1)


def test_real_pool_prefix_lists_six_custodies_with_jupusd() -> None:
    pool = decode_jlp_pool(pool_prefix())
    assert pool.custodies == (C_SOL, C_ETH, C_BTC, C_USDC, C_USDT, C_JUPUSD)
    assert pool.aum_usd / 1e6 == pytest.approx(943.38e6, rel=1e-4)


def test_capture_values_to_the_readme_figures() -> None:
    accounts = custodies()
    total = capture_value_usd(accounts)
    assert total == pytest.approx(781e6, rel=0.01)
    split = {k: expected_value_usd(d, PRICES.get(s, 1.0)) / total
             for k, d, s in ((C_SOL, accounts[C_SOL], "SOL"), (C_ETH, accounts[C_ETH], "ETH"),
                             (C_BTC, BTC, "BTC"), (C_USDC, accounts[C_USDC], "USDC"))}  # fmt: skip
    assert split == pytest.approx({C_SOL: 0.48, C_ETH: 0.08, C_BTC: 0.14, C_USDC: 0.30}, abs=0.01)


async def test_real_bytes_through_the_source(rpc: FakeRpc) -> None:
    accounts = custodies()
    aum = capture_value_usd(accounts)
    serve(rpc, accounts, round(aum * 1e6))
    src = source(rpc)
    assert isinstance(src, PoolSource)
    snap = await src.fetch()
    assert snap.per_token == pytest.approx(
        {"SOL": 4_568_361.5 / SUPPLY, "ETH": 32_488.3 / SUPPLY, "BTC": 1_789.95 / SUPPLY},
        rel=1e-5,
    )
    assert snap.lp_price_usd == pytest.approx(aum / SUPPLY)
    assert snap.usd_per_token == pytest.approx(
        {s: n * PRICES[s] for s, n in snap.per_token.items()}
    )
    # Exposure as a share of the LP token's value, next to the pool's own target ratios.
    assert snap.share == pytest.approx({"SOL": 0.47, "ETH": 0.08, "BTC": 0.16}, abs=0.015)
    assert rpc.requests[-1]["params"][0] == [JLP_POOL, *accounts, JLP_MINT]
    await src.close()


async def test_drift_names_the_pool_and_both_figures(rpc: FakeRpc) -> None:
    # The real pool prefix is from another day: its AUM ($943M) is not what the
    # custodies of the capture add up to ($781M).
    serve(rpc, custodies(), None)
    src = source(rpc)
    with pytest.raises(PoolDriftError, match=r"JLP: decoded custodies value to \$78\d,.*\$943,38"):
        await src.fetch()
    await src.close()


def shift_right_all(data: bytes) -> bytes:
    return data[:8] + bytes(8) + data[8:-8]


def insert_at_200(data: bytes) -> bytes:
    return data[:200] + bytes(8) + data[200:-8]


def delete_at_200(data: bytes) -> bytes:
    return data[:200] + data[208:] + bytes(8)


@pytest.mark.parametrize(
    ("shift", "error"),
    [(shift_right_all, PoolDataError), (insert_at_200, PoolDataError),
     (delete_at_200, PoolDataError)],
)  # fmt: skip
@pytest.mark.parametrize("key", [C_SOL, C_ETH])
async def test_bytes_shifted_by_8_are_refused(
    rpc: FakeRpc, key: str, shift: Callable[[bytes], bytes], error: type[Exception]
) -> None:
    accounts = custodies()
    aum = round(capture_value_usd(accounts) * 1e6)  # consistent with the UNshifted bytes
    accounts[key] = shift(accounts[key])
    serve(rpc, accounts, aum)
    src = source(rpc)
    with pytest.raises(error):
        await src.fetch()
    await src.close()


async def test_a_shift_only_the_drift_detector_sees(rpc: FakeRpc) -> None:
    # SOL with its asset block read 8 bytes late: every per-field check passes
    # (owned > locked, known mint, right decimals); only the AUM comparison fails.
    accounts = custodies()
    aum = round(capture_value_usd(accounts) * 1e6)
    accounts[C_SOL] = delete_at_200(accounts[C_SOL])
    serve(rpc, accounts, aum)
    src = source(rpc)
    with pytest.raises(PoolDriftError) as caught:
        await src.fetch()
    assert caught.value.pool == "JLP"
    assert caught.value.onchain_usd == pytest.approx(aum / 1e6)
    await src.close()


async def test_stable_custody_oddities_do_not_abort_the_refresh(rpc: FakeRpc) -> None:
    accounts = custodies()
    accounts[C_JUPUSD] = jlp_custody(mint=JUPUSD_MINT, decimals=6, stable=True, owned=1, locked=5)
    serve(rpc, accounts, round(capture_value_usd(accounts) * 1e6))
    src = source(rpc)
    assert set((await src.fetch()).per_token) == {"SOL", "ETH", "BTC"}
    accounts[C_SOL] = jlp_custody(mint="So11111111111111111111111111111111111111112",
                                  decimals=9, owned=1, locked=2)  # fmt: skip
    serve(rpc, accounts, round(capture_value_usd(accounts) * 1e6))
    with pytest.raises(PoolDataError, match="locked 2 > owned 1"):
        await src.fetch()
    await src.close()


async def test_custody_mint_and_decimals_checked(rpc: FakeRpc) -> None:
    accounts = custodies()
    accounts[C_BTC] = BTC[:104] + bytes([6]) + BTC[105:]
    serve(rpc, accounts, round(capture_value_usd(custodies()) * 1e6))
    src = source(rpc)
    with pytest.raises(CustodyMismatchError, match="decimals is 6, expected 8"):
        await src.fetch()
    accounts[C_BTC] = jlp_custody(mint=USDT_MINT, decimals=8, owned=1)
    serve(rpc, accounts, 1)
    with pytest.raises(CustodyMismatchError, match="mint"):
        await src.fetch()
    await src.close()


@pytest.mark.parametrize("table", [{"SOL": 80.73, "ETH": 1969.86}, {**PRICES, "BTC": float("nan")}])
async def test_missing_or_bad_prices_refused(rpc: FakeRpc, table: Mapping[str, float]) -> None:
    serve(rpc, custodies(), 1)
    src = source(rpc, table)
    with pytest.raises(PoolPriceError, match="BTC"):
        await src.fetch()
    await src.close()


async def test_drift_check_needs_prices_or_an_explicit_off(rpc: FakeRpc) -> None:
    with pytest.raises(ConfigError, match="prices"):
        JlpPoolSource(rpc=SolanaRpc(rpc.url))
    serve(rpc, custodies(), None)  # inconsistent AUM: passes only with the check off
    src = JlpPoolSource(rpc=SolanaRpc(rpc.url), drift_tolerance_pct=None)
    snap = await src.fetch()
    assert snap.usd_per_token == {}
    assert snap.share == {}
    assert snap.lp_price_usd == pytest.approx(943.38e6 / SUPPLY, rel=1e-4)
    await src.close()
