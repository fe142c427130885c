"""Cancel-alls signed ahead (``xlp_adapters.lighter.presign``) and their use by a round."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from xlp_adapters.lighter.presign import MAX_AGE, Presigned


def test_take_gives_a_fresh_signature_once_and_nothing_else() -> None:
    now = [0.0]
    ahead = Presigned(lambda: now[0])
    with ThreadPoolExecutor(1) as pool:
        ahead.start(pool, lambda market, nonce: (16, f"{market}@{nonce}", "", None), [(3, 7)])
        assert ahead.take(3, 8) is None  # another nonce: not this tx
        assert ahead.take(4, 7) is None  # another market
        got = ahead.take(3, 7)
        assert got is not None
        assert got.result()[1] == "3@7"
        assert ahead.take(3, 7) is None  # used once
        assert ahead.taken == 1


def test_a_stale_signature_is_never_taken_and_start_drops_old_ones() -> None:
    now = [0.0]
    ahead = Presigned(lambda: now[0])
    with ThreadPoolExecutor(1) as pool:
        ahead.start(pool, lambda market, nonce: (16, "x", "", None), [(1, 1), (2, 2)])
        now[0] = MAX_AGE + 1
        assert ahead.take(1, 1) is None
        ahead.start(pool, lambda market, nonce: (16, "y", "", None), [(5, 5)])
        assert len(ahead) == 1
        assert ahead.take(2, 2) is None
        ahead.clear()
        assert len(ahead) == 0


pytest.importorskip("lighter")

from lighter_rig import lighter_rig  # noqa: E402
from test_lighter_replace import CANCEL_ALL, SYMBOLS, ask, check_consistent  # noqa: E402


async def _round(ex: Any, cids: range, symbols: list[str], cancel: bool = True) -> Any:
    return await ex.replace_orders(
        symbols if cancel else [], [ask(c, s) for c, s in zip(cids, symbols, strict=True)]
    )


async def test_next_round_opens_with_the_cancel_alls_signed_ahead() -> None:
    async with lighter_rig(batch_size=4) as (sim, ex, account):
        symbols = SYMBOLS[:4]
        await ex.place_orders([ask(100 + i, s) for i, s in enumerate(symbols)])
        for k in range(2):
            taken = ex._presigned.taken
            out = await _round(ex, range(200 + 10 * k, 204 + 10 * k), symbols)
            assert ex._presigned.taken == taken + 4  # every cancel-all was signed ahead
            assert all(c.applied for c in out.cancels.values())
            assert all(p.order is not None for p in out.places)
            check_consistent(sim, account, out)
        cancels = [t for t in sim.txs if t["type"] == CANCEL_ALL]
        assert len(cancels) == 8


async def test_a_round_that_differs_from_the_guess_signs_its_own() -> None:
    async with lighter_rig() as (sim, ex, account):
        await ex.place_orders([ask(100, "SOL"), ask(101, "ETH")])
        taken = ex._presigned.taken
        out = await _round(ex, range(200, 202), ["ETH", "BTC"])  # SOL left, BTC new
        assert ex._presigned.taken == taken  # ETH's cancel-all sits at another nonce now
        assert all(p.order is not None for p in out.places)
        check_consistent(sim, account, out)


async def test_signed_ahead_after_the_dead_man_switch_renewal() -> None:
    async with lighter_rig() as (sim, ex, account):
        at = datetime.now(UTC) + timedelta(minutes=10)
        await ex.arm_dead_man_switch(at)
        await ex.place_orders([ask(100, "SOL"), ask(101, "ETH")])
        await ex.arm_dead_man_switch(at)  # abort + schedule: two nonces
        taken = ex._presigned.taken
        out = await _round(ex, range(200, 202), ["SOL", "ETH"])
        assert ex._presigned.taken == taken + 2
        assert all(c.applied for c in out.cancels.values())
        check_consistent(sim, account, out)
