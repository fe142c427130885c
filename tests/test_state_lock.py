"""One hedger per state: every durable store locks it; leftover temp files go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from xlp_adapters.journal import FileJournal, SqliteJournal
from xlp_adapters.stores import JsonFileStateStore, SqliteStateStore
from xlp_core.errors import StateError, StateLockedError
from xlp_core.state import HedgeState

Opener = Callable[[Path], Any]

OPENERS: dict[str, Opener] = {
    "json": lambda d: JsonFileStateStore(d / "state.json"),
    "sqlite": lambda d: SqliteStateStore(d / "state.sqlite"),
    "sqlite-journal": lambda d: SqliteJournal(d / "journal.sqlite"),
    "file-journal": lambda d: FileJournal(d / "state.json", d / "audit.jsonl"),
}
STATE_FILE = {
    "json": "state.json",
    "sqlite": "state.sqlite",
    "sqlite-journal": "journal.sqlite",
    "file-journal": "state.json",
}

HOLDER = """
import sys, time
from pathlib import Path
sys.path[:0] = [{src!r}]
from xlp_adapters.journal import FileJournal, SqliteJournal
from xlp_adapters.stores import JsonFileStateStore, SqliteStateStore
d = Path({dir!r})
store = {expr}
print("locked", flush=True)
time.sleep(60)
"""
EXPR = {
    "json": "JsonFileStateStore(d / 'state.json')",
    "sqlite": "SqliteStateStore(d / 'state.sqlite')",
    "sqlite-journal": "SqliteJournal(d / 'journal.sqlite')",
    "file-journal": "FileJournal(d / 'state.json', d / 'audit.jsonl')",
}


def hold_in_child(kind: str, directory: Path) -> subprocess.Popen[str]:
    src = str(Path(__file__).parents[1] / "src")
    code = HOLDER.format(src=src, dir=str(directory), expr=EXPR[kind])
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.parametrize("kind", list(OPENERS))
def test_second_opener_in_same_process_is_refused_until_close(tmp_path: Path, kind: str) -> None:
    first = OPENERS[kind](tmp_path)
    first.save(HedgeState(cycle=1))
    with pytest.raises(StateLockedError) as info:
        OPENERS[kind](tmp_path)
    assert info.value.holder_pid == os.getpid()
    assert f"in use by pid {os.getpid()}" in str(info.value)
    assert STATE_FILE[kind] in str(info.value)
    assert isinstance(info.value, StateError)  # the CLI's exit 3
    first.save(HedgeState(cycle=2))  # the holder is unaffected
    first.close()
    with OPENERS[kind](tmp_path) as second:
        assert second.load() == HedgeState(cycle=2)


@pytest.mark.parametrize("kind", list(OPENERS))
def test_another_process_holding_the_state_is_named_and_death_releases(
    tmp_path: Path, kind: str
) -> None:
    child = hold_in_child(kind, tmp_path)
    try:
        with pytest.raises(StateLockedError, match=f"in use by pid {child.pid}") as info:
            OPENERS[kind](tmp_path)
        assert info.value.holder_pid == child.pid
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=10)
    with OPENERS[kind](tmp_path) as store:  # the kernel dropped the dead holder's lock
        store.save(HedgeState(cycle=3))


def test_a_closed_json_store_refuses_to_save(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path / "s.json")
    store.close()
    with pytest.raises(StateError, match="closed"):
        store.save(HedgeState(cycle=1))


def test_refusal_is_immediate_not_blocking(tmp_path: Path) -> None:
    holder = JsonFileStateStore(tmp_path / "s.json")
    started = time.monotonic()
    with pytest.raises(StateLockedError):
        JsonFileStateStore(tmp_path / "s.json")
    assert time.monotonic() - started < 5  # generous: it must not wait for the holder
    holder.close()


@pytest.mark.parametrize("kind", ["json", "file-journal"])
def test_leftover_temp_files_are_removed_on_open(tmp_path: Path, kind: str) -> None:
    with OPENERS[kind](tmp_path) as store:
        store.save(HedgeState(cycle=1))
    dead = tmp_path / ".state.json.tmp-999999"
    dead.write_bytes(b'{"half": ')
    bak = tmp_path / ".state.json.bak.tmp-123"
    bak.write_bytes(b"x")
    unrelated = tmp_path / ".other.json.tmp-5"
    unrelated.write_bytes(b"keep")
    with OPENERS[kind](tmp_path) as store:
        assert store.load() == HedgeState(cycle=1)
    assert not dead.exists()
    assert not bak.exists()
    assert unrelated.exists()


def test_temp_files_are_not_touched_while_another_holder_writes(tmp_path: Path) -> None:
    holder = JsonFileStateStore(tmp_path / "state.json")
    mine = tmp_path / f".state.json.tmp-{os.getpid()}"
    mine.write_bytes(b"in flight")
    with pytest.raises(StateLockedError):
        JsonFileStateStore(tmp_path / "state.json")
    assert mine.exists()  # the refused opener cleaned nothing
    holder.close()
