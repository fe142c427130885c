"""The Lighter simulator in a child process, for benchmarks.

In the benchmark's own process the simulator's Python work (parsing
batches, building answers) holds the GIL that the adapter's signing threads
and event loop need, a cost the real venue never puts on the client's
machine. In a child process it only shares the cores. The handful of calls a
benchmark makes (accounts, positions, RTT, request counts, busy and CPU time) go
over a pipe; none of them is inside a timed region.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    from xlp_adapters.lighter.sim import LighterSim

    sim = LighterSim(**options)
    conn.send(sim.start())
    try:
        while True:
            op, args, kw = conn.recv()
            if op == "stop":
                break
            if op == "set":
                setattr(sim, args[0], args[1])
                conn.send(None)
            elif op == "cpu":  # the whole process: handlers, HTTP server, event loop
                conn.send(time.process_time())
            elif op == "spans":
                conn.send(spans(sim, *args))
            elif op == "get":
                value = getattr(sim, args[0])
                conn.send(dict(value) if args[0] == "counts" else value)
            else:
                conn.send(getattr(sim, op)(*args, **kw))
    finally:
        sim.stop()


def spans(sim: Any, last: int) -> list[tuple[float, float]]:
    """(arrived, answered) of the simulator's ``last`` requests, in its monotonic clock."""
    records = list(sim.requests)[-last:] if last else []
    return [(r["arrived"], r.get("answered", r["arrived"])) for r in records]


def round_trips(intervals: list[tuple[float, float]]) -> int:
    """The longest chain of requests each sent after the one before it was answered.

    That is the number of sequential round trips (the most pairwise
    non-overlapping intervals: earliest answer first).
    """
    count, free_at = 0, float("-inf")
    for arrived, answered in sorted(intervals, key=lambda s: s[1]):
        if arrived >= free_at:
            count, free_at = count + 1, answered
    return count


class SimProcess:
    """``async with SimProcess(markets=..., fill_delay=0.0) as sim``: the calls benchmarks use."""

    def __init__(self, **options: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, options), daemon=True)
        self.url = ""

    async def __aenter__(self) -> SimProcess:
        self._proc.start()
        self.url = self._conn.recv()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._conn.send(("stop", (), {}))
        self._proc.join(10)

    def _call(self, op: str, *args: Any, **kw: Any) -> Any:
        self._conn.send((op, args, kw))
        return self._conn.recv()

    def new_account(self, index: int, *, collateral: float) -> tuple[int, str]:
        account, key = self._call("new_account", index, collateral=collateral)
        return int(account), str(key)

    def set_position(self, account: int, symbol: str, size: float) -> None:
        self._call("set_position", account, symbol, size)

    def spans(self, last: int) -> list[tuple[float, float]]:
        got: list[tuple[float, float]] = self._call("spans", last)
        return got

    @property
    def rtt(self) -> float:
        return float(self._call("get", "rtt"))

    @rtt.setter
    def rtt(self, value: float) -> None:
        self._call("set", "rtt", value)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self._call("get", "counts")
        return counts

    @property
    def busy(self) -> float:
        """Seconds inside the simulator's handlers (parsing, venue logic), as it counts them."""
        return float(self._call("get", "busy"))

    @property
    def cpu(self) -> float:
        """CPU seconds of the simulator's whole process (its HTTP server included)."""
        return float(self._call("cpu"))
