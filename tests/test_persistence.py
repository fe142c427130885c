"""State stores and audit sinks: durability, corruption handling, redaction."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlp_adapters.audit import JsonlAuditSink, MemoryAuditSink, SqliteAuditSink, redact
from xlp_adapters.stores import JsonFileStateStore, MemoryStateStore, SqliteStateStore
from xlp_core import audit as A
from xlp_core.audit import AuditEvent
from xlp_core.errors import AuditError, StateCorruptError
from xlp_core.ports import AuditSink, StateStore
from xlp_core.state import HedgeState, SymbolState

T0 = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
STATE = HedgeState(
    cycle=42,
    epoch=12345,
    updated_at=T0,
    symbols={
        "SOL": SymbolState(
            offset=1.5,
            cost_basis=150.2,
            exchange_position=-98.5,
            last_fill_at=T0,
            order_zone=2,
            order_id=99,
            order_placed_at=T0,
            zone=2,
            fill_zone=4,
        ),
        "BONK": SymbolState(offset=-123456.0, cost_basis=0.00002),
    },
)


def stores(tmp_path: Path) -> list[StateStore]:
    return [
        JsonFileStateStore(tmp_path / "s.json"),
        SqliteStateStore(tmp_path / "s.sqlite"),
        MemoryStateStore(),
    ]


def test_round_trip_and_protocols(tmp_path: Path) -> None:
    for store in stores(tmp_path):
        assert isinstance(store, StateStore)
        assert store.load() is None
        store.save(STATE)
        assert store.load() == STATE
        store.close()


def test_sqlite_history_and_newest(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.sqlite", keep=3)
    for c in range(1, 6):
        store.save(HedgeState(cycle=c))
    assert store.load() == HedgeState(cycle=5)
    assert [s.cycle for s in store.history(10)] == [5, 4, 3]
    store.close()
    reopened = SqliteStateStore(tmp_path / "s.sqlite")
    assert reopened.load() == HedgeState(cycle=5)


def test_crash_before_rename_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JsonFileStateStore(tmp_path / "s.json")
    store.save(HedgeState(cycle=1))

    def boom(src: object, dst: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(Exception, match="power cut"):
        store.save(HedgeState(cycle=2))
    monkeypatch.undo()
    assert store.load() == HedgeState(cycle=1)
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"version": 99}', b'{"version": 1, "cycle": NaN}', b"[]", b"\xff\xfe"],
)
def test_corrupt_json_is_typed_error_and_bytes_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(content)
    store = JsonFileStateStore(path)
    with pytest.raises(StateCorruptError, match=str(path)):
        store.load()
    assert path.read_bytes() == content
    store.save(STATE)  # a deliberate save moves the corrupt file aside first
    assert store.load() == STATE
    (aside,) = tmp_path.glob("s.json.corrupt-*")
    assert aside.read_bytes() == content


def test_json_keeps_backup(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path / "s.json")
    store.save(HedgeState(cycle=1))
    store.save(HedgeState(cycle=2))
    assert store.load_backup() == HedgeState(cycle=1)


def test_non_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"hello, I am a text file")
    with pytest.raises(StateCorruptError):
        SqliteStateStore(path)
    with pytest.raises(AuditError):
        SqliteAuditSink(path)
    assert path.read_bytes() == b"hello, I am a text file"


def test_corrupt_sqlite_row_is_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    SqliteStateStore(path).save(STATE)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO state (cycle, body) VALUES (43, '{\"version\": 7}')")
    conn.commit()
    conn.close()
    with pytest.raises(StateCorruptError):
        SqliteStateStore(path).load()


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10**9),
    st.dictionaries(
        st.sampled_from(["SOL", "ETH", "BTC", "BONK"]),
        st.builds(
            SymbolState,
            offset=st.floats(-1e9, 1e9),
            cost_basis=st.floats(0, 1e9),
            exchange_position=st.none() | st.floats(-1e9, 1e9),
            order_zone=st.none() | st.integers(-1, 100),
            order_id=st.none() | st.integers(0, 2**47),
        ),
    ),
)
def test_any_state_round_trips(cycle: int, symbols: dict[str, SymbolState]) -> None:
    state = HedgeState(cycle=cycle, symbols=symbols)
    store = MemoryStateStore()
    store.save(state)
    assert store.load() == state


def event(kind: str = A.ORDER_INTENT, **data: object) -> AuditEvent:
    return AuditEvent(T0, kind, 3, "SOL", {"client_order_id": 7, **data})


def sinks(tmp_path: Path) -> list[AuditSink]:
    return [
        JsonlAuditSink(tmp_path / "a.jsonl"),
        SqliteAuditSink(tmp_path / "a.sqlite"),
        MemoryAuditSink(),
    ]


def test_audit_round_trip_and_redaction(tmp_path: Path) -> None:
    for sink in sinks(tmp_path):
        assert isinstance(sink, AuditSink)
        sink.append(event(private_key="0xdeadbeef", nested={"api_key": "k", "size": 1.5}))
        sink.append(event(A.ORDER_RESULT, outcome="accepted"))
        got = list(sink.events())
        assert [e.kind for e in got] == [A.ORDER_INTENT, A.ORDER_RESULT]
        assert got[0].data["private_key"] == "***"
        assert got[0].data["nested"] == {"api_key": "***", "size": 1.5}
        assert got[0].at == T0
        sink.close()
    assert "deadbeef" not in (tmp_path / "a.jsonl").read_text()


def test_redact_is_recursive() -> None:
    assert redact({"auth_token": 1, "x": [{"password": 2}], "ok": 3}) == {
        "auth_token": "***", "x": [{"password": "***"}], "ok": 3,
    }  # fmt: skip


def test_jsonl_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    sink = JsonlAuditSink(path)
    sink.append(event())
    sink.close()
    with open(path, "ab") as fh:
        fh.write(b'{"at": "2026-01-01T12:3')  # crash mid-write
    reader = JsonlAuditSink.__new__(JsonlAuditSink)
    reader.path, reader.torn_tail = path, False
    assert len(list(reader.events())) == 1
    assert reader.torn_tail
    sink = JsonlAuditSink(path)  # reopening sets the fragment aside, bytes kept
    sink.append(event(A.ORDER_RESULT))
    assert [e.kind for e in sink.events()] == [A.ORDER_INTENT, A.ORDER_RESULT]
    sink.close()
    (aside,) = tmp_path.glob("a.jsonl.torn-*")
    assert aside.read_bytes() == b'{"at": "2026-01-01T12:3'


def test_jsonl_mid_file_corruption_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    sink = JsonlAuditSink(path)
    sink.append(event())
    sink.close()
    with open(path, "ab") as fh:
        fh.write(b"garbage\n")
    sink = JsonlAuditSink(path)
    sink.append(event())
    sink.close()
    with pytest.raises(AuditError, match=":2:"):
        list(sink.events())


def test_jsonl_write_failure_is_audit_error(tmp_path: Path) -> None:
    sink = JsonlAuditSink(tmp_path / "a.jsonl")
    sink.close()
    with pytest.raises(AuditError):
        sink.append(event())


def test_sqlite_audit_is_append_only_and_queryable(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    sink = SqliteAuditSink(path)
    sink.append(event())
    sink.append(AuditEvent(T0, A.DECISION, 5, "ETH", {}))
    assert [e.symbol for e in sink.query(kind=A.DECISION)] == ["ETH"]
    assert [e.cycle for e in sink.query(since_cycle=4)] == [5]
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET kind = 'x'")
    conn.close()


def test_memory_sink_simulated_disk_failure() -> None:
    sink = MemoryAuditSink()
    sink.fail_next_append()
    with pytest.raises(AuditError):
        sink.append(event())
    sink.append(event())
    assert len(sink.items) == 1
