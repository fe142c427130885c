"""A custom strategy: keep the library's fill detection and cost basis, change the rules.

``TakerBandStrategy`` ignores zones and limit orders: whenever the exposure
leaves a USD band it closes a fixed share at market (with a slippage cap),
and it waits ``pause`` after each trade. It reuses
:func:`xlp_core.decision.observe`, so fills, vanished orders and the cost
basis behave exactly as in the default strategy.

Run it: ``python examples/custom_strategy.py``
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import attrs

from xlp_adapters.audit import MemoryAuditSink
from xlp_adapters.paper import PaperExchange
from xlp_adapters.pools import StaticPoolSource
from xlp_adapters.stores import MemoryStateStore
from xlp_core.config import HedgeConfig
from xlp_core.cycle import run_hedge_cycle
from xlp_core.decision import (
    Action,
    ActionKind,
    Decision,
    DecisionParams,
    Observation,
    observe,
)
from xlp_core.execution import NO_WAIT
from xlp_core.sizing import fit_to_market, side_for
from xlp_core.state import SymbolState
from xlp_core.strategy import Strategy


@attrs.frozen
class TakerBandStrategy:
    band_usd: float = 150.0
    share: float = 0.5
    slippage: float = 0.005
    pause: timedelta = timedelta(minutes=2)
    params: DecisionParams = attrs.field(factory=DecisionParams)

    def decide(self, prev: SymbolState, obs: Observation, now: datetime) -> Decision:
        seen = observe(prev, obs, now, self.params)
        state = seen.state
        actions: list[Action] = []
        if seen.stray_order_ids or state.order_id is not None:
            actions.append(Action(ActionKind.CANCEL, obs.symbol, "taker strategy keeps no orders"))
        resting = state.last_fill_at is not None and now - state.last_fill_at < self.pause
        if abs(seen.offset_usd) <= self.band_usd or resting:
            return Decision(obs.symbol, seen, tuple(actions), "inside band or pausing")
        side = side_for(state.offset)
        cap = obs.price * (1 + self.slippage * side.sign)
        sized = fit_to_market(
            side,
            abs(state.offset) * self.share,
            cap,
            reference_price=obs.price,
            max_size=abs(state.offset),
            rules=obs.rules,
            min_notional=self.params.min_order_notional,
        )
        if sized is not None:
            actions.append(
                Action(ActionKind.PLACE_MARKET, obs.symbol, "outside band", side, sized.size, cap)
            )
        return Decision(obs.symbol, seen, tuple(actions), "outside band: close at market")


async def main() -> None:
    strategy: Strategy = TakerBandStrategy()
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def clock() -> datetime:
        return now

    exchange = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -100.0}, clock=clock)
    pool = StaticPoolSource("JLP", {"SOL": 0.104})  # the pool grew: 4 SOL ($600) unhedged
    config = HedgeConfig.from_mapping({"pools": {"JLP": 1000.0}})
    store, audit = MemoryStateStore(), MemoryAuditSink()
    for _ in range(3):
        report = await run_hedge_cycle(
            exchange=exchange, pools=[pool], store=store, audit=audit, config=config,
            clock=clock, strategy=strategy, policy=NO_WAIT,
        )  # fmt: skip
        sol = report.symbols["SOL"]
        print(f"cycle {report.cycle}: offset ${sol.offset_usd:+.2f}  {sol.reason}")
        now += timedelta(minutes=3)


if __name__ == "__main__":
    asyncio.run(main())
