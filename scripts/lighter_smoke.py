#!/usr/bin/env python3
"""Smoke-test a Lighter account end to end with one tiny order that cannot fill.

For a user with testnet credentials in the environment (never on the command
line, never printed): ``XLP_LIGHTER_PRIVATE_KEY``, ``XLP_LIGHTER_ACCOUNT_INDEX``,
``XLP_LIGHTER_API_KEY_INDEX``. It checks the key, reads markets, positions and
open orders, places one post-only buy well below the market (expiring in five
minutes), looks it up by client order index, cancels it and prints each step.

    python scripts/lighter_smoke.py                       # testnet
    python scripts/lighter_smoke.py --mainnet --base-url https://mainnet.zklighter.elliot.ai

Mainnet is refused unless ``--mainnet`` is given. Exit 0 all good, 2 bad
configuration (nothing sent), 1 anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

TESTNET_URL = "https://testnet.zklighter.elliot.ai"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-url", default=TESTNET_URL)
    p.add_argument("--chain-id", type=int, default=None, help="300 testnet (default), 304 mainnet")
    p.add_argument("--mainnet", action="store_true", help="allow mainnet (real money)")
    p.add_argument("--symbol", default="SOL")
    p.add_argument("--distance", type=float, default=0.10, help="how far below the mark to bid")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    p.add_argument("--lookup-wait", type=float, default=15.0, help="seconds to wait for the order")
    return p.parse_args(argv)


def say(step: str, what: object) -> None:
    print(f"{step:<14} {what}", flush=True)


async def smoke(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from xlp_adapters.lighter import LighterCredentials, LighterExchange
    from xlp_core.models import OrderRequest, OrderType, Side

    chain = args.chain_id or (304 if args.mainnet else 300)
    if (chain == 304 or "mainnet" in args.base_url.lower()) and not args.mainnet:
        say("refused", "that is mainnet: pass --mainnet to trade real money")
        return 2
    if not 0 < args.distance < 0.5:
        say("refused", "--distance must be between 0 and 0.5")
        return 2
    creds = LighterCredentials.from_env(environ)
    say("account", f"{creds.account_index}, api key index {creds.api_key_index}, chain {chain}")
    ex = await LighterExchange.connect(
        creds, base_url=args.base_url, chain_id=chain, request_timeout=args.timeout
    )
    try:
        say("key", "the venue knows this API key (check_client)")
        symbol = args.symbol
        rules = (await ex.markets([symbol])).get(symbol)
        mark = (await ex.prices([symbol])).get(symbol)
        if rules is None or mark is None:
            say("refused", f"{symbol}: not listed or no price")
            return 2
        say("market", f"{symbol} mark {mark} size step {rules.size_increment} min {rules.min_size}")
        say("position", (await ex.positions([symbol]))[symbol])
        say("open orders", [(o.symbol, o.client_order_id) for o in await ex.open_orders(())])
        price = mark * (1 - args.distance)
        need = max(rules.min_size, rules.min_notional * 1.05 / price)
        size = math.ceil(need / rules.size_increment) * rules.size_increment
        cid = int(time.time() * 1000) % 2**40 + 1
        request = OrderRequest(
            cid, symbol, Side.BUY, OrderType.LIMIT, size, price, post_only=True,
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
        )  # fmt: skip
        await ex.place_order(request)
        say("placed", f"post-only buy {size} {symbol} @ {price:.6g}, client order index {cid}")
        found = None
        deadline = time.monotonic() + args.lookup_wait
        while found is None and time.monotonic() < deadline:
            found = await ex.get_order(symbol, cid)
            if found is None:
                await asyncio.sleep(1.0)
        say("looked up", found if found is not None else "NOT FOUND")
        cancelled = await ex.cancel_order(symbol, cid)
        after = await ex.get_order(symbol, cid)
        say("cancelled", f"{cancelled}; now {after.status if after else 'not found'}")
        ok = found is not None and (after is None or not after.is_open)
        say("result", "OK" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        await ex.close()


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    from xlp_core.errors import ConfigError, XlpError

    args = parse_args(argv)
    try:
        return asyncio.run(smoke(args, os.environ if environ is None else environ))
    except ConfigError as exc:
        say("config", exc)
        return 2
    except XlpError as exc:
        say("error", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
