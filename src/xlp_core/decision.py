"""The per-symbol decision state machine.

Like h11, it does no I/O and never reads the clock: :func:`observe` folds
what the venue reported into the previous :class:`SymbolState`,
:func:`decide` turns that into actions, and the ``after_*`` functions apply
the execution outcomes. The imperative shell (:mod:`xlp_core.cycle`) does the
fetching and sending around it.

Rules, first match wins (zones per :mod:`xlp_core.zones`):

1. above max: cancel our order, alert (repeated at most every ``alert_repeat``;
   never suppressed by the cooldown);
2. our order outlived ``order_timeout``: cancel it and, if still outside the
   threshold, close ``close_ratio`` of the exposure at market;
3. back within threshold: cancel our order;
4. inside the post-fill cooldown: only a worsening exposure re-orders;
5. otherwise a zone change (or no live order) cancels and places a new limit.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from xlp_core.cooldown import CooldownStatus, cooldown_status
from xlp_core.errors import ConfigError, InvalidInputError, NegativeCostBasisError
from xlp_core.models import MarketRules, Side, check_finite, check_price
from xlp_core.offset import calculate_offset_and_cost, rebase
from xlp_core.sizing import close_size, fit_to_market, limit_price, side_for
from xlp_core.state import SymbolState
from xlp_core.zones import MAX_ZONE, Thresholds, zone_for


def _non_negative_delta(
    instance: object, attribute: attrs.Attribute[timedelta], v: timedelta
) -> None:
    if v < timedelta(0):
        raise ConfigError(attribute.name, f"must be >= 0, got {v}")


def _pct(
    lo: float, hi: float, *, lo_open: bool = False
) -> Callable[[object, attrs.Attribute[float], float], None]:
    def check(instance: object, attribute: attrs.Attribute[float], v: float) -> None:
        ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
        if not ok:
            bound = "(" if lo_open else "["
            raise ConfigError(attribute.name, f"must be in {bound}{lo}, {hi}], got {v!r}")

    return check


@attrs.frozen
class DecisionParams:
    """The knobs of the default strategy (defaults are the reference bot's)."""

    thresholds: Thresholds = attrs.field(factory=Thresholds)
    order_timeout: timedelta = attrs.field(
        default=timedelta(minutes=20), validator=_non_negative_delta
    )
    cooldown: timedelta = attrs.field(default=timedelta(minutes=5), validator=_non_negative_delta)
    price_offset_pct: float = attrs.field(default=0.2, validator=_pct(0.0, 10.0))
    close_ratio_pct: float = attrs.field(default=40.0, validator=_pct(0.0, 100.0, lo_open=True))
    max_limit_deviation_pct: float = attrs.field(default=5.0, validator=_pct(0.0, 50.0))
    market_slippage_pct: float = attrs.field(default=1.0, validator=_pct(0.0, 20.0, lo_open=True))
    alert_repeat: timedelta = attrs.field(
        default=timedelta(minutes=15), validator=_non_negative_delta
    )
    min_order_notional: float = attrs.field(default=10.0, validator=_pct(0.0, 1e12))
    post_only: bool = False


def _usual(ideal: object, position: object, initial: object, price: object) -> bool:
    """Observation inputs of the usual kind: exact finite floats, a price above 0.
    One test for the common case; the checks that name a bad input run otherwise."""
    return (
        type(ideal) is float
        and type(position) is float
        and type(initial) is float
        and type(price) is float
        and math.isfinite(ideal + position + initial)
        and 0 < price < math.inf
    )


QUIET_REASON = "within threshold"
"""The reason of a decision with nothing to do (rule 3 with no order to cancel)."""


@attrs.frozen
class Observation:
    """What the venue and the pools said about one symbol this cycle."""

    symbol: str
    ideal: float
    exchange_position: float
    price: float
    initial_offset: float = 0.0
    open_order_ids: tuple[int, ...] = ()
    rules: MarketRules | None = None

    def __attrs_post_init__(self) -> None:
        # Built for every symbol every cycle: messages are formatted only on failure.
        ideal, pos, init = self.ideal, self.exchange_position, self.initial_offset
        price = self.price
        if _usual(ideal, pos, init, price):
            return
        check_finite(ideal, f"{self.symbol} ideal hedge")
        check_finite(pos, f"{self.symbol} position")
        check_finite(init, f"{self.symbol} initial offset")
        check_price(price, f"{self.symbol} price")


class ActionKind(enum.StrEnum):
    CANCEL = "cancel"
    PLACE_LIMIT = "place_limit"
    PLACE_MARKET = "place_market"
    ALERT = "alert"


@attrs.frozen
class Action:
    kind: ActionKind
    symbol: str
    reason: str
    side: Side | None = None
    size: float = 0.0
    price: float | None = None
    zone: int | None = None
    opening: bool = False
    """Set by a strategy that means to *grow* the exposure; the shell refuses
    a wrong-way order otherwise (see :mod:`xlp_core.cycle`)."""


@attrs.frozen
class Observed:
    """The state after folding in an observation, plus what changed."""

    state: SymbolState
    offset_usd: float
    zone: int | None
    fill_detected: bool = False
    order_vanished: bool = False
    stray_order_ids: tuple[int, ...] = ()
    cost_rebased: bool = False
    rejected_cost: float | None = None


@attrs.frozen
class Decision:
    symbol: str
    observed: Observed
    actions: tuple[Action, ...]
    reason: str
    cooldown: CooldownStatus = CooldownStatus.NORMAL

    @property
    def state(self) -> SymbolState:
        return self.observed.state

    @property
    def places_order(self) -> bool:
        placing = (ActionKind.PLACE_LIMIT, ActionKind.PLACE_MARKET)
        return any(a.kind in placing for a in self.actions)


def position_tolerance(position: float, rules: MarketRules | None) -> float:
    """Below this a position change is float noise, not a fill."""
    if rules is not None:
        return rules.size_increment / 2.0
    return 1e-9 * max(1.0, abs(position))


def _filled(last: float | None, position: float, rules: MarketRules | None) -> bool:
    """The position moved by more than float noise since the last cycle (a fill);
    never on the first observation."""
    if last is None:
        return False
    moved = abs(position - last)
    return bool(moved) and moved > position_tolerance(position, rules)


def observe(prev: SymbolState, obs: Observation, now: datetime, params: DecisionParams) -> Observed:
    """Fold the venue's report into the state: fills, vanished orders, offset."""
    fill = False
    last_fill_at, fill_zone = prev.last_fill_at, prev.fill_zone
    if _filled(prev.exchange_position, obs.exchange_position, obs.rules):
        fill = True
        last_fill_at, fill_zone = now, prev.zone

    order_id, order_zone, order_placed_at = prev.order_id, prev.order_zone, prev.order_placed_at
    vanished = False
    if order_id is not None and order_id not in obs.open_order_ids:
        vanished = True
        order_id = order_zone = order_placed_at = None
    strays = tuple(i for i in obs.open_order_ids if i != order_id) if obs.open_order_ids else ()

    # This runs for every symbol in every cycle: the offset update is made
    # without an ``OffsetUpdate`` object unless the cost basis rebases.
    rebased, rejected = False, None
    try:
        offset, cost = calculate_offset_and_cost(
            obs.ideal, obs.exchange_position + obs.initial_offset, obs.price,
            prev.offset, prev.cost_basis,
        )  # fmt: skip
    except NegativeCostBasisError as exc:
        update = rebase(exc, obs.ideal, obs.exchange_position + obs.initial_offset, obs.price)
        offset, cost = update.offset, update.cost_basis
        rebased, rejected = update.rebased, update.rejected_cost
    offset_usd = offset * obs.price
    zone = zone_for(offset_usd, params.thresholds)
    # An unchanged state is the previous object itself, else one constructor
    # call (not several evolves).
    state = prev
    if (
        fill
        or vanished
        or offset != prev.offset
        or cost != prev.cost_basis
        or obs.exchange_position != prev.exchange_position
    ):
        state = SymbolState(
            offset=offset,
            cost_basis=cost,
            exchange_position=obs.exchange_position,
            last_fill_at=last_fill_at,
            order_zone=order_zone,
            order_id=order_id,
            order_placed_at=order_placed_at,
            last_alert_at=prev.last_alert_at,
            zone=prev.zone,
            fill_zone=fill_zone,
        )
    return Observed(
        state=state,
        offset_usd=offset_usd,
        zone=zone,
        fill_detected=fill,
        order_vanished=vanished,
        stray_order_ids=strays,
        cost_rebased=rebased,
        rejected_cost=rejected,
    )


def _limit_action(
    observed: Observed, obs: Observation, params: DecisionParams, reason: str
) -> Action | None:
    state = observed.state
    price = limit_price(
        state.cost_basis,
        state.offset,
        params.price_offset_pct,
        obs.price,
        params.max_limit_deviation_pct,
    )
    return _closing_action(
        ActionKind.PLACE_LIMIT, observed, obs, params=params, reason=reason, price=price
    )


def _market_action(
    observed: Observed, obs: Observation, params: DecisionParams, reason: str
) -> Action | None:
    slip = params.market_slippage_pct / 100.0
    buying = side_for(observed.state.offset) is Side.BUY
    cap = obs.price * (1.0 + slip) if buying else obs.price * (1.0 - slip)
    return _closing_action(
        ActionKind.PLACE_MARKET, observed, obs, params=params, reason=reason, price=cap
    )


def _closing_action(
    kind: ActionKind,
    observed: Observed,
    obs: Observation,
    *,
    params: DecisionParams,
    reason: str,
    price: float,
) -> Action | None:
    """An order closing ``close_ratio_pct`` of the exposure at ``price`` (a limit or a
    market order's cap), fitted to the venue's rules; ``None`` if nothing fits."""
    state = observed.state
    sized = fit_to_market(
        side_for(state.offset),
        close_size(state.offset, params.close_ratio_pct),
        price,
        reference_price=obs.price,
        max_size=abs(state.offset),
        rules=obs.rules,
        min_notional=params.min_order_notional,
    )
    if sized is None:
        return None
    if kind is ActionKind.PLACE_LIMIT and sized.bumped_to_minimum:
        reason += " (raised to venue minimum)"
    return Action(
        kind,
        obs.symbol,
        reason,
        side=sized.side,
        size=sized.size,
        price=sized.price,
        zone=observed.zone,
    )


def decide(observed: Observed, obs: Observation, now: datetime, params: DecisionParams) -> Decision:
    """Choose this cycle's actions for one symbol (pure; see the module rules)."""
    state = observed.state
    zone = observed.zone
    has_order = state.order_id is not None
    actions: list[Action] = []
    must_cancel = has_order or bool(observed.stray_order_ids)
    if zone is None and not must_cancel:
        return Decision(obs.symbol, observed, (), QUIET_REASON)  # rule 3, nothing to cancel

    def cancel(reason: str) -> None:
        if must_cancel:
            actions.append(Action(ActionKind.CANCEL, obs.symbol, reason))

    def done(reason: str, status: CooldownStatus = CooldownStatus.NORMAL) -> Decision:
        return Decision(obs.symbol, observed, tuple(actions), reason, status)

    if zone == MAX_ZONE:
        cancel("exposure above max threshold")
        due = state.last_alert_at is None or now - state.last_alert_at >= params.alert_repeat
        if due:
            actions.append(
                Action(ActionKind.ALERT, obs.symbol, "exposure above max threshold", zone=zone)
            )
        return done("above max threshold" + ("" if due else " (alert already sent)"))

    if (
        has_order
        and state.order_placed_at is not None
        and now - state.order_placed_at >= params.order_timeout
    ):
        cancel("order timed out")
        if zone is not None:
            market = _market_action(observed, obs, params, "order timed out: force close")
            if market is not None:
                actions.append(market)
                return done("order timed out: cancel and close at market")
            return done("order timed out: cancel; close below venue minimum")
        return done("order timed out within threshold: cancel only")

    if zone is None:
        cancel("within threshold")
        return done("within threshold")

    reference = state.order_zone if has_order else state.fill_zone
    status = cooldown_status(state.last_fill_at, now, params.cooldown, reference, zone)
    if status is CooldownStatus.HOLD:
        if observed.stray_order_ids:
            cancel("unknown open orders")
        return done(f"cooldown: zone {zone} not worse than {reference}; holding", status)
    if status is CooldownStatus.NORMAL and has_order and state.order_zone == zone:
        if observed.stray_order_ids:
            # Cancel-all would also take our order; re-place it below.
            pass
        else:
            return done(f"maintaining order in zone {zone}", status)

    why = (
        f"cooldown: zone worsened to {zone}"
        if status is CooldownStatus.RE_ORDER
        else f"zone {state.order_zone} -> {zone}"
    )
    cancel(why)
    limit = _limit_action(observed, obs, params, why)
    if limit is None:
        return done(f"{why}; order below venue minimum", status)
    actions.append(limit)
    return done(why, status)


def finish_cycle(decision: Decision) -> SymbolState:
    """The state to carry forward when no action changed it: remember this zone."""
    state = decision.state
    if state.zone == decision.observed.zone:
        return state
    return attrs.evolve(state, zone=decision.observed.zone)


def quiet(
    prev: SymbolState,
    params: DecisionParams,
    *,
    ideal: float,
    exchange_position: float,
    price: float,
    initial_offset: float = 0.0,
    open_order_ids: tuple[int, ...] = (),
    rules: MarketRules | None = None,
) -> tuple[SymbolState, float] | None:
    """The next state and ``offset_usd`` of a symbol with nothing to do, else ``None``.

    A shortcut through :func:`observe`, :func:`decide` and :func:`finish_cycle`
    for their most common outcome: within threshold, no order of ours, no
    open order at all, no fill, no rebase. It gives the very state and figure
    they would (a differential test holds it to that) while building one
    object instead of five, and returns ``None`` whenever anything else may
    apply, or an input is one the full machine would refuse: the full
    machine then runs and says why. ``now`` plays no part in that outcome.
    The arguments are :class:`Observation`'s fields, the symbol aside.
    """
    position = exchange_position
    if not _usual(ideal, position, initial_offset, price):
        return None
    if prev.order_id is not None or open_order_ids:
        return None  # an order to keep, cancel or forget
    last = prev.exchange_position
    if _filled(last, position, rules):
        return None
    try:
        offset, cost = calculate_offset_and_cost(
            ideal, position + initial_offset, price, prev.offset, prev.cost_basis
        )
        offset_usd = offset * price
        if zone_for(offset_usd, params.thresholds) is not None:
            return None
    except (InvalidInputError, NegativeCostBasisError):
        return None  # the full machine rebases, or names the bad input
    if prev.zone is None and offset == prev.offset and cost == prev.cost_basis and position == last:
        return prev, offset_usd  # unchanged: the very object, as observe keeps it
    state = SymbolState(
        offset=offset,
        cost_basis=cost,
        exchange_position=position,
        last_fill_at=prev.last_fill_at,
        order_zone=prev.order_zone,
        order_id=None,
        order_placed_at=prev.order_placed_at,
        last_alert_at=prev.last_alert_at,
        zone=None,
        fill_zone=prev.fill_zone,
    )
    return state, offset_usd


# --- transitions after execution -------------------------------------------


def after_cancel(state: SymbolState, *, confirmed: bool) -> SymbolState:
    """A confirmed cancel-all means no order of ours is live any more."""
    if not confirmed:
        return state
    return attrs.evolve(state, order_id=None, order_zone=None, order_placed_at=None)


class ExecOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    FILLED = "filled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


def after_limit(
    state: SymbolState,
    action: Action,
    *,
    client_order_id: int,
    outcome: ExecOutcome,
    now: datetime,
) -> SymbolState:
    """Track the new order; an unknown outcome is tracked as live (never forgotten)."""
    if outcome is ExecOutcome.REJECTED:
        return state
    if outcome is ExecOutcome.FILLED:
        return attrs.evolve(
            state,
            order_id=None,
            order_zone=None,
            order_placed_at=None,
            last_fill_at=now,
            fill_zone=action.zone,
        )
    return attrs.evolve(
        state, order_id=client_order_id, order_zone=action.zone, order_placed_at=now
    )


def after_market(
    state: SymbolState, action: Action, *, outcome: ExecOutcome, now: datetime
) -> SymbolState:
    """A sent market order starts the cooldown whether or not we saw the fill yet."""
    if outcome is ExecOutcome.REJECTED:
        return state
    return attrs.evolve(state, last_fill_at=now, fill_zone=action.zone)


def after_alert(state: SymbolState, now: datetime) -> SymbolState:
    return attrs.evolve(state, last_alert_at=now)


def check_now(now: datetime) -> datetime:
    """The machine compares datetimes; naive ones would silently mis-order."""
    if now.tzinfo is None:
        raise InvalidInputError("now must be timezone-aware")
    return now
