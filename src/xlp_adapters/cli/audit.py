"""``xlp audit``: the audit log, filtered, as JSON lines or a table.

Reads the log without opening it for writing, so it is safe beside a running
hedger; ``xlp audit | head -1`` exits quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from xlp_adapters.cli._common import EXIT_OK, load_config, utc_now
from xlp_core.errors import ConfigError

if TYPE_CHECKING:
    from xlp_core.audit import AuditEvent

DESCRIPTION = """\
Print audit-log events, oldest first, filtered by time, symbol, kind, cycle
or client order id. The log is the config's audit_path unless --audit is
given. TIME is ISO 8601 (UTC if no zone) or an age such as 30m, 2h, 7d."""

_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> object:
    a = subparsers.add_parser("audit", help="print audit-log events", description=DESCRIPTION)
    a.add_argument("--config", help="TOML file (default: ./xlp.toml if present)")
    a.add_argument("--audit", metavar="PATH", help="audit log (default: audit_path of the config)")
    a.add_argument("--since", metavar="TIME", help="events at or after TIME")
    a.add_argument("--until", metavar="TIME", help="events at or before TIME")
    a.add_argument("--symbol", action="append", default=[], help="only this symbol (repeatable)")
    a.add_argument("--kind", action="append", default=[], help="only this kind (repeatable)")
    a.add_argument("--cycle", type=int, metavar="N", help="only cycle N")
    a.add_argument("--cid", type=int, metavar="ID", help="only events naming this client order id")
    a.add_argument("--tail", type=int, metavar="N", help="only the last N matching events")
    a.add_argument(
        "--format", choices=("jsonl", "table"), default="jsonl", help="output (default: jsonl)"
    )
    return a


def parse_time(text: str, what: str, now: datetime) -> datetime:
    m = _AGE.match(text.strip())
    if m:
        return now - timedelta(**{_UNIT[m.group(2)]: float(m.group(1))})
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(what, f"expected ISO 8601 or an age like 2h, got {text[:40]!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    from xlp_adapters.cli._records import read_events

    now = utc_now()
    since = parse_time(args.since, "--since", now) if args.since else None
    until = parse_time(args.until, "--until", now) if args.until else None
    if args.tail is not None and args.tail < 1:
        raise ConfigError("--tail", f"must be >= 1, got {args.tail}")
    path = args.audit or load_config(args.config, os.environ).audit_path
    symbols = {s.strip().upper() for s in args.symbol}
    kinds = set(args.kind)

    def wanted(e: AuditEvent) -> bool:
        return (
            (since is None or e.at >= since)
            and (until is None or e.at <= until)
            and (not symbols or (e.symbol or "").upper() in symbols)
            and (not kinds or e.kind in kinds)
            and (args.cycle is None or e.cycle == args.cycle)
            and (args.cid is None or _names_cid(e, args.cid))
        )

    events: Iterable[AuditEvent] = filter(wanted, read_events(path))
    if args.tail is not None:
        events = deque(events, maxlen=args.tail)
    lines = _table(events) if args.format == "table" else (e.to_json() for e in events)
    for line in lines:
        print(line)
    return EXIT_OK


def _names_cid(event: AuditEvent, cid: int) -> bool:
    return any(
        ("client_order_id" in key or key == "cid") and value == cid
        for key, value in event.data.items()
    )


def _table(events: Iterable[AuditEvent]) -> Iterator[str]:
    yield f"{'time (UTC)':<24} {'cycle':>6} {'symbol':<7} {'kind':<14} data"
    for e in events:
        data = json.dumps(dict(e.data), sort_keys=True, separators=(",", ":"), default=str)
        at = e.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        yield f"{at:<24} {e.cycle:>6} {e.symbol or '-':<7} {e.kind:<14} {data}"
