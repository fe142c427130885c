"""The hedger process the crash test kills.

``PYTHONPATH=tests python tests/crash_child.py URL DIR PER_TOKEN [MAX_CYCLES]``
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from remote_venue import RemoteExchange, utc_now
from xlp_adapters.audit import SqliteAuditSink
from xlp_adapters.pools import StaticPoolSource
from xlp_adapters.runner import run_loop
from xlp_adapters.stores import JsonFileStateStore
from xlp_core.config import HedgeConfig


async def main(url: str, directory: Path, per_token: float) -> None:
    config = HedgeConfig.from_mapping(
        {
            "pools": {"JLP": 1000.0},
            "threshold_min_usd": 30.0,
            "threshold_max_usd": 5000.0,
            "threshold_step_usd": 10.0,
            "cooldown_after_fill_minutes": 0.0,
            "order_timeout_minutes": 0.001,
            "check_interval_seconds": 0.01,
        }
    )
    exchange = RemoteExchange(url)
    store = JsonFileStateStore(directory / "state.json")
    audit = SqliteAuditSink(directory / "audit.sqlite")
    stop = asyncio.Event()
    try:
        await run_loop(
            exchange=exchange, pools=[StaticPoolSource("JLP", {"SOL": per_token})],
            store=store, audit=audit, config=config, clock=utc_now, stop=stop,
            max_cycles=int(sys.argv[4]) if len(sys.argv) > 4 else None,
        )  # fmt: skip
    finally:
        await exchange.close()
        store.close()
        audit.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])))
