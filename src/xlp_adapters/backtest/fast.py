"""The fast engine: the core's decision functions in a plain synchronous loop.

It runs the same :class:`~xlp_core.strategy.Strategy` and ``after_*``
transitions as :func:`~xlp_core.cycle.run_hedge_cycle`, with the paper
exchange's fill rules restated inline (:class:`FillModel`), and no store,
audit log or event loop. Its speed comes from not calling the (default) strategy when
the outcome is already known: with the position unchanged, no order to
cancel or place and the zone unchanged, a cycle only moves the offset and
cost basis, and that arithmetic is done here exactly as
:func:`~xlp_core.offset.calculate_offset_and_cost` does it. Every case that
is not provably a no-op (a fill, a zone change, a timer near expiry, the max
zone...) goes through the strategy, so the two engines give the same fills.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

import attrs
from tqdm import tqdm

from xlp_adapters.backtest.data import (
    Scenario,
    funding_schedule,
    ideal_series,
)
from xlp_adapters.backtest.results import BacktestResult, Book, FillRecord, Recorder
from xlp_core.config import HedgeConfig
from xlp_core.decision import (
    ActionKind,
    ExecOutcome,
    Observation,
    after_alert,
    after_cancel,
    after_limit,
    after_market,
    finish_cycle,
)
from xlp_core.errors import InvalidInputError, MissingSymbolError
from xlp_core.ids import first_serial, next_serial, order_id
from xlp_core.models import MarketRules, Side
from xlp_core.offset import EPSILON
from xlp_core.sizing import close_size, fit_to_market, limit_price, side_for
from xlp_core.state import SymbolState
from xlp_core.strategy import Strategy, ZoneStrategy
from xlp_core.zones import MAX_ZONE

if TYPE_CHECKING:
    from xlp_adapters.paper import PaperExchange

# A timer this close to expiry takes the exact (datetime) path.
_TIMER_MARGIN_S = 1e-3


@attrs.frozen
class FillModel:
    """The paper exchange's execution rules, restated for the fast loop.

    As :class:`~xlp_adapters.paper.PaperExchange` documents them (and with the
    same float arithmetic, so prices agree to the last bit):

    * an order whose size is not a multiple of the increment, or below the
      minimum size or notional (at the limit price for a limit, the market
      for a market order) is rejected;
    * a resting limit fills whole, at its limit price, as maker, on the first
      price at or through it (buy: price <= limit; sell: price >= limit);
    * a limit that already crosses when placed fills at once, at the market
      price, as taker (or is rejected if post-only);
    * a market order fills whole at the price moved ``slippage`` (a fraction)
      against us, and is rejected if that is beyond the order's price cap.
    """

    rules: Mapping[str, MarketRules]
    maker_fee_rate: float = 0.0
    taker_fee_rate: float = 0.0
    slippage: float = 0.0

    @classmethod
    def of(cls, paper: PaperExchange, rules: Mapping[str, MarketRules]) -> FillModel:
        """The model of a configured paper exchange listing ``rules`` (whole fills only)."""
        if paper.max_fill_per_update is not None:
            raise InvalidInputError("the fast engine models whole fills only")
        return cls(
            rules=dict(rules),
            maker_fee_rate=paper.maker_fee_rate,
            taker_fee_rate=paper.taker_fee_rate,
            slippage=paper.slippage,
        )

    @staticmethod
    def _admissible(rules: MarketRules, size: float, ref: float) -> bool:
        steps = size / rules.size_increment
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            return False
        if size < rules.min_size:
            return False
        return not size * ref < rules.min_notional * (1 - 1e-9)

    def place_limit(
        self, rules: MarketRules, sign: int, size: float, limit: float, price: float,
        post_only: bool,
    ) -> tuple[ExecOutcome, float | None]:  # fmt: skip
        """``(outcome, fill price)``; the price is ``None`` unless it filled at once."""
        if not self._admissible(rules, size, limit):
            return ExecOutcome.REJECTED, None
        if not (price <= limit if sign > 0 else price >= limit):
            return ExecOutcome.ACCEPTED, None
        if post_only:
            return ExecOutcome.REJECTED, None
        return ExecOutcome.FILLED, price

    def place_market(
        self, rules: MarketRules, sign: int, size: float, cap: float | None, price: float
    ) -> tuple[ExecOutcome, float | None]:
        if not self._admissible(rules, size, price):
            return ExecOutcome.REJECTED, None
        fill = price * (1.0 + sign * self.slippage)
        if cap is not None and (fill > cap if sign > 0 else fill < cap):
            return ExecOutcome.REJECTED, None
        return ExecOutcome.FILLED, fill


class _Leg:
    """Mutable per-symbol state of the loop (the hot fields as plain attributes)."""

    __slots__ = (
        "alerts",
        "book",
        "cost",
        "dirty",
        "fill_zone",
        "ideals",
        "init",
        "last_alert",
        "last_fill",
        "max_abs",
        "name",
        "order",
        "order_zone",
        "outside",
        "placed",
        "pos",
        "prices",
        "rules",
        "state",
        "xpos",
        "zone",
    )

    def __init__(
        self,
        name: str,
        prices: tuple[float, ...],
        ideals: list[float],
        init: float,
        rules: MarketRules,
    ) -> None:
        self.name = name
        self.prices = prices
        self.ideals = ideals
        self.init = init
        self.rules = rules
        self.pos = 0.0
        # Mirrors of SymbolState fields the fast path updates; ``state`` holds
        # the rest and is refreshed on every slow path.
        self.state = SymbolState()
        self.xpos: float | None = None
        self.cost = 0.0
        self.zone: int | None = None
        # Read-only copies (as epoch seconds) of what the fast path tests.
        self.order: tuple[int, float, float, int] | None = None  # sign, size, limit, cid
        self.order_zone: int | None = None
        self.placed: float | None = None
        self.last_fill: float | None = None
        self.last_alert: float | None = None
        self.fill_zone: int | None = None
        self.max_abs = 0.0
        self.outside = 0.0
        self.alerts = 0
        self.book = Book()
        self.dirty = True  # a snapshot is due (always at step 0)

    def current_state(self, prev_offset: float) -> SymbolState:
        """The state as the last cycle left it (mirrors folded back in)."""
        return attrs.evolve(
            self.state,
            offset=prev_offset,
            cost_basis=self.cost,
            exchange_position=self.xpos,
            zone=self.zone,
        )

    def adopt(self, state: SymbolState) -> None:
        self.state = state
        self.xpos = state.exchange_position
        self.cost = state.cost_basis
        self.zone = state.zone
        self.order_zone = state.order_zone
        self.placed = None if state.order_placed_at is None else state.order_placed_at.timestamp()
        self.last_fill = None if state.last_fill_at is None else state.last_fill_at.timestamp()
        self.last_alert = None if state.last_alert_at is None else state.last_alert_at.timestamp()
        self.fill_zone = state.fill_zone


def progress_bar(total: int, enabled: bool, desc: str) -> tqdm[NoReturn]:
    """A tqdm bar on stderr, shown only when asked for and stderr is a terminal."""
    on = enabled and sys.stderr.isatty()
    return tqdm(total=total, disable=not on, unit="step", desc=desc, mininterval=0.5)


def run_fast(
    scenario: Scenario,
    config: HedgeConfig,
    *,
    model: FillModel,
    strategy: Strategy | None = None,
    record_every: int = 1,
    progress: bool = False,
    initial_hedge: bool = True,
) -> BacktestResult:
    """Replay ``scenario`` with the fast engine; see the module docstring."""
    symbols = scenario.check(config)
    for s in symbols:
        if s not in model.rules:
            raise MissingSymbolError(s, "market (not listed on the venue)")
    params = config.decision_params()
    strategy = strategy or ZoneStrategy(params)
    # The skip rules restate ZoneStrategy's; any other strategy sees every cycle.
    may_skip = type(strategy) is ZoneStrategy
    if may_skip:
        assert isinstance(strategy, ZoneStrategy)
        params = strategy.params
    thresholds = params.thresholds
    min_usd, max_usd, step_usd = thresholds.min_usd, thresholds.max_usd, thresholds.step_usd
    timeout_s = params.order_timeout.total_seconds()
    cooldown_s = params.cooldown.total_seconds()
    alert_s = params.alert_repeat.total_seconds()
    report_min_usd = config.threshold_min_usd  # what the results call "outside"
    interval = float(config.check_interval_seconds)
    max_order = config.max_order_notional_usd
    max_cycle = config.max_cycle_notional_usd
    post_only = config.post_only
    maker_fee, taker_fee = model.maker_fee_rate, model.taker_fee_rate

    times = scenario.times
    n = len(times)
    epochs = [t.timestamp() for t in times]
    ideals = ideal_series(scenario, config, symbols)
    funding = funding_schedule(scenario, symbols)
    recorder = Recorder(scenario, config, symbols, ideals, record_every)
    add_row = recorder.rows.extend
    books = recorder.books
    legs = [
        _Leg(s, scenario.prices[s], ideals[s], config.initial_offsets.get(s, 0.0), model.rules[s])
        for s in symbols
    ]
    for leg in legs:
        leg.book = books[leg.name]
    by_name = {leg.name: leg for leg in legs}
    serial = [first_serial(times[0])]  # one client id per intended order
    if initial_hedge:
        for leg in legs:
            leg.pos = opening_position(leg.ideals[0], leg.rules)
            books[leg.name].open(leg.pos, leg.prices[0])

    def fill(
        leg: _Leg, i: int, sign: int, size: float, at: float, rate: float, liq: str, cid: int
    ) -> None:
        leg.pos += sign * size
        leg.dirty = True
        recorder.on_fill(
            FillRecord(
                times[i],
                leg.name,
                Side.BUY if sign > 0 else Side.SELL,
                size,
                at,
                size * at * rate,
                liq,
                cid,
            )
        )

    def is_quiet(
        leg: _Leg, t: float, zone: int | None, offset: float, cost: float, price: float
    ) -> bool:
        """Would the strategy leave everything but offset, cost and zone alone?

        Mirrors the rules of :func:`xlp_core.decision.decide` for a symbol
        with no fill and no vanished order; answers ``False`` when unsure (a
        timer within a millisecond of expiry), which is always safe.
        """
        if leg.order is not None:
            # A live order in an unchanged zone is maintained (or held).
            return (
                zone is not None
                and zone != MAX_ZONE
                and zone == leg.order_zone
                and leg.placed is not None
                and t - leg.placed < timeout_s - _TIMER_MARGIN_S
            )
        if zone is None:
            return True
        if zone == MAX_ZONE:
            # Above max without an order: only the repeated alert can happen.
            return leg.last_alert is not None and t - leg.last_alert < alert_s - _TIMER_MARGIN_S
        if leg.last_fill is not None:
            since = t - leg.last_fill
            if abs(since - cooldown_s) <= _TIMER_MARGIN_S:
                return False
            fz = leg.fill_zone
            if since < cooldown_s and fz is not None and fz != MAX_ZONE and zone <= fz:
                return True  # cooldown hold
        # The strategy would try a limit order; it does nothing if none fits.
        side = side_for(offset)
        wanted = close_size(offset, params.close_ratio_pct)
        limit = limit_price(
            cost, offset, params.price_offset_pct, price, params.max_limit_deviation_pct
        )
        sized = fit_to_market(
            side,
            wanted,
            limit,
            reference_price=price,
            max_size=abs(offset),
            rules=leg.rules,
            min_notional=params.min_order_notional,
        )
        return sized is None

    def slow(leg: _Leg, i: int, cycle: int, prev_offset: float, budget: list[float]) -> None:
        """One symbol's cycle through the strategy, as ``run_hedge_cycle`` runs it."""
        now = times[i]
        price = leg.prices[i]
        order = leg.order
        obs = Observation(
            symbol=leg.name,
            ideal=leg.ideals[i],
            exchange_position=leg.pos,
            price=price,
            initial_offset=leg.init,
            open_order_ids=() if order is None else (order[3],),
            rules=leg.rules,
        )
        decision = strategy.decide(leg.current_state(prev_offset), obs, now)
        state = finish_cycle(decision)
        for action in decision.actions:
            kind = action.kind
            if kind is ActionKind.ALERT:
                state = after_alert(state, now)
                leg.alerts += 1
                continue
            if kind is ActionKind.CANCEL:
                leg.order = None
                state = after_cancel(state, confirmed=True)
                continue
            notional = action.size * (action.price or price)
            if notional > max_order or budget[0] + notional > max_cycle:
                continue  # refused by the cycle's notional guards
            budget[0] += notional
            assert action.side is not None
            sign = action.side.sign
            is_limit = kind is ActionKind.PLACE_LIMIT
            cid = order_id(config.namespace, serial[0])
            serial[0] = next_serial(serial[0])
            if is_limit:
                assert action.price is not None
                outcome, at = model.place_limit(
                    leg.rules, sign, action.size, action.price, price, post_only
                )
                if outcome is ExecOutcome.ACCEPTED:
                    leg.order = (sign, action.size, action.price, cid)
                elif at is not None:
                    fill(leg, i, sign, action.size, at, taker_fee, "taker", cid)
                state = after_limit(state, action, client_order_id=cid, outcome=outcome, now=now)
            else:
                outcome, at = model.place_market(leg.rules, sign, action.size, action.price, price)
                if at is not None:
                    fill(leg, i, sign, action.size, at, taker_fee, "taker", cid)
                state = after_market(state, action, outcome=outcome, now=now)
        leg.adopt(state)
        leg.dirty = True

    bar = progress_bar(n, progress, "backtest (fast)")
    chunk = max(1, n // 200)
    start = next_due = epochs[0]
    cycles = 0
    resting: list[_Leg] = []
    last = n - 1

    for i in range(n):
        t = epochs[i]
        # 1. the new prices fill resting limits
        if resting:
            for leg in resting:
                order = leg.order
                if order is None:
                    continue  # filled at an earlier step, between two cycles
                sign, size, limit, cid = order
                p = leg.prices[i]
                if (p <= limit) if sign > 0 else (p >= limit):
                    leg.order = None
                    fill(leg, i, sign, size, limit, maker_fee, "maker", cid)
        # 2. funding
        events = funding.get(i)
        if events:
            for sym, rate in events:
                fleg = by_name[sym]
                books[sym].pay_funding(fleg.prices[i], rate)
                fleg.dirty = True
        # 3. the hedge cycle
        if t >= next_due:
            next_due = start + (math.floor((t - start) / interval) + 1) * interval
            cycles += 1
            budget = [0.0]
            for leg in legs:
                price = leg.prices[i]
                pos = leg.pos
                old_offset = leg.state.offset
                offset = pos + leg.init - leg.ideals[i]
                order = leg.order
                tracked = leg.state.order_id
                if (
                    may_skip
                    and pos == leg.xpos
                    and (tracked is None if order is None else order[3] == tracked)
                ):
                    # observe(), inlined: no fill, no vanished order.
                    delta = offset - old_offset
                    cost = leg.cost
                    if abs(delta) < EPSILON:
                        pass
                    elif abs(offset) < EPSILON:
                        offset, cost = 0.0, 0.0
                    elif abs(old_offset) < EPSILON:
                        cost = price
                    else:
                        cost = (old_offset * cost + delta * price) / offset
                        if cost < 0:
                            cost = -1.0  # rebase: let the strategy path do it
                    if cost >= 0:
                        a = abs(offset * price)
                        if a < min_usd:
                            zone: int | None = None
                        elif a > max_usd:
                            zone = MAX_ZONE
                        else:
                            zone = int((a - min_usd) / step_usd)
                        quiet = (zone is None and order is None) or is_quiet(
                            leg, t, zone, offset, cost, price
                        )
                        if quiet:
                            if offset != old_offset:
                                leg.state = attrs.evolve(leg.state, offset=offset)
                            if cost != leg.cost:
                                leg.cost = cost
                                leg.dirty = True
                            leg.zone = zone
                            continue
                slow(leg, i, cycles, old_offset, budget)
            resting = [leg for leg in legs if leg.order is not None]
        # 4. extremes, time outside the threshold, snapshots of what changed
        dt = epochs[i + 1] - t if i < last else 0.0
        for k, leg in enumerate(legs):
            a = abs((leg.pos + leg.init - leg.ideals[i]) * leg.prices[i])
            if a > leg.max_abs:
                leg.max_abs = a
            if a >= report_min_usd:
                leg.outside += dt
            if leg.dirty:
                leg.dirty = False
                b = leg.book
                add_row(
                    (i, k, leg.pos, leg.cost, leg.order is not None, b.fills, b.volume, b.fees,
                     b.funding, b.realised, b.avg_price)
                )  # fmt: skip
        if i % chunk == chunk - 1:
            bar.update(chunk)
    bar.update(n - bar.n)
    bar.close()

    for leg in legs:
        recorder.max_abs[leg.name] = leg.max_abs
        recorder.outside_s[leg.name] = leg.outside
        recorder.alerts[leg.name] = leg.alerts
    recorder.cycles = cycles
    return recorder.result("fast", {leg.name: leg.pos for leg in legs})


def next_cycle_at(start: float, now: float, interval: float) -> float:
    """The next tick of the runner's fixed grid ``start + k * interval`` after ``now``.

    (Inlined in the loop below; the cycle engine calls this.)
    """
    return start + (math.floor((now - start) / interval) + 1) * interval


def opening_position(ideal: float, rules: MarketRules) -> float:
    """The hedge assumed in place at the start: the ideal, rounded toward zero."""
    size = rules.round_size(abs(ideal))
    return -size if ideal < 0 else size
