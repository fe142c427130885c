"""A custom strategy: keep the library's fill detection and cost basis, change the rules.

``TakerBandStrategy`` ignores zones and limit orders: whenever the exposure
leaves a USD band it closes a fixed share at market (with a slippage cap),
and it waits ``pause`` after each trade. It reuses
:func:`xlp_core.observe`, so fills, vanished orders and the cost basis
behave exactly as in the default strategy. It runs inside a
:class:`xlp_core.Hedger`, so the safety stack checks what it sends.

Run it: ``python examples/custom_strategy.py``
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import attrs

import xlp_core as xlp
from xlp_adapters import MemoryAuditSink, MemoryStateStore, PaperExchange, StaticPoolSource
from xlp_core import (
    Action,
    ActionKind,
    Decision,
    DecisionParams,
    Observation,
    SymbolState,
    fit_to_market,
    observe,
    side_for,
)


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
    strategy: xlp.Strategy = TakerBandStrategy()
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def clock() -> datetime:
        return now

    exchange = PaperExchange(prices={"SOL": 150.0}, positions={"SOL": -100.0}, clock=clock)
    pool = StaticPoolSource("JLP", {"SOL": 0.104})  # the pool grew: 4 SOL ($600) unhedged
    config = xlp.HedgeConfig.from_mapping({"pools": {"JLP": 1000.0}})
    async with xlp.Hedger(
        config, exchange, [pool], store=MemoryStateStore(), audit=MemoryAuditSink(),
        strategy=strategy, clock=clock, policy=xlp.NO_WAIT,
    ) as hedger:  # fmt: skip
        for _ in range(3):
            report = await hedger.run_cycle()
            sol = report.symbols["SOL"]
            print(f"cycle {report.cycle}: offset ${sol.offset_usd:+.2f}  {sol.reason}")
            now += timedelta(minutes=3)


if __name__ == "__main__":
    asyncio.run(main())
