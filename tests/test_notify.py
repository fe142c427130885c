"""Notifiers end to end against loopback servers: delivery, retries, throttling, secrecy."""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.notify import (
    NO_WAIT,
    AppriseNotifier,
    DeliveryRetry,
    FanoutNotifier,
    QueuedNotifier,
    WebhookNotifier,
    build_notifier,
    mask_url,
    notice_json,
    set_testing,
)
from xlp_adapters.paper import PaperExchange
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.errors import ConfigError, MissingExtraError
from xlp_core.execution import NO_WAIT as CYCLE_NO_WAIT
from xlp_core.models import PoolSnapshot
from xlp_core.ports import Notice, Notifier

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "s3cr3t-T0KEN-4242"


def notice(kind: str = "alert", symbol: str | None = "SOL", **data: object) -> Notice:
    return Notice(kind, f"{kind} {symbol}", T0, symbol, data=data)


class Loopback:
    """An HTTP server on 127.0.0.1 that records POSTs; ``statuses`` are answered in turn."""

    def __init__(self, statuses: list[int] | None = None, *, hang: bool = False) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        self.release = threading.Event()
        self.got = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(size)
                outer.requests.append((self.path, dict(self.headers), body))
                outer.got.set()
                if hang:
                    outer.release.wait(30)
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(b) for _, _, b in self.requests]


@pytest.fixture
def server() -> Iterator[Loopback]:
    srv = Loopback()
    yield srv
    srv.close()


class Recorder:
    def __init__(self) -> None:
        self.got: list[Notice] = []

    async def __call__(self, n: Notice) -> None:
        self.got.append(n)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


# --- the generic webhook ---------------------------------------------------


async def test_webhook_posts_the_notice_as_json(server: Loopback) -> None:
    url = f"http://127.0.0.1:{server.port}/hooks/{SECRET}"
    notifier = WebhookNotifier(url, retry=NO_WAIT)
    assert isinstance(notifier, Notifier)
    await notifier.notify(notice(offset_usd=1234.5, zone=7))
    await notifier.aclose()
    assert notifier.delivered == 1
    [(path, headers, _)] = server.requests
    assert path == f"/hooks/{SECRET}"
    assert headers["content-type"] == "application/json"
    assert server.bodies() == [
        {
            "kind": "alert",
            "message": "alert SOL",
            "at": "2026-01-01T00:00:00+00:00",
            "symbol": "SOL",
            "severity": "warning",
            "data": {"offset_usd": 1234.5, "zone": 7},
        }
    ]


def test_webhook_body_survives_values_json_cannot_hold() -> None:
    body = json.loads(notice_json(notice(x=float("nan"), when=T0, ids=(1, 2))))
    assert body["data"] == {"x": "nan", "when": str(T0), "ids": [1, 2]}


async def test_webhook_retries_5xx_and_429_then_delivers() -> None:
    srv = Loopback([500, 429])
    try:
        notifier = WebhookNotifier(f"http://127.0.0.1:{srv.port}/h", retry=NO_WAIT)
        await notifier.notify(notice())
        await notifier.aclose()
    finally:
        srv.close()
    assert len(srv.requests) == 3
    assert (notifier.delivered, notifier.dropped) == (1, 0)


async def test_webhook_4xx_is_refused_once_and_logged_without_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    srv = Loopback([404])
    url = f"http://127.0.0.1:{srv.port}/{SECRET}"
    try:
        with caplog.at_level(logging.DEBUG):
            notifier = WebhookNotifier(url, retry=NO_WAIT)
            await notifier.notify(notice())
            await notifier.aclose()
    finally:
        srv.close()
    assert len(srv.requests) == 1
    assert (notifier.delivered, notifier.dropped) == (0, 1)
    assert any("HTTP 404" in r.getMessage() for r in caplog.records)
    assert_no_secret(caplog)


async def test_a_hung_webhook_times_out_and_the_testing_switch_skips_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    srv = Loopback(hang=True)
    set_testing(True)
    try:
        notifier = WebhookNotifier(
            f"http://127.0.0.1:{srv.port}/h", timeout=0.2,
            retry=DeliveryRetry(attempts=2, initial_delay=3600),  # waits skipped
        )  # fmt: skip
        await notifier.notify(notice())
        await notifier.aclose()
    finally:
        set_testing(False)
        srv.close()
    assert (notifier.delivered, notifier.dropped) == (0, 1)
    assert len(srv.requests) == 2
    assert any("ReadTimeout" in r.getMessage() for r in caplog.records)


# --- Apprise ----------------------------------------------------------------


async def test_apprise_json_url_reaches_a_loopback_server(server: Loopback) -> None:
    url = f"json://xlp:{SECRET}@127.0.0.1:{server.port}/apprise"
    notifier = AppriseNotifier([url], retry=NO_WAIT)
    await notifier.notify(Notice("breaker", "circuit open", T0, severity="error"))
    await notifier.aclose()
    assert notifier.delivered == 1
    [(path, headers, _)] = server.requests
    assert path == "/apprise"
    assert "authorization" in {k.lower() for k in headers}  # the credentials went along
    [body] = server.bodies()
    assert body["title"] == "xlp error: breaker"
    assert str(body["message"]).startswith("circuit open")
    assert body["type"] == "failure"


async def test_apprise_retries_only_the_destination_that_failed() -> None:
    good, bad = Loopback(), Loopback([500])
    try:
        notifier = AppriseNotifier(
            [f"json://127.0.0.1:{good.port}/a", f"json://127.0.0.1:{bad.port}/b"], retry=NO_WAIT
        )
        await notifier.notify(notice())
        await notifier.aclose()
    finally:
        good.close()
        bad.close()
    assert (len(good.requests), len(bad.requests)) == (1, 2)
    assert notifier.delivered == 1


async def test_build_notifier_routes_by_scheme(server: Loopback) -> None:
    assert build_notifier([], repeat=timedelta(minutes=15)) is None
    web = f"http://127.0.0.1:{server.port}/web"
    app = f"json://127.0.0.1:{server.port}/app"
    one = build_notifier([web], repeat=timedelta(minutes=15), retry=NO_WAIT)
    assert isinstance(one, WebhookNotifier)
    await one.aclose()
    both = build_notifier([web, app], repeat=timedelta(minutes=15), retry=NO_WAIT)
    assert isinstance(both, FanoutNotifier)
    assert [type(n) for n in both.notifiers] == [WebhookNotifier, AppriseNotifier]
    await both.notify(notice())
    await both.aclose()
    assert sorted(p for p, _, _ in server.requests) == ["/app", "/web"]


@pytest.mark.parametrize(
    "url", [f"nonsense://{SECRET}", f"{SECRET}", f"https:///{SECRET}", f"http://[{SECRET}/x"]
)
def test_bad_urls_are_config_errors_without_the_secret(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_notifier([url], repeat=timedelta(minutes=15))
    assert SECRET not in str(err.value)
    assert err.value.__cause__ is None


async def test_duplicate_urls_send_once_and_a_lone_string_is_refused(server: Loopback) -> None:
    url = f"http://127.0.0.1:{server.port}/x"
    notifier = build_notifier([url, f" {url} "], repeat=timedelta(0), retry=NO_WAIT)
    assert isinstance(notifier, WebhookNotifier)
    await notifier.aclose()
    with pytest.raises(ConfigError, match="not a single string"):
        build_notifier(url, repeat=timedelta(0))


def test_missing_apprise_is_a_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)
    with pytest.raises(MissingExtraError, match=r"xlp-core\[notify\]"):
        build_notifier([f"tgram://123:{SECRET}/456"], repeat=timedelta(minutes=15))


# --- off the order path -----------------------------------------------------


def paper() -> tuple[PaperExchange, MemoryStateStore, MemoryAuditSink, HedgeConfig]:
    # Far above max: every cycle alerts.
    ex = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -50.0}, clock=lambda: T0)
    config = HedgeConfig.from_mapping(
        {"pools": {"JLP": 1000.0}, "threshold_min_usd": 100.0, "threshold_max_usd": 1000.0}
    )
    return ex, MemoryStateStore(), MemoryAuditSink(), config


class Pool:
    name = "JLP"

    async def fetch(self) -> PoolSnapshot:
        return PoolSnapshot("JLP", {"SOL": 0.1})


@pytest.mark.parametrize("behaviour", ["raises", "hangs"])
async def test_a_failing_notifier_never_delays_the_cycle(
    behaviour: str, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    async def deliver(n: Notice) -> None:
        events.append(f"deliver {n.kind}")
        if behaviour == "raises":
            raise RuntimeError(f"boom {SECRET}")
        await asyncio.Event().wait()  # hangs for ever

    notifier = QueuedNotifier(
        deliver, retry=DeliveryRetry(attempts=2, initial_delay=0, attempt_timeout=3600),
        repeat=timedelta(0), close_timeout=0 if behaviour == "hangs" else 30,
    )  # fmt: skip
    ex, store, audit, config = paper()
    for cycle in (1, 2):
        report = await run_hedge_cycle(
            exchange=ex, pools=[Pool()], store=store, audit=audit, config=config,
            clock=lambda: T0, policy=CYCLE_NO_WAIT,
        )  # fmt: skip
        if cycle == 1:  # the decision core alerts once, then waits for alert_repeat
            assert [str(a.action.kind) for a in report.symbols["SOL"].actions] == ["alert"]
        events.append(f"cycle {cycle} done")
        await notifier.notify(notice())
        events.append(f"notified {cycle}")
    events.append("end")
    await notifier.aclose()
    # notify returned at once both times, and the second cycle ran while the
    # first notice was being (mis)delivered in the background.
    assert events[:2] == ["cycle 1 done", "notified 1"]
    assert events.index("deliver alert") < events.index("cycle 2 done")
    ours = [e for e in events if not e.startswith("deliver")]
    assert ours == ["cycle 1 done", "notified 1", "cycle 2 done", "notified 2", "end"]
    assert notifier.delivered == 0
    assert notifier.dropped == 2
    assert_no_secret(caplog)


async def test_fanout_isolates_a_notifier_whose_notify_raises() -> None:
    class Broken(Notifier):
        async def notify(self, notice: Notice) -> None:
            raise RuntimeError("broken")

        async def aclose(self) -> None:
            raise RuntimeError("broken")

    rec = Recorder()
    good = QueuedNotifier(rec, retry=NO_WAIT)
    fan = FanoutNotifier([Broken(), good])
    await fan.notify(notice())
    await fan.aclose()
    assert [n.kind for n in rec.got] == ["alert"]


async def test_full_queue_drops_the_oldest(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder()
    notifier = QueuedNotifier(rec, maxsize=2, repeat=timedelta(0), retry=NO_WAIT)
    for kind in ("a", "b", "c"):
        await notifier.notify(notice(kind))  # the drain task has not run yet
    await notifier.aclose()
    assert [n.kind for n in rec.got] == ["b", "c"]
    assert notifier.dropped == 1
    assert any("dropped the oldest" in r.getMessage() for r in caplog.records)


async def test_notices_after_close_are_dropped_not_raised() -> None:
    rec = Recorder()
    notifier = QueuedNotifier(rec)
    await notifier.aclose()
    await notifier.notify(notice())
    assert (rec.got, notifier.dropped) == ([], 1)


# --- rate limiting ------------------------------------------------------------


async def test_one_notice_per_kind_and_symbol_per_repeat() -> None:
    rec, clock = Recorder(), Clock()
    notifier = QueuedNotifier(rec, repeat=timedelta(minutes=15), clock=clock, retry=NO_WAIT)

    async def at(minutes: float, n: Notice) -> None:
        clock.now = T0 + timedelta(minutes=minutes)
        await notifier.notify(n)

    await at(0, notice("start", None))
    await at(0, notice("alert", "SOL"))
    await at(1, notice("alert", "SOL"))  # held back
    await at(1, notice("alert", "ETH"))  # another symbol
    await at(2, notice("breaker", "SOL"))  # another kind
    await at(14.9, notice("alert", "SOL"))  # held back
    await at(15, notice("alert", "SOL"))  # due again, says what it held back
    await at(16, notice("stop", None))
    await at(16, notice("stop", None))  # start/stop always go out
    await notifier.aclose()
    got = [(n.kind, n.symbol, n.data.get("suppressed")) for n in rec.got]
    assert got == [
        ("start", None, None),
        ("alert", "SOL", None),
        ("alert", "ETH", None),
        ("breaker", "SOL", None),
        ("alert", "SOL", 2),
        ("stop", None, None),
        ("stop", None, None),
    ]


# --- secrets ------------------------------------------------------------------


def assert_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert SECRET not in text, (record.name, text)


async def test_urls_never_reach_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    srv = Loopback([500])
    closed = Loopback()
    dead_port = closed.port
    closed.close()  # nothing listens there any more: connection refused
    urls = [
        f"http://127.0.0.1:{srv.port}/hook/{SECRET}?token={SECRET}",
        f"json://user:{SECRET}@127.0.0.1:{srv.port}/x",
        f"http://127.0.0.1:{dead_port}/{SECRET}",
        f"json://127.0.0.1:{dead_port}/{SECRET}",
    ]
    try:
        with caplog.at_level(logging.DEBUG):
            notifier = build_notifier(urls, repeat=timedelta(0), retry=NO_WAIT)
            assert notifier is not None
            assert SECRET not in repr(notifier)
            await notifier.notify(notice())
            await notifier.aclose()
            with pytest.raises(ConfigError) as err:
                build_notifier([f"tgram://{SECRET}"], repeat=timedelta(0))
    finally:
        srv.close()
    assert SECRET not in str(err.value)
    assert srv.requests, "the live destination was reached"
    assert any(r.name == "httpx" for r in caplog.records), "httpx logged its request"
    assert_no_secret(caplog)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/T0/B1/XYZ", "https://hooks.example.com/***"),
        ("https://user:pw@hooks.example.com:8443/x?y=1", "https://***@hooks.example.com:8443/***"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("json://127.0.0.1:8080/p", "json://127.0.0.1:8080/***"),
        ("mailto://me:pw@gmail.com", "mailto://***@gmail.com"),
        ("tgram://123456:ABCdef/789", "tgram://***"),
        ("pover://user@token", "pover://***"),
        ("slack://TA/TB/TC", "slack://***"),
        ("http://[::1]:80/x", "http://[::1]:80/***"),
        ("garbage", "***"),
        ("http://[bad", "***"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
