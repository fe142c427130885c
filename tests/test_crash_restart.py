"""SIGKILL the hedger at random points, restart it, and check nothing went wrong.

The venue lives in this process (it survives the crashes, as a real exchange
does); the hedger runs in a subprocess with a JSON-file state and an SQLite
audit log. After every crash and restart:

* the venue never held two open orders for the symbol at once (a cancel is
  confirmed before a replacement is placed, and reconciliation cancels what
  a crashed run left behind);
* every order the venue ever received has an ``order_intent`` in the audit
  log (write-ahead), and no client order id was ever reused for a new order;
* the state file always loads.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from remote_venue import VenueServer
from xlp_adapters.audit import SqliteAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import JsonFileStateStore
from xlp_core import audit as A
from xlp_core.models import OrderStatus

CHILD = Path(__file__).with_name("crash_child.py")


def spawn(
    url: str, directory: Path, per_token: float, max_cycles: int | None = None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(CHILD.parent), "NO_PROXY": "127.0.0.1"}
    args = [sys.executable, str(CHILD), url, str(directory), str(per_token)]
    if max_cycles is not None:
        args.append(str(max_cycles))
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def reconciled(directory: Path) -> int:
    """How many reconciliations the audit log holds (read-only, beside the writer)."""
    path = directory / "audit.sqlite"
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
        try:
            row = conn.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (A.RECONCILE,))
            return int(row.fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0  # not created yet, or mid-creation


def wait_for_reconcile(proc: subprocess.Popen[bytes], directory: Path, count: int) -> None:
    """Block until the child has durably logged its reconciliation (or exited)."""
    deadline = time.monotonic() + 60
    while reconciled(directory) < count:
        assert proc.poll() is None, "the child exited before reconciling"
        assert time.monotonic() < deadline, "no reconciliation within 60 s"
        time.sleep(0.02)


@pytest.mark.slow
def test_sigkill_restarts_keep_orders_and_state_consistent(tmp_path: Path) -> None:
    rng = random.Random(1234)
    paper = PaperExchange(
        prices={"SOL": 100.0}, positions={"SOL": -100.0}, clock=lambda: datetime.now(UTC)
    )
    violations: list[str] = []
    original_place = paper._place

    def checked_place(request):  # type: ignore[no-untyped-def]
        order = original_place(request)
        live = [c for c in paper._resting.get("SOL", [])]
        if len(live) > 1:
            violations.append(f"{len(live)} open orders after placing {request.client_order_id}")
        return order

    paper._place = checked_place  # type: ignore[method-assign]
    stop_prices = threading.Event()

    with VenueServer(paper) as venue:

        def wiggle() -> None:
            r = random.Random(99)
            while not stop_prices.is_set():
                with venue.lock:
                    paper.set_price("SOL", 100.0 + r.uniform(-1.5, 1.5))
                time.sleep(0.005)

        mover = threading.Thread(target=wiggle, daemon=True)
        mover.start()
        kills = 0
        for run in range(8):
            proc = spawn(venue.url, tmp_path, 0.1 + rng.uniform(0.005, 0.03))
            # Kill only once this run's reconciliation is durable, so every run
            # leaves exactly one reconcile record; then at a random point of
            # its cycles (every 10 ms).
            wait_for_reconcile(proc, tmp_path, run + 1)
            time.sleep(rng.uniform(0.0, 1.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            _, err = proc.communicate(timeout=10)
            assert proc.returncode in (-signal.SIGKILL, 0), err.decode()[-2000:]
            with JsonFileStateStore(tmp_path / "state.json") as store:
                store.load()  # always loadable, and the dead child's lock is gone
        stop_prices.set()
        mover.join()
        # A clean final run reconciles and trades a few cycles.
        final = spawn(venue.url, tmp_path, 0.1, max_cycles=3)
        _, err = final.communicate(timeout=60)
        assert final.returncode == 0, err.decode()[-3000:]

    assert kills >= 4
    assert violations == []
    audit = SqliteAuditSink(tmp_path / "audit.sqlite")
    events = list(audit.events())
    audit.close()
    intents = [e.data["client_order_id"] for e in events if e.kind == A.ORDER_INTENT]
    venue_ids = {o.client_order_id for o in paper.all_orders()}
    assert venue_ids, "the run placed no orders: the test exercised nothing"
    assert venue_ids <= set(intents), "an order reached the venue without a logged intent"
    # An id is only ever logged again by a retry of the same order, never for a new one.
    by_id: dict[int, set[tuple[object, ...]]] = {}
    for e in events:
        if e.kind == A.ORDER_INTENT:
            d = e.data
            by_id.setdefault(d["client_order_id"], set()).add((d["side"], d["type"]))
    assert all(len(v) == 1 for v in by_id.values())
    with JsonFileStateStore(tmp_path / "state.json") as store:
        state = store.load()
    assert state is not None
    open_now = [o for o in paper.all_orders() if o.status.is_open]
    assert len(open_now) <= 1
    if open_now:
        assert state.symbol("SOL").order_id == open_now[0].client_order_id
    reconciles = [e for e in events if e.kind == A.RECONCILE]
    print(
        f"kills={kills} venue_orders={len(venue_ids)} intents={len(intents)} "
        f"reconciles={[(e.data['cancelled'], e.data['adopted']) for e in reconciles]}"
    )
    assert len(reconciles) == 9
    assert sum(1 for o in paper.all_orders() if o.status is OrderStatus.FILLED) > 0
