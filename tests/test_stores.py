"""State stores: round trips, atomic saves, corrupt data kept and reported."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlp_adapters.audit import SqliteAuditSink
from xlp_adapters.stores import JsonFileStateStore, MemoryStateStore, SqliteStateStore
from xlp_core.errors import ConfigError, StateCorruptError, StateError
from xlp_core.ports import StateStore
from xlp_core.state import HedgeState, SymbolState

T0 = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)
T_NY = datetime(2026, 3, 9, 7, 0, tzinfo=timezone(timedelta(hours=-5)))

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
            order_placed_at=T_NY,
            last_alert_at=T0,
            zone=2,
            fill_zone=4,
        ),
        "BONK": SymbolState(offset=-123456.0, cost_basis=0.00002),
        "ETH": SymbolState(),  # every optional field None
    },
)
MANY = HedgeState(
    cycle=7,
    symbols={f"SYM{i:03d}": SymbolState(offset=i * 0.5, cost_basis=float(i)) for i in range(60)},
)


def tamper(path: Path, *statements: str) -> None:
    """Change a database behind the store's back, as another program would."""
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def in_threads(worker: Callable[[int], None], count: int = 4) -> list[BaseException]:
    """Run ``worker(0)``, ``worker(100)``, ... at once; what they raised."""
    errors: list[BaseException] = []

    def guarded(base: int) -> None:
        try:
            worker(base)
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n * 100,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


Factory = Callable[[Path], StateStore]
FACTORIES: dict[str, Factory] = {
    "json": lambda d: JsonFileStateStore(d / "nested" / "state.json"),
    "sqlite": lambda d: SqliteStateStore(d / "nested" / "state.sqlite"),
    "memory": lambda d: MemoryStateStore(),
}


@pytest.fixture(params=sorted(FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    s = FACTORIES[request.param](tmp_path)
    yield s
    s.close()


# --- every store -------------------------------------------------------------


def test_is_a_state_store_and_starts_empty(store: StateStore) -> None:
    assert isinstance(store, StateStore)
    assert store.load() is None


@pytest.mark.parametrize("state", [STATE, MANY, HedgeState()], ids=["full", "many", "empty"])
def test_round_trip(store: StateStore, state: HedgeState) -> None:
    store.save(state)
    loaded = store.load()
    assert loaded == state
    assert loaded is not None
    sol = loaded.symbols.get("SOL")
    if sol is not None:  # timezones survive, not just the instant
        assert sol.order_placed_at is not None
        assert sol.order_placed_at.utcoffset() == timedelta(hours=-5)


def test_newest_save_wins(store: StateStore) -> None:
    for cycle in range(1, 4):
        store.save(HedgeState(cycle=cycle))
    assert store.load() == HedgeState(cycle=3)


def test_saved_state_cannot_be_mutated_through_aliases(store: StateStore) -> None:
    symbols = {"SOL": SymbolState(offset=1.0)}
    store.save(HedgeState(cycle=1, symbols=symbols))
    symbols["SOL"] = SymbolState(offset=99.0)
    symbols["ETH"] = SymbolState()
    assert store.load() == HedgeState(cycle=1, symbols={"SOL": SymbolState(offset=1.0)})


@pytest.mark.parametrize(
    "bad",
    [
        HedgeState(symbols={"SOL": SymbolState(offset=math.nan)}),
        HedgeState(symbols={"SOL": SymbolState(exchange_position=math.inf)}),
        HedgeState(symbols={"SOL": SymbolState(cost_basis=-1.0)}),
        HedgeState(version=2),
        HedgeState(updated_at=datetime(2026, 1, 1)),  # naive: would not load back
    ],
    ids=["nan", "inf", "negative-cost", "version", "naive-datetime"],
)
def test_refuses_to_save_what_it_could_not_load(store: StateStore, bad: HedgeState) -> None:
    store.save(STATE)
    with pytest.raises(StateError, match="refusing to save"):
        store.save(bad)
    assert store.load() == STATE


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(sorted(FACTORIES)),
    cycle=st.integers(-(2**62), 2**62),
    epoch=st.integers(0, 2**48),
    updated_at=st.none()
    | st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m))),
    ),
    symbols=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.builds(
            SymbolState,
            offset=st.floats(allow_nan=False, allow_infinity=False),
            cost_basis=st.floats(min_value=0, allow_infinity=False),
            exchange_position=st.none() | st.floats(allow_nan=False, allow_infinity=False),
            order_zone=st.none() | st.integers(-5, 100),
            order_id=st.none() | st.integers(0, 2**47),
            zone=st.none() | st.integers(-5, 100),
            fill_zone=st.none() | st.integers(-5, 100),
        ),
        max_size=6,
    ),
)
def test_any_state_round_trips_through_every_store(
    kind: str,
    cycle: int,
    epoch: int,
    updated_at: datetime | None,
    symbols: dict[str, SymbolState],
) -> None:
    state = HedgeState(cycle=cycle, epoch=epoch, updated_at=updated_at, symbols=symbols)
    with tempfile.TemporaryDirectory() as d:
        s = FACTORIES[kind](Path(d))
        try:
            s.save(state)
            assert s.load() == state
        finally:
            s.close()
        if kind != "memory":  # and after a reopen
            s = FACTORIES[kind](Path(d))
            try:
                assert s.load() == state
            finally:
                s.close()


# --- JSON file -----------------------------------------------------------------


def test_json_creates_parent_dirs_and_writes_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.json"
    JsonFileStateStore(path).save(STATE)
    data = json.loads(path.read_text())
    assert data["cycle"] == 42
    assert data["symbols"]["SOL"]["order_placed_at"] == T_NY.isoformat()
    assert "last_fill_at" not in data["symbols"]["ETH"]  # nothing on record: left out


def test_a_state_without_its_empty_fields_loads_as_before(tmp_path: Path) -> None:
    """Files written before empty fields were left out (``null`` each) load the same."""
    path = tmp_path / "state.json"
    store = JsonFileStateStore(path)
    try:
        store.save(STATE)
        data = json.loads(path.read_text())
        for sym in data["symbols"].values():
            for key in ("exchange_position", "last_fill_at", "order_zone", "order_id"):
                sym.setdefault(key, None)
            for key in ("order_placed_at", "last_alert_at", "zone", "fill_zone"):
                sym.setdefault(key, None)
        path.write_text(json.dumps(data))
        assert '"fill_zone": null' in path.read_text()
        assert store.load() == STATE
    finally:
        store.close()


def test_json_missing_file_is_none_and_nothing_is_created(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path / "state.json")
    assert store.load() is None
    assert store.load_backup() is None
    assert [p.name for p in tmp_path.iterdir()] == ["state.json.lock"]  # only the lock


def _fail_replace_onto(
    monkeypatch: pytest.MonkeyPatch, target: Path | None
) -> Callable[[], list[str]]:
    """Make ``os.replace`` raise (for every target, or only onto ``target``)."""
    real = os.replace
    seen: list[str] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(Path(dst).name)
        if target is None or Path(dst) == target:
            raise OSError("power cut between write and rename")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return lambda: seen


@pytest.mark.parametrize("only_main", [False, True], ids=["first-rename", "main-rename"])
def test_json_crash_before_rename_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, only_main: bool
) -> None:
    path = tmp_path / "state.json"
    store = JsonFileStateStore(path)
    store.save(HedgeState(cycle=1))
    before = path.read_bytes()
    seen = _fail_replace_onto(monkeypatch, path if only_main else None)
    with pytest.raises(StateError, match="power cut"):
        store.save(HedgeState(cycle=2))
    monkeypatch.undo()
    assert "state.json" in seen() or not only_main
    assert path.read_bytes() == before
    store.close()
    with JsonFileStateStore(path) as reopened:
        assert reopened.load() == HedgeState(cycle=1)
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


def test_json_crash_before_fsync_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    store = JsonFileStateStore(path)
    store.save(HedgeState(cycle=1))

    def failing_fsync(fd: int) -> None:
        raise OSError("EIO")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StateError, match="EIO"):
        store.save(HedgeState(cycle=2))
    monkeypatch.undo()
    assert store.load() == HedgeState(cycle=1)


def test_json_save_fsyncs_file_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JsonFileStateStore(tmp_path / "state.json")
    real = os.fsync
    calls: list[int] = []

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    store.save(HedgeState(cycle=1))  # new file: temp file + directory
    assert len(calls) == 2
    store.save(HedgeState(cycle=2))  # plus the backup's temp file + directory
    assert len(calls) == 6


def test_json_keeps_backup_and_load_never_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = JsonFileStateStore(path)
    store.save(HedgeState(cycle=1))
    assert store.load_backup() is None
    store.save(HedgeState(cycle=2))
    store.save(HedgeState(cycle=3))
    assert store.load() == HedgeState(cycle=3)
    assert store.load_backup() == HedgeState(cycle=2)
    path.write_bytes(b"{torn")
    with pytest.raises(StateCorruptError):
        store.load()
    assert store.load_backup() == HedgeState(cycle=2)


CORRUPT = {
    "garbage": b"{not json",
    "empty": b"",
    "truncated": json.dumps({"version": 1, "cycle": 3}).encode()[:-3],
    "wrong-version": b'{"version": 99}',
    "nan": b'{"version": 1, "cycle": 1, "symbols": {"SOL": {"offset": NaN}}}',
    "infinity": b'{"version": 1, "symbols": {"SOL": {"cost_basis": Infinity}}}',
    "array": b"[]",
    "not-utf8": b"\xff\xfe\xfa",
    "duplicate-key": b'{"version": 1, "cycle": 1, "cycle": 2}',
    "negative-cost": b'{"version": 1, "symbols": {"SOL": {"cost_basis": -5}}}',
    "naive-datetime": b'{"version": 1, "updated_at": "2026-01-01T00:00:00"}',
    "string-cycle": b'{"version": 1, "cycle": "7"}',
}


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
def test_json_corrupt_file_is_typed_error_and_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    store = JsonFileStateStore(path)
    for _ in range(2):  # and it stays an error: nothing was "repaired"
        with pytest.raises(StateCorruptError, match=str(path)):
            store.load()
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock"]
    store.save(STATE)  # a deliberate save copies the corrupt file aside first
    assert store.load() == STATE
    (aside,) = store.corrupt_copies()
    assert aside.name.startswith("state.json.corrupt-")
    assert aside.read_bytes() == content
    assert not store.backup_path.exists()  # a corrupt file is not a backup


def test_json_save_over_corrupt_file_never_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"{corrupt")
    store = JsonFileStateStore(path)
    _fail_replace_onto(monkeypatch, None)
    with pytest.raises(StateError):
        store.save(STATE)
    monkeypatch.undo()
    assert path.read_bytes() == b"{corrupt"  # still there: load keeps failing, not "empty"
    with pytest.raises(StateCorruptError):
        store.load()
    assert [p.read_bytes() for p in store.corrupt_copies()] == [b"{corrupt"]


def test_json_each_corruption_gets_its_own_copy(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = JsonFileStateStore(path)
    for content in (b"{first", b"{second", b"{third"):
        path.write_bytes(content)
        store.save(HedgeState(cycle=1))
    copies = store.corrupt_copies()
    assert sorted(p.read_bytes() for p in copies) == [b"{first", b"{second", b"{third"]


def test_json_directory_at_path_is_a_state_error_not_corruption(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.mkdir()
    store = JsonFileStateStore(path)
    with pytest.raises(StateError) as info:
        store.load()
    assert not isinstance(info.value, StateCorruptError)
    with pytest.raises(StateError):
        store.save(STATE)
    assert path.is_dir()


def test_json_concurrent_saves_leave_a_valid_file(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path / "state.json")

    def worker(base: int) -> None:
        for i in range(20):
            store.save(HedgeState(cycle=base + i))

    assert in_threads(worker) == []
    loaded = store.load()
    assert loaded is not None
    assert loaded.cycle % 100 == 19
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


def test_json_repr_is_the_path(tmp_path: Path) -> None:
    assert (
        repr(JsonFileStateStore(tmp_path / "s.json"))
        == f"JsonFileStateStore({str(tmp_path / 's.json')!r})"
    )


# --- SQLite --------------------------------------------------------------------


def test_sqlite_keeps_history_and_loads_newest(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SqliteStateStore(path, keep=3) as store:
        for c in range(1, 6):
            store.save(HedgeState(cycle=c, updated_at=T0 + timedelta(minutes=c)))
        assert store.load() == HedgeState(cycle=5, updated_at=T0 + timedelta(minutes=5))
        assert [s.cycle for s in store.history(10)] == [5, 4, 3]
        assert [s.cycle for s in store.history(2)] == [5, 4]
        assert store.load_cycle(4) == HedgeState(cycle=4, updated_at=T0 + timedelta(minutes=4))
        assert store.load_cycle(1) is None  # pruned
    with SqliteStateStore(path) as reopened:
        assert reopened.load() is not None
        assert reopened.load() == HedgeState(cycle=5, updated_at=T0 + timedelta(minutes=5))


def test_sqlite_same_cycle_saved_twice_loads_the_later(tmp_path: Path) -> None:
    with SqliteStateStore(tmp_path / "s.sqlite") as store:
        store.save(HedgeState(cycle=3, epoch=1))
        store.save(HedgeState(cycle=3, epoch=2))
        assert store.load() == HedgeState(cycle=3, epoch=2)
        assert store.load_cycle(3) == HedgeState(cycle=3, epoch=2)


def test_sqlite_is_wal_and_synchronous_full(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SqliteStateStore(path) as store:
        store.save(STATE)
        conn = store._conn
        assert conn is not None
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


@pytest.mark.parametrize("keep", [0, -1, True, 1.5])
def test_sqlite_keep_must_be_positive(tmp_path: Path, keep: object) -> None:
    with pytest.raises(ConfigError):
        SqliteStateStore(tmp_path / "s.sqlite", keep=keep)  # type: ignore[arg-type]
    assert not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize(
    "content",
    [b"hello, I am a text file", b"SQLite", b'{"version": 1}', bytes(range(256)) * 20],
    ids=["text", "short", "json", "binary"],
)
def test_sqlite_non_sqlite_file_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(content)
    with pytest.raises(StateCorruptError, match="not an SQLite database"):
        SqliteStateStore(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite", "s.sqlite.lock"]


def test_sqlite_damaged_pages_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SqliteStateStore(path) as store:
        for c in range(60):
            store.save(MANY if c % 2 else STATE)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : 3 * page] = b"\xa5" * page  # scribble over a whole b-tree page
    path.write_bytes(bytes(data))
    with pytest.raises(StateCorruptError, match=str(path)):
        SqliteStateStore(path)
    assert path.read_bytes() == bytes(data)


def test_sqlite_corrupt_newest_row_is_typed_error_then_preserved(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    SqliteStateStore(path).close()
    with SqliteStateStore(path, keep=2) as store:
        store.save(STATE)
    tamper(path, "INSERT INTO state (cycle, body) VALUES (43, '{\"version\": 7}')")
    with SqliteStateStore(path, keep=2) as store:
        with pytest.raises(StateCorruptError, match=r"row 2.*version 7"):
            store.load()
        for c in range(3):  # saving on regardless (e.g. after a rebuild) prunes row 2...
            store.save(HedgeState(cycle=100 + c))
        assert store.load() == HedgeState(cycle=102)
        conn = sqlite3.connect(path)
        kept = conn.execute("SELECT seq, cycle, body, reason FROM state_corrupt").fetchall()
        conn.close()
    assert [(seq, cycle, body) for seq, cycle, body, _ in kept] == [(2, 43, '{"version": 7}')]
    assert "version 7" in kept[0][3]  # ...but the corrupt row is kept, with the reason


@pytest.mark.parametrize("body", ["not json", "[]", "NaN", "null"])
def test_sqlite_corrupt_bodies(tmp_path: Path, body: str) -> None:
    path = tmp_path / "s.sqlite"
    SqliteStateStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO state (cycle, body) VALUES (1, ?)", (body,))
    conn.commit()
    conn.close()
    with SqliteStateStore(path) as store, pytest.raises(StateCorruptError, match="row 1"):
        store.load()


def test_sqlite_refuses_the_audit_log_and_vice_versa(tmp_path: Path) -> None:
    audit_path, state_path = tmp_path / "audit.sqlite", tmp_path / "state.sqlite"
    SqliteAuditSink(audit_path).close()
    SqliteStateStore(state_path).close()
    audit_bytes = audit_path.read_bytes()
    with pytest.raises(StateCorruptError, match="xlp audit log"):
        SqliteStateStore(audit_path)
    assert audit_path.read_bytes() == audit_bytes


def test_sqlite_refuses_a_foreign_database(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    tamper(path, "CREATE TABLE customers (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StateCorruptError, match="customers"):
        SqliteStateStore(path)
    assert path.read_bytes() == before
    tamper(path, "PRAGMA application_id=12345")
    with pytest.raises(StateCorruptError, match="application_id=12345"):
        SqliteStateStore(path)


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SqliteStateStore(path) as store:
        store.save(STATE)
    tamper(path, "PRAGMA user_version=2")
    with pytest.raises(StateCorruptError, match="schema version 2"):
        SqliteStateStore(path)


def test_sqlite_adopts_a_database_from_before_application_ids(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SqliteStateStore(path) as store:
        store.save(STATE)
    tamper(path, "PRAGMA application_id=0", "DROP TABLE state_corrupt")
    with SqliteStateStore(path) as store:
        assert store.load() == STATE


def test_sqlite_closed_store_is_a_state_error_not_corruption(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.sqlite")
    store.close()
    store.close()  # idempotent
    for call in (store.load, lambda: store.save(STATE), store.history):
        with pytest.raises(StateError, match="closed") as info:
            call()
        assert not isinstance(info.value, StateCorruptError)


def test_sqlite_unopenable_path_is_a_state_error_not_corruption(tmp_path: Path) -> None:
    path = tmp_path / "dir.sqlite"
    path.mkdir()
    with pytest.raises(StateError) as info:
        SqliteStateStore(path)
    assert not isinstance(info.value, StateCorruptError)


def test_sqlite_out_of_range_cycle_is_a_state_error(tmp_path: Path) -> None:
    with SqliteStateStore(tmp_path / "s.sqlite") as store:
        store.save(STATE)
        with pytest.raises(StateError, match="out of range"):
            store.save(HedgeState(cycle=2**70))
        assert store.load() == STATE


def test_sqlite_concurrent_saves(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.sqlite", keep=5)

    def worker(base: int) -> None:
        for i in range(25):
            store.save(HedgeState(cycle=base + i))
            store.load()

    assert in_threads(worker) == []
    assert len(store.history(100)) == 5
    store.close()


# --- memory ----------------------------------------------------------------------


def test_memory_holds_json_text_and_counts_saves() -> None:
    store = MemoryStateStore()
    assert store.load() is None
    store.save(STATE)
    store.save(STATE)
    assert store.saves == 2
    raw = store.raw
    assert raw is not None
    assert json.loads(raw)["cycle"] == 42
    assert repr(store) == "MemoryStateStore(saves=2)"


def test_memory_initial_state_and_corrupt_raw() -> None:
    store = MemoryStateStore(STATE)
    assert store.load() == STATE
    assert store.saves == 0
    store.put_raw('{"version": 1, "cycle": NaN}')
    with pytest.raises(StateCorruptError, match="memory state"):
        store.load()
