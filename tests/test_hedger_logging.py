"""The Hedger talks through ``logging`` at sensible levels, and never leaks a secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from test_hedger import OneSolAtMarket, Recorder, flaky, setup
from xlp_core.errors import StartupError
from xlp_core.execution import NO_WAIT
from xlp_core.hedger import Hedger
from xlp_core.reconcile import startup_policy

KEY = "0x" + "5ec2e7" * 13  # a fake Lighter private key
WEBHOOK = "json://bot:hunter2-token@127.0.0.1:9/hook"  # notify URLs are secrets too


def leaked(records: list[logging.LogRecord]) -> list[str]:
    found = []
    for r in records:
        text = f"{r.getMessage()} {r.args!r} {r.exc_text or ''}"
        for secret in (KEY, KEY.removeprefix("0x"), "hunter2-token"):
            if secret in text:
                found.append(f"{r.name}: {r.getMessage()}")
    return found


async def no_sleep(seconds: float) -> None:
    pass


async def test_levels_and_no_secret_in_any_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XLP_LIGHTER_PRIVATE_KEY", KEY)
    config, _, pools, clock = setup(
        notify_urls=[WEBHOOK],
        state_path=str(tmp_path / "state.sqlite"),
        audit_path=str(tmp_path / "audit.sqlite"),
    )
    venue = flaky(clock)
    venue.open_order_failures = 2  # two retries at start-up
    caplog.set_level(logging.DEBUG)
    hedger = Hedger(
        config, venue, pools, strategy=OneSolAtMarket(), clock=clock, policy=NO_WAIT,
        notifier=Recorder(), secrets=[KEY], sleep=no_sleep,
    )  # fmt: skip
    async with hedger:
        await hedger.run_cycle()
        venue.down = True
        await hedger.run_cycle()
    assert "hunter2" not in repr(hedger)
    mine = [r for r in caplog.records if r.name.startswith("xlp_core.")]
    assert any(r.levelno == logging.INFO and "reconciled" in r.getMessage() for r in mine)
    assert sum(r.levelno == logging.INFO and "cycle " in r.getMessage() for r in mine) == 2
    assert sum(r.levelno == logging.WARNING and "retrying" in r.getMessage() for r in mine) == 2
    # Start-up that gives up: ERROR, and still no secret.
    venue.open_order_failures = 100
    again = Hedger(
        config, venue, pools, clock=clock, secrets=[KEY], sleep=no_sleep,
        startup_retry=startup_policy(config),
    )  # fmt: skip
    with pytest.raises(StartupError) as err:
        await again.__aenter__()
    assert KEY not in str(err.value)
    assert caplog.records[-1].levelno == logging.ERROR
    assert leaked(caplog.records) == []
    assert not logging.getLogger("xlp_core").handlers  # the library installs none
