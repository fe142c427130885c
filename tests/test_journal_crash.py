"""SIGKILL a process committing to a journal: state and events stay together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlp_adapters.journal import FileJournal, SqliteJournal

CHILD = """
import sys
from datetime import UTC, datetime
from pathlib import Path
sys.path[:0] = [{src!r}]
from xlp_adapters.journal import FileJournal, SqliteJournal
from xlp_core.audit import AuditEvent
from xlp_core.state import HedgeState, SymbolState
d = Path({dir!r})
j = {expr}
start = (j.load() or HedgeState()).cycle
t = datetime(2026, 1, 1, tzinfo=UTC)
for c in range(start + 1, start + 100_000):
    evs = [AuditEvent(t, "decision", c, "SOL", {{"n": k}}) for k in range(3)]
    j.commit(evs, HedgeState(cycle=c, symbols={{"SOL": SymbolState(offset=float(c))}}))
    print(c, flush=True)
"""
EXPR = {
    "sqlite": "SqliteJournal(d / 'j.sqlite')",
    "file": "FileJournal(d / 'state.json', d / 'audit.jsonl')",
}


def reopen(kind: str, d: Path) -> SqliteJournal | FileJournal:
    if kind == "sqlite":
        return SqliteJournal(d / "j.sqlite")
    return FileJournal(d / "state.json", d / "audit.jsonl")


@pytest.mark.parametrize("kind", list(EXPR))
def test_killed_committer_loses_no_acknowledged_commit_and_never_splits_one(
    tmp_path: Path, kind: str
) -> None:
    src = str(Path(__file__).parents[1] / "src")
    code = CHILD.format(src=src, dir=str(tmp_path), expr=EXPR[kind])
    for delay in (0.3, 0.05, 0.5):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # at least one commit acknowledged
        assert first.strip().isdigit()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
        acked = int(([first, *rest.split()])[-1])
        with reopen(kind, tmp_path) as journal:
            state = journal.load()
            assert state is not None
            # Acknowledged commits survive; at most the one in flight is extra.
            assert acked <= state.cycle <= acked + 1
            cycles = [e.cycle for e in journal.events()]
            # Every committed cycle has all its events, and nothing beyond the state.
            assert cycles == [c for c in range(1, state.cycle + 1) for _ in range(3)]
