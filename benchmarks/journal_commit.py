"""Cost of a cycle's durable writes on this disk: one journal commit vs the old way.

A cycle with 50 symbols records a few non-order events and its state. The
old way (separate SQLite state store and audit log) cost one transaction per
event plus one for the state, and an indented JSON encode re-parsed to
check it. The journal writes the events and the compact, pre-validated
state in one transaction (SQLite) or one fsync'd append (files). Every
figure is measured in this run, beside its baseline. The SQLite journal's
main figure fsyncs before returning (``idle_fsync="inline"``); the "idle"
line is the default journal committing an idle cycle, whose fsync runs on
the journal's thread afterwards.

    python benchmarks/journal_commit.py [--symbols 50] [--events 2] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from xlp_adapters.audit import JsonlAuditSink, SqliteAuditSink
from xlp_adapters.journal import FileJournal, SqliteJournal
from xlp_adapters.stores import JsonFileStateStore, SqliteStateStore
from xlp_adapters.stores.json_file import encode_state
from xlp_core.audit import AuditEvent
from xlp_core.state import HedgeState, SymbolState, state_from_dict, state_to_dict

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_state(cycle: int, n: int) -> HedgeState:
    symbols = {
        f"S{i:02d}": SymbolState(
            offset=0.5 + i,
            cost_basis=100.0 + i,
            exchange_position=-3.0 - i,
            last_fill_at=T0,
            order_zone=2,
            order_id=10_000 + i,
            order_placed_at=T0,
            zone=2,
        )
        for i in range(n)
    }
    return HedgeState(cycle=cycle, symbols=symbols, updated_at=T0)


def events(cycle: int, k: int) -> list[AuditEvent]:
    kinds = ["cycle_start", "cycle_end", "alert", "decision"]
    return [
        AuditEvent(T0, kinds[j % 4], cycle, None, {"symbols": 50, "orders": 0, "j": j})
        for j in range(k)
    ]


def old_encode(state: HedgeState) -> str:
    """What the stores did before: indented, sorted, then parsed back to check it."""
    text = json.dumps(state_to_dict(state), indent=1, sort_keys=True, allow_nan=False)
    state_from_dict(json.loads(text))
    return text + "\n"


def idle_events(cycle: int) -> list[AuditEvent]:
    """An idle cycle's events: the commit the default journal fsyncs in the background."""
    kinds = ["cycle_start", "decisions", "cycle_end"]
    return [AuditEvent(T0, kind, cycle, None, {"symbols": {}}) for kind in kinds]


def timed(fn: Callable[[int], None], repeat: int) -> float:
    fn(0)  # warm-up (creates files, tables)
    samples = []
    for c in range(1, repeat + 1):
        t = time.perf_counter()
        fn(c)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--events", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    n, k, repeat = args.symbols, args.events, args.repeat
    states = {c: make_state(c, n) for c in range(repeat + 1)}
    print(f"{n} symbols, {k} events per cycle, median of {repeat} (ms)")

    def enc_old_fn(c: int) -> None:
        old_encode(states[c])

    def enc_new_fn(c: int) -> None:
        encode_state(states[c])

    enc_old = timed(enc_old_fn, repeat)
    enc_new = timed(enc_new_fn, repeat)
    print(f"  encode+check state   new {enc_new:7.3f}   old {enc_old:7.3f}")

    with tempfile.TemporaryDirectory(dir=".") as tmp:
        d = Path(tmp)
        store = SqliteStateStore(d / "s.sqlite")
        audit = SqliteAuditSink(d / "a.sqlite")

        def sqlite_old(c: int) -> None:
            for e in events(c, k):
                audit.append(e)
            store.save(states[c])

        # "inline": fsynced before commit returns, like every write of the
        # old way. The default fsyncs an idle cycle's commit on a thread.
        journal = SqliteJournal(d / "j.sqlite", idle_fsync="inline")
        deferred = SqliteJournal(d / "k.sqlite")
        old = timed(sqlite_old, repeat)
        new = timed(lambda c: journal.commit(events(c, k), states[c]), repeat)
        print(f"  SQLite commit        new {new:7.3f}   old {old:7.3f}  ({k} appends + save)")
        idle = timed(lambda c: deferred.commit(idle_events(c), states[c]), repeat)
        print(f"  idle SQLite commit   new {idle:7.3f}  (fsync on the journal's thread after)")
        store.close()
        audit.close()
        journal.close()
        deferred.close()

        jstore = JsonFileStateStore(d / "s.json")
        jaudit = JsonlAuditSink(d / "a.jsonl")

        def files_old(c: int) -> None:
            for e in events(c, k):
                jaudit.append(e)
            jstore.save(states[c])

        fjournal = FileJournal(d / "f.json", d / "f.jsonl")
        old = timed(files_old, repeat)
        new = timed(lambda c: fjournal.commit(events(c, k), states[c]), repeat)
        print(f"  file commit          new {new:7.3f}   old {old:7.3f}  ({k} appends + save)")
        jstore.close()
        jaudit.close()
        fjournal.close()


if __name__ == "__main__":
    main()
