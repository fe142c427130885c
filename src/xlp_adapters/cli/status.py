"""``xlp status``: what the hedger is doing, from its state and audit log only.

No venue access and no write: safe beside a running hedger, and it answers
even when the venue does not.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlp_adapters.cli._common import EXIT_OK, load_config

if TYPE_CHECKING:
    from xlp_core.audit import AuditEvent
    from xlp_core.state import HedgeState

DESCRIPTION = """\
Show the saved state (cycle, offsets, zones, the orders this bot has
resting), the last cycle from the audit log (when, errors, alerts) and the
circuit breaker as the last cycle saw it. Reads the config's state_path and
audit_path unless --state/--audit are given; never contacts the venue."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> object:
    s = subparsers.add_parser(
        "status", help="show state, open orders and the last cycle", description=DESCRIPTION
    )
    s.add_argument("--config", help="TOML file (default: ./xlp.toml if present)")
    s.add_argument("--state", metavar="PATH", help="state file (default: state_path)")
    s.add_argument("--audit", metavar="PATH", help="audit log (default: audit_path)")
    s.add_argument("--json", action="store_true", help="one JSON object instead of text")
    return s


def run(args: argparse.Namespace) -> int:
    from xlp_adapters.cli._records import read_events, read_state

    config = load_config(args.config, os.environ) if not (args.state and args.audit) else None
    state_path = args.state or (config.state_path if config else "")
    audit_path = args.audit or (config.audit_path if config else "")
    state = read_state(state_path)
    events = read_events(audit_path) if Path(audit_path).exists() else iter(())
    status = summarise(state, events, state_path=state_path, audit_path=audit_path)
    if args.json:
        print(json.dumps(status, indent=2, default=str))
    else:
        print("\n".join(as_text(status)))
    return EXIT_OK


def summarise(
    state: HedgeState | None, events: Iterable[AuditEvent], *, state_path: str, audit_path: str
) -> dict[str, Any]:
    from xlp_core import audit as A

    last: list[AuditEvent] = []  # the events of the highest cycle logged
    count = top = 0
    for e in events:
        count += 1
        if e.cycle > top:
            top, last = e.cycle, [e]
        elif e.cycle == top and top > 0:
            last.append(e)
    errors = [_brief(e) for e in last if e.kind == A.ERROR]
    alerts = [_brief(e) for e in last if e.kind == A.ALERT]
    breaker_open = any("CircuitOpen" in json.dumps(dict(e.data), default=str) for e in last)
    cycle: dict[str, Any] | None = None
    if last:
        ends = [e for e in last if e.kind == A.CYCLE_END]
        cycle = {
            "cycle": last[0].cycle,
            "started_at": last[0].at.isoformat(),
            "ended_at": ends[-1].at.isoformat() if ends else None,
            "errors": errors,
            "alerts": alerts,
        }
    return {
        "state_path": state_path,
        "audit_path": audit_path,
        "state": None if state is None else _state(state),
        "open_orders": [] if state is None else _orders(state),
        "audit_events": count,
        "last_cycle": cycle,
        "breaker": "unknown" if not last else ("open" if breaker_open else "closed"),
    }


def _brief(e: AuditEvent) -> dict[str, Any]:
    return {"symbol": e.symbol, "at": e.at.isoformat(), **dict(e.data)}


def _state(state: HedgeState) -> dict[str, Any]:
    return {
        "cycle": state.cycle,
        "updated_at": state.updated_at.isoformat() if state.updated_at else None,
        "symbols": {
            sym: {
                "offset": s.offset,
                "zone": s.zone,
                "exchange_position": s.exchange_position,
                "cost_basis": s.cost_basis,
                "last_fill_at": s.last_fill_at.isoformat() if s.last_fill_at else None,
            }
            for sym, s in sorted(state.symbols.items())
        },
    }


def _orders(state: HedgeState) -> list[dict[str, Any]]:
    return [
        {
            "symbol": sym,
            "client_order_id": s.order_id,
            "zone": s.order_zone,
            "placed_at": s.order_placed_at.isoformat() if s.order_placed_at else None,
        }
        for sym, s in sorted(state.symbols.items())
        if s.order_id is not None
    ]


def as_text(status: dict[str, Any]) -> list[str]:
    out = [f"state:   {status['state_path']}", f"audit:   {status['audit_path']}"]
    state = status["state"]
    if state is None:
        out.append("no state saved yet")
    else:
        out.append(f"cycle {state['cycle']}, saved {state['updated_at']}")
        for sym, s in state["symbols"].items():
            out.append(
                f"  {sym:<6} offset {s['offset']:+.6g} zone {s['zone']} "
                f"position {s['exchange_position']}"
            )
    orders = status["open_orders"]
    out.append(f"open orders (ours): {len(orders)}")
    out.extend(
        f"  {o['symbol']:<6} id {o['client_order_id']} zone {o['zone']} placed {o['placed_at']}"
        for o in orders
    )
    cycle = status["last_cycle"]
    if cycle is None:
        out.append("last cycle: none in the audit log")
    else:
        out.append(
            f"last cycle: {cycle['cycle']} started {cycle['started_at']} ended {cycle['ended_at']}"
            f", {len(cycle['errors'])} error(s), {len(cycle['alerts'])} alert(s)"
        )
        out.extend(
            f"  error {e.get('symbol') or '-'}: {e.get('error', e)}" for e in cycle["errors"]
        )
        out.extend(
            f"  alert {e.get('symbol') or '-'}: {e.get('message', e)}" for e in cycle["alerts"]
        )
    out.append(f"breaker: {status['breaker']}")
    return out
