"""ALP (Adrena) source against accounts laid out per the reference table
(shared/reference/pools-adrena.md), release/37 (824-byte custodies) and
release/39 (1168), served by the fake RPC on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from rpc_fake import FakeRpc, adrena_custody, adrena_oracle, adrena_pool, mint, u128_split
from xlp_adapters.pools import (
    AlpPoolSource,
    CustodyMismatchError,
    PoolDataError,
    PoolDriftError,
    PoolPriceError,
    SolanaRpc,
)
from xlp_adapters.pools.adrena_layout import OraclePrice, decode_adrena_custody
from xlp_adapters.pools.alp import (
    ADRENA_ORACLE,
    ADRENA_POOL,
    ADRENA_PROGRAM,
    ALP_MINT,
    MAINNET_CUSTODIES,
    SOL_FEED,
    STABLE_CUSTODIES,
    pick_price,
)
from xlp_adapters.pools.layouts import u128_split as read_u128_split
from xlp_core.ports import PoolSource

TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
TS = int(NOW.timestamp()) - 5
BONK, JITO, WBTC = MAINNET_CUSTODIES
(USDC,) = STABLE_CUSTODIES
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
PRICE = {"SOLUSD": 150.0, "JITOSOLUSD": 180.0, "BTCUSD": 65_100.0, "WBTCUSD": 65_000.0,
         "BONKUSD": 2e-5, "USDCUSD": 1.0}  # fmt: skip
SUPPLY = 10_000_000  # ALP


def shorts(positions: list[tuple[float, float]]) -> dict[str, int]:
    """Consistent short aggregates from ``(entry price, tokens)`` positions.

    size_usd = sum(p q) x 1e6, weighted_price = sum(p x 1e10 * q x 1e4),
    total_quantity = sum(q x 1e4)."""
    return {
        "short_usd": round(sum(p * q for p, q in positions) * 1e6),
        "short_weighted": sum(round(p * 1e10) * round(q * 1e4) for p, q in positions),
        "short_quantity": sum(round(q * 1e4) for _, q in positions),
    }


def custodies(layout: str) -> dict[str, dict[str, object]]:
    """Keyword arguments of each custody (mainnet table: BONK 5 dec, jitoSOL 9, WBTC 8)."""
    return {
        BONK.address: dict(mint=BONK.mint, decimals=5, owned=10**12, collateral=10**11,
                           locked=2 * 10**11, **shorts([(2.5e-5, 4e5)])),
        JITO.address: dict(mint=JITO.mint, decimals=9, owned=1000 * 10**9, collateral=50 * 10**9,
                           locked=100 * 10**9),
        WBTC.address: dict(mint=WBTC.mint, decimals=8, owned=2000 * 10**8, collateral=100 * 10**8,
                           locked=300 * 10**8, long_usd=15 * 10**12, long_collateral_usd=3 * 10**12,
                           **shorts([(60_000.0, 500.0), (70_000.0, 250.0)])),
        USDC: dict(mint=USDC_MINT, decimals=6, stable=True, owned=5 * 10**12),
    }  # fmt: skip


FEEDS = {BONK.address: "BONKUSD", JITO.address: "JITOSOLUSD", WBTC.address: "WBTCUSD"}


def expected_value_usd(layout: str, key: str, c: dict[str, object]) -> float:
    """The AUM each custody should contribute, restated from the documented formula."""
    n = {k: float(v) for k, v in c.items() if isinstance(v, int | float) and k != "mint"}
    scale = 10 ** n["decimals"]
    if c.get("stable"):
        return n["owned"] / scale
    p = PRICE[FEEDS[key]]
    value = (n["owned"] + n["collateral"] - n["locked"]) / scale * p
    long_collateral = (n.get("long_collateral_usd", 0) / 1e6 if layout == "r39"
                       else n["collateral"] / scale * p)  # fmt: skip
    value += n.get("long_usd", 0) / 1e6 - long_collateral
    if n.get("short_quantity"):
        avg = n["short_weighted"] / n["short_quantity"] / 1e10
        value += n["short_usd"] / 1e6 * (p - avg) / avg
    return value


def oracle_rows(ts: int = TS) -> list[tuple[str, int, float, int]]:
    return [(name, i, PRICE[name], ts) for i, name in enumerate(PRICE)]  # crypto block 0..5


def serve(fake: FakeRpc, layout: str, *, aum_usd: float | None = None, slots: int = 50) -> float:
    table = custodies(layout)
    for key, kwargs in table.items():
        fake.accounts[key] = (ADRENA_PROGRAM, adrena_custody(layout=layout, **kwargs))  # type: ignore[arg-type]
    aum = sum(expected_value_usd(layout, k, c) for k, c in table.items())
    listed: list[str | None] = [
        USDC,
        None,
        BONK.address,
        JITO.address,
        None,
        None,
        None,
        WBTC.address,
    ]  # fmt: skip  (gaps: removed custodies)
    pool = adrena_pool(listed, aum_usd=round((aum if aum_usd is None else aum_usd) * 1e6))
    fake.accounts[ADRENA_POOL] = (ADRENA_PROGRAM, pool)
    fake.accounts[ADRENA_ORACLE] = (ADRENA_PROGRAM, adrena_oracle(oracle_rows(), slots=slots))
    fake.accounts[ALP_MINT] = (TOKEN, mint(SUPPLY * 10**6))
    return aum


@pytest.fixture
def rpc() -> Iterator[FakeRpc]:
    with FakeRpc() as fake:
        yield fake


def source(fake: FakeRpc, **kwargs: object) -> AlpPoolSource:
    return AlpPoolSource(rpc=SolanaRpc(fake.url), clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("layout", "oracle_slots"), [("r37", 20), ("r39", 50)])
async def test_alp_exposure_per_reference_formula(
    rpc: FakeRpc, layout: str, oracle_slots: int
) -> None:
    aum = serve(rpc, layout, slots=oracle_slots)
    src = source(rpc)
    assert isinstance(src, PoolSource)
    snap = await src.fetch()
    # owned + collateral - locked + shorts at their average entry price, in tokens
    bonk = 10_000_000 + 1_000_000 - 2_000_000 + 400_000
    sol = (1000 + 50 - 100) * 180 / 150  # jitoSOL folded into SOL at the oracle ratio
    btc = 2000 + 100 - 300 + 750
    assert snap.per_token == pytest.approx(
        {"BONK": bonk / SUPPLY, "SOL": sol / SUPPLY, "BTC": btc / SUPPLY}
    )
    assert snap.lp_price_usd == pytest.approx(aum / SUPPLY)
    usd = {"BONK": bonk * 2e-5, "SOL": sol * 150, "BTC": btc * 65_000}
    assert snap.usd_per_token == pytest.approx({s: v / SUPPLY for s, v in usd.items()})
    assert snap.share == pytest.approx({s: v / aum for s, v in usd.items()})
    assert len(rpc.requests) == 2  # learn the custody list, then one read
    assert rpc.requests[-1]["params"][0] == [
        ADRENA_POOL, USDC, BONK.address, JITO.address, WBTC.address, ADRENA_ORACLE, ALP_MINT
    ]  # fmt: skip
    await src.fetch()
    assert len(rpc.requests) == 3
    await src.close()


@pytest.mark.parametrize("layout", ["r37", "r39"])
def test_short_quantity_two_ways_agree(layout: str) -> None:
    kwargs = custodies(layout)[WBTC.address]
    weighted = kwargs["short_weighted"]
    assert isinstance(weighted, int)
    assert weighted > 2**64  # the high word of the U128Split matters
    c = decode_adrena_custody(adrena_custody(layout=layout, **kwargs))  # type: ignore[arg-type]
    assert c.layout == layout
    assert c.shorts.average_price() == pytest.approx((60_000 * 500 + 70_000 * 250) / 750)
    assert c.short_tokens() == pytest.approx(750.0)
    assert c.short_tokens_by_quantity() == pytest.approx(750.0)
    assert (c.mint, c.decimals, c.is_stable) == (WBTC.mint, 8, False)
    bonk = decode_adrena_custody(adrena_custody(layout=layout, **custodies(layout)[BONK.address]))  # type: ignore[arg-type]
    assert bonk.short_tokens() == pytest.approx(bonk.short_tokens_by_quantity())
    assert bonk.short_tokens() == pytest.approx(4e5)


def test_u128_split_is_high_word_first() -> None:
    assert read_u128_split(u128_split(2**64 * 3 + 5), 0) == 2**64 * 3 + 5
    assert read_u128_split(bytes(8) + (7).to_bytes(8, "little"), 0) == 7


def test_oracle_newest_of_the_feed_ids() -> None:
    rows = [OraclePrice("SOLUSD", 0, 150.0, TS - 40), OraclePrice("SOLUSD", 30, 151.0, TS - 10),
            OraclePrice("SOLUSD", 142, 149.0, TS - 20), OraclePrice("SOLUSD", 9, 999.0, TS),
            OraclePrice("JITOSOLUSD", 31, 999.0, TS)]  # fmt: skip
    assert pick_price(rows, SOL_FEED, now=NOW, max_age_s=60) == 151.0
    with pytest.raises(PoolPriceError, match="old"):
        pick_price(rows, SOL_FEED, now=NOW, max_age_s=10)
    with pytest.raises(PoolPriceError, match="no SOLUSD"):
        pick_price(rows[3:], SOL_FEED, now=NOW, max_age_s=60)


async def test_three_providers_in_the_account(rpc: FakeRpc) -> None:
    serve(rpc, "r39")
    rows = oracle_rows(TS - 600)  # ChaosLabs block, stale
    rows += [(n, 30 + i, p * 2, TS - 300) for n, i, p, _ in oracle_rows()]  # Autonom, stale
    rows += [(n, 142 + i, p, TS) for n, i, p, _ in oracle_rows()]  # Switchboard, fresh
    rpc.accounts[ADRENA_ORACLE] = (ADRENA_PROGRAM, adrena_oracle(rows))
    src = source(rpc)
    assert (await src.fetch()).per_token["SOL"] == pytest.approx(1140 / SUPPLY)
    rpc.accounts[ADRENA_ORACLE] = (ADRENA_PROGRAM, adrena_oracle(oracle_rows(TS - 600)))
    with pytest.raises(PoolPriceError, match="s old"):
        await src.fetch()
    await src.close()


@pytest.mark.parametrize(
    ("key", "change", "field"),
    [(BONK.address, {"mint": JITO.mint}, "mint"), (WBTC.address, {"decimals": 6}, "decimals"),
     (JITO.address, {"stable": True}, "is_stable"), (USDC, {"stable": False}, "is_stable")],
)  # fmt: skip
async def test_custody_bytes_must_match_the_table(
    rpc: FakeRpc, key: str, change: dict[str, object], field: str
) -> None:
    serve(rpc, "r39")
    kwargs = {**custodies("r39")[key], **change}
    rpc.accounts[key] = (ADRENA_PROGRAM, adrena_custody(layout="r39", **kwargs))  # type: ignore[arg-type]
    src = source(rpc)
    with pytest.raises(CustodyMismatchError, match=field) as caught:
        await src.fetch()
    assert caught.value.custody == key
    await src.close()


async def test_aum_disagreement_is_refused(rpc: FakeRpc) -> None:
    aum = serve(rpc, "r39")
    serve(rpc, "r39", aum_usd=aum * 1.05)
    src = source(rpc)
    with pytest.raises(PoolDriftError, match="ALP") as caught:
        await src.fetch()
    assert caught.value.decoded_usd == pytest.approx(aum)
    assert caught.value.onchain_usd == pytest.approx(aum * 1.05)
    assert (await source(rpc, drift_tolerance_pct=10.0).fetch()).pool == "ALP"
    await src.close()


@pytest.mark.parametrize("layout", ["r37", "r39"])
async def test_fields_shifted_by_8_are_refused(rpc: FakeRpc, layout: str) -> None:
    # The release/39 upgrade seen from the wrong side: right length, fields 8 bytes off.
    serve(rpc, layout)
    for key, kwargs in custodies(layout).items():
        data = adrena_custody(layout=layout, **kwargs)  # type: ignore[arg-type]
        shifted = data[:200] + (
            bytes(8) + data[200:-8] if layout == "r37" else data[208:] + bytes(8)
        )
        rpc.accounts[key] = (ADRENA_PROGRAM, shifted)
    src = source(rpc)
    with pytest.raises(PoolDataError):
        await src.fetch()
    await src.close()


async def test_wbtc_shift_only_the_drift_detector_sees(rpc: FakeRpc) -> None:
    serve(rpc, "r39")
    data = adrena_custody(layout="r39", **custodies("r39")[WBTC.address])  # type: ignore[arg-type]
    rpc.accounts[WBTC.address] = (ADRENA_PROGRAM, data[:200] + data[208:] + bytes(8))
    src = source(rpc)
    with pytest.raises(PoolDriftError):
        await src.fetch()
    await src.close()


def test_unknown_length_refused() -> None:
    data = adrena_custody(owned=1)
    with pytest.raises(PoolDataError, match="unknown Adrena custody layout"):
        decode_adrena_custody(data[:1000])


async def test_pool_lists_an_unknown_custody_or_drops_one(rpc: FakeRpc) -> None:
    serve(rpc, "r39")
    new = "GZ9XfWwgTRhkma2Y91Q9r1XKotNXYjBnKKabj19rhT72"
    listed: list[str | None] = [USDC, *(c.address for c in MAINNET_CUSTODIES), new]
    rpc.accounts[ADRENA_POOL] = (ADRENA_PROGRAM, adrena_pool(listed))
    src = source(rpc)
    with pytest.raises(PoolDataError, match="cannot price"):
        await src.fetch()
    rpc.accounts[ADRENA_POOL] = (ADRENA_PROGRAM, adrena_pool([USDC]))
    with pytest.raises(PoolDataError, match="no longer lists"):
        await src.fetch()
    await src.close()


async def test_count_disagreeing_with_the_slots_is_a_warning(
    rpc: FakeRpc, caplog: pytest.LogCaptureFixture
) -> None:
    aum = serve(rpc, "r39")
    listed: list[str | None] = [USDC, BONK.address, None, JITO.address, WBTC.address]
    pool = adrena_pool(listed, aum_usd=round(aum * 1e6), registered=5)
    rpc.accounts[ADRENA_POOL] = (ADRENA_PROGRAM, pool)
    src = source(rpc)
    with caplog.at_level(logging.WARNING, logger="xlp_adapters.pools"):
        assert set((await src.fetch()).per_token) == {"BONK", "SOL", "BTC"}
    assert "registered_custody_count is 5" in caplog.text
    await src.close()
