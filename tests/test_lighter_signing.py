"""A round's signatures (``xlp_adapters.lighter.signing``): queued at once, a slice per worker."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from xlp_adapters.lighter.signing import Signing, checked
from xlp_core.errors import OrderRejectedError


def fake_sign(tag: str, calls: list[tuple[str, int]]) -> Any:
    """A signer answer shaped like the SDK's: (tx type, tx info, tx hash, error)."""

    def sign(nonce: int) -> tuple[Any, ...]:
        calls.append((tag, nonce))
        return 14, json.dumps({"Nonce": nonce, "Tag": tag}), "hash", None

    return sign


def no_ahead(sign: Any, nonce: int) -> None:
    return None


async def test_a_batch_is_signed_in_one_job_per_worker_in_nonce_order() -> None:
    calls: list[tuple[str, int]] = []
    submitted: list[Any] = []

    class Counting(ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kw: Any) -> Any:
            submitted.append(args)
            return super().submit(fn, *args, **kw)

    with Counting(2) as pool:
        signers = [fake_sign(f"t{i}", calls) for i in range(5)]
        out = await Signing(pool, 2, signers, 100, no_ahead).result()
    assert len(submitted) == 2  # two slices, not five jobs
    assert [json.loads(info)["Nonce"] for _, info in out] == [100, 101, 102, 103, 104]
    assert [json.loads(info)["Tag"] for _, info in out] == [f"t{i}" for i in range(5)]
    assert sorted(calls) == [(f"t{i}", 100 + i) for i in range(5)]


async def test_every_batch_is_queued_before_any_is_awaited() -> None:
    calls: list[tuple[str, int]] = []
    with ThreadPoolExecutor(1) as pool:
        first = Signing(pool, 1, [fake_sign("a", calls)], 10, no_ahead)
        second = Signing(pool, 1, [fake_sign("b", calls)], 11, no_ahead)
        pool.submit(lambda: None).result()  # the queue is FIFO: both ran by now
        assert calls == [("a", 10), ("b", 11)]
        assert len(await first.result()) == len(await second.result()) == 1


async def test_a_signature_started_ahead_stands_in_and_is_checked() -> None:
    calls: list[tuple[str, int]] = []
    ready: Future[tuple[Any, ...]] = Future()
    ready.set_result((16, json.dumps({"Nonce": 7}), "h", None))
    sign_cancel = fake_sign("cancel", calls)

    def take(sign: Any, nonce: int) -> Future[tuple[Any, ...]] | None:
        return ready if sign is sign_cancel else None

    with ThreadPoolExecutor(2) as pool:
        out = await Signing(pool, 2, [sign_cancel, fake_sign("o", calls)], 7, take).result()
    assert calls == [("o", 8)]  # the cancel-all was not signed again
    assert [t for t, _ in out] == [16, 14]
    wrong: Future[tuple[Any, ...]] = Future()
    wrong.set_result((16, json.dumps({"Nonce": 9}), "h", None))
    with ThreadPoolExecutor(1) as pool, pytest.raises(OrderRejectedError, match="nonce 9"):
        await Signing(pool, 1, [sign_cancel], 7, lambda s, n: wrong).result()


async def test_a_wrong_nonce_or_a_signer_error_is_refused() -> None:
    with pytest.raises(OrderRejectedError, match="expected 5"):
        checked((14, json.dumps({"Nonce": 6}), "h", None), 5)
    with pytest.raises(OrderRejectedError, match="signer refused"):
        checked((None, None, None, "bad key"), 5)
    with ThreadPoolExecutor(1) as pool, pytest.raises(OrderRejectedError):
        await Signing(pool, 1, [lambda n: (14, "not json", "h", None)], 1, no_ahead).result()


def test_cancel_drops_the_signatures_not_started() -> None:
    calls: list[tuple[str, int]] = []
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(gate.wait)  # the only worker is busy
        queued = Signing(pool, 1, [fake_sign("late", calls)], 1, no_ahead)
        queued.cancel()
        gate.set()
    assert calls == []


pytest.importorskip("lighter")

from lighter_rig import lighter_rig  # noqa: E402
from test_lighter_replace import SYMBOLS, ask  # noqa: E402


async def test_a_round_queues_every_batch_before_the_first_post() -> None:
    async with lighter_rig(batch_size=2) as (sim, ex, _account):
        symbols = SYMBOLS[:3]
        await ex.place_orders([ask(100 + i, s) for i, s in enumerate(symbols)])
        steps: list[str] = []
        signing, post = ex._signing, ex._post_checked

        def queue(signers: Any, first: int) -> Any:
            steps.append(f"queue {first}")
            return signing(signers, first)

        async def posting(what: str, txs: Any) -> Any:
            steps.append(f"post {json.loads(txs[0][1])['Nonce']}")
            return await post(what, txs)

        ex._signing, ex._post_checked = queue, posting  # type: ignore[method-assign]
        out = await ex.replace_orders(symbols, [ask(200 + i, s) for i, s in enumerate(symbols)])
        assert all(p.order is not None for p in out.places)
        nonce = 100 + len(symbols)  # after the first round's orders
        firsts = [nonce, nonce + 2, nonce + 4]  # three batches of two: cancel-all + order each
        # (a batch that raced ahead of the one before is posted again after these)
        assert steps[:6] == [f"queue {n}" for n in firsts] + [f"post {n}" for n in firsts]
        assert sim.counts["sendTxBatch"] >= 1 + 3
