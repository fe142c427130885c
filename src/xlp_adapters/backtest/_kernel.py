"""The compiled loop of :mod:`xlp_adapters.backtest.compiled` (imports numba).

Everything here is the fast engine's loop with the default strategy's rules
(:func:`xlp_core.decision.observe` / :func:`~xlp_core.decision.decide`, the
``after_*`` transitions, :func:`~xlp_core.sizing.fit_to_market`) and the
paper exchange's fill rules written out over arrays, in the same float
operations in the same order, so the results are bit-identical. Times are
integer microseconds (as ``datetime`` arithmetic is) for the timers and
float epoch seconds (as ``datetime.timestamp()``) for the cycle grid and
time-outside accounting, each exactly as the Python engines compute them.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit, prange

NONE = -2  # a ``None`` zone
MAX_ZONE = -1
EPSILON = 1e-8

# Columns of the float64 buffers.
ROW_FIELDS = 11  # step, k, pos, cost, open_order, fills, volume, fees, funding, realised, avg
FILL_FIELDS = 8  # step, k, sign, size, price, fee, taker, serial
# Indices of the per-symbol book/outcome array ``book``.
B_POS, B_AVG, B_REAL, B_FEES, B_FUND, B_FILLS, B_VOL = 0, 1, 2, 3, 4, 5, 6
B_MAXABS, B_OUTSIDE, B_ALERTS, B_TE, B_VENUE_POS = 7, 8, 9, 10, 11
BOOK_FIELDS = 12
# What the paper venue does with a sent order (see _execute).
REJECTED, RESTS, FILLS = 0, 1, 2
# A market's rules: size_increment, price_increment, min_size, min_notional.
Rule = tuple[float, float, float, float]


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def _zone(a: float, min_usd: float, max_usd: float, step_usd: float) -> int:
    if a < min_usd:
        return NONE
    if a > max_usd:
        return MAX_ZONE
    return int((a - min_usd) / step_usd)


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def _fit(
    sign: int,
    size: float,
    price: float,
    ref: float,
    max_size: float,
    inc: float,
    pinc: float,
    min_size: float,
    min_notional: float,
    venue_notional: float,
) -> tuple[float, float]:
    """``fit_to_market`` with rules and a price; ``(size, price)``, size 0 if none."""
    ticks = price / pinc
    price = math.floor(ticks + 1e-9) * pinc if sign > 0 else math.ceil(ticks - 1e-9) * pinc
    value_price = ref if ref <= price else price
    venue_min = min_notional if min_notional >= venue_notional else venue_notional
    tolerance = 1 - 1e-9
    if size * value_price < venue_min:
        size = venue_min / value_price
    if size < min_size:
        size = min_size
    cap = math.floor(max_size / inc + 1e-9) * inc
    steps = size / inc
    size = math.floor(steps + 1e-9) * inc
    if size * value_price < venue_min * tolerance or size < min_size:
        size = math.ceil(steps - 1e-9) * inc
    if cap < size:
        size = cap
    if size < min_size:
        return 0.0, price
    if size <= 0 or size * value_price < venue_min * tolerance:
        return 0.0, price
    return size, price


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def _order_target(
    place: int, o: float, cost: float, price: float, rates: tuple[float, float, float]
) -> tuple[int, float]:
    """Side and price of the order closing offset ``o``: ``place`` 1 limit, else market.

    ``rates`` is (price_pct, max_dev_pct, slip_pct). One copy of the rule for
    the recording loop and the totals-only loop (through :func:`_order`).
    """
    price_pct, max_dev_pct, slip_pct = rates
    sign = -1 if o > 0 else 1
    if place == 1:
        anchor = cost if cost > 0 else price
        s = 1.0 if o > 0 else -1.0
        raw = anchor * (1.0 + s * price_pct / 100.0)
        low = price * (1.0 - max_dev_pct / 100.0)
        high = price * (1.0 + max_dev_pct / 100.0)
        return sign, min(max(raw, low), high)
    slip = slip_pct / 100.0
    return sign, price * (1.0 + slip) if sign > 0 else price * (1.0 - slip)


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def _admissible(inc: float, min_size: float, min_notional: float, size: float, ref: float) -> bool:
    steps = size / inc
    if abs(steps - np.rint(steps)) > 1e-6 * max(1.0, steps):
        return False
    if size < min_size:
        return False
    return not size * ref < min_notional * (1 - 1e-9)


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def _book_fill(book: Any, k: int, signed: float, price: float, fee: float) -> None:
    book[k, B_FILLS] += 1.0
    book[k, B_FEES] += fee
    book[k, B_VOL] += abs(signed) * price
    pos = book[k, B_POS]
    new = pos + signed
    if pos == 0.0 or (pos > 0) == (signed > 0):
        book[k, B_AVG] = (pos * book[k, B_AVG] + signed * price) / new
    else:
        closed = min(abs(signed), abs(pos))
        direction = 1.0 if pos > 0 else -1.0
        book[k, B_REAL] += closed * (price - book[k, B_AVG]) * direction
        if abs(signed) > abs(pos):
            book[k, B_AVG] = price
        elif abs(new) < 1e-12:
            book[k, B_AVG] = 0.0
    book[k, B_POS] = new


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def _grow(buf: Any, used: int) -> Any:
    if used < buf.shape[0]:
        return buf
    out = np.empty((buf.shape[0] * 2, buf.shape[1]), dtype=np.float64)
    out[:used] = buf[:used]
    return out


class Settings(NamedTuple):
    """A config's parameters, unpacked from ``fparams``/``iparams`` (``compiled._vectors``)."""

    min_usd: float
    max_usd: float
    step_usd: float
    price_pct: float
    close_pct: float
    max_dev_pct: float
    slip_pct: float
    min_notional: float
    report_min: float
    interval: float
    max_order: float
    max_cycle: float
    maker_fee: float
    taker_fee: float
    slippage: float
    timeout_us: int
    cooldown_us: int
    alert_us: int
    post_only: bool


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _settings(fparams: Any, iparams: Any) -> Settings:
    """The one reading of the parameter vectors, shared by both loops."""
    return Settings(
        fparams[0], fparams[1], fparams[2], fparams[3], fparams[4], fparams[5], fparams[6],
        fparams[7], fparams[8], fparams[9], fparams[10], fparams[11], fparams[12],
        fparams[13], fparams[14], iparams[0], iparams[1], iparams[2], iparams[3] != 0,
    )  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _crosses(sign: int, price: float, limit: float) -> bool:
    """Whether an order on side ``sign`` with limit ``limit`` trades at ``price``."""
    return (price <= limit) if sign > 0 else (price >= limit)


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _fund(book: Any, f: int, i: int, funding: Any, prices: Any, only: int) -> int:
    """Pay step ``i``'s funding events from event ``f`` on; the index of the first unpaid.

    ``funding`` is ``(fund_step, fund_k, fund_rate)``; ``only`` >= 0 pays that
    symbol's events alone (the totals loop), -1 every symbol's.
    """
    fund_step, fund_k, fund_rate = funding
    while f < fund_step.shape[0] and fund_step[f] == i:
        k = fund_k[f]
        if only < 0 or k == only:
            book[k, B_FUND] += -book[k, B_POS] * prices[i, k] * fund_rate[f]
        f += 1
    return f


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _next_due(t: float, start: float, interval: float) -> float:
    """The cycle grid: the first multiple of ``interval`` after ``start`` that is past ``t``."""
    return start + (math.floor((t - start) / interval) + 1) * interval


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _cost_basis(
    old_offset: float, old_cost: float, new_offset: float, price: float
) -> tuple[float, float]:
    """``observe()``'s offset and its average cost after a move to ``new_offset``.

    :func:`xlp_core.offset.calculate_offset_and_cost` compiled, a negative cost
    rebased to ``price`` as :func:`xlp_core.offset.rebase` does. A copy, not a
    call: the core stays free of numba, and numba's disk cache of this module
    would not notice an edit to another file.
    """
    delta = new_offset - old_offset
    if abs(delta) < EPSILON:
        return new_offset, old_cost
    if abs(new_offset) < EPSILON:
        return 0.0, 0.0
    if abs(old_offset) < EPSILON:
        return new_offset, price
    cost = (old_offset * old_cost + delta * price) / new_offset
    return new_offset, price if cost < 0 else cost


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _idle(z: int, has_order: bool) -> bool:
    """Within the threshold with no order: ``decide()`` neither cancels, alerts nor places."""
    return z == NONE and not has_order


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _decide(
    z: int,
    now: int,
    order: tuple[bool, bool, int, int],
    fill: tuple[bool, int, int],
    alert: tuple[bool, int],
    s: Settings,
) -> tuple[bool, bool, int]:
    """``decide()`` for one symbol: ``(cancel, alert, place)``, place 1 limit, 2 market, 0 none.

    ``order`` is (has_order, has_placed, placed, order_zone), ``fill`` (has_fill,
    last_fill, fill_zone), ``alert`` (has_alert, last_alert).
    """
    has_order, has_placed, placed, order_zone = order
    has_fill, last_fill, fill_zone = fill
    has_alert, last_alert = alert
    if _idle(z, has_order):
        return False, False, 0
    if z == MAX_ZONE:
        return has_order, (not has_alert) or now - last_alert >= s.alert_us, 0
    if has_order and has_placed and now - placed >= s.timeout_us:
        return True, False, 2 if z != NONE else 0
    if z == NONE:
        return has_order, False, 0
    hold = False
    normal = True
    if has_fill and now - last_fill < s.cooldown_us:
        normal = False
        ref = order_zone if has_order else fill_zone
        hold = not (ref in (NONE, MAX_ZONE) or z > ref)
    if not (hold or (normal and has_order and order_zone == z)):
        return has_order, False, 1
    return False, False, 0


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _order(
    place: int, o: float, cost: float, price: float, rule: Rule, s: Settings
) -> tuple[int, float, float]:
    """The order closing offset ``o``, fitted to the market ``rule``: ``(sign, size, price)``."""
    wanted = abs(o) * s.close_pct / 100.0
    sign, target = _order_target(place, o, cost, price, (s.price_pct, s.max_dev_pct, s.slip_pct))
    size, at = _fit(
        sign, wanted, target, price, abs(o), rule[0], rule[1], rule[2], s.min_notional, rule[3]
    )
    return sign, size, at


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _guarded(size: float, at: float, budget: float, s: Settings) -> bool:
    """Whether the cycle's notional guards let an order through (size 0: no order)."""
    notional = size * at
    return size != 0.0 and not (notional > s.max_order or budget + notional > s.max_cycle)


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _execute(
    place: int, sign: int, size: float, at: float, price: float, rule: Rule, s: Settings
) -> tuple[int, float]:
    """What the paper venue does with a sent order: ``(REJECTED | RESTS | FILLS, fill price)``."""
    if not _admissible(rule[0], rule[2], rule[3], size, at if place == 1 else price):
        return REJECTED, 0.0
    if place == 1:
        if not _crosses(sign, price, at):
            return RESTS, at
        return (REJECTED if s.post_only else FILLS), price
    filled_at = price * (1.0 + sign * s.slippage)
    return (FILLS if _crosses(sign, filled_at, at) else REJECTED), filled_at


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _fill(book: Any, k: int, sign: int, size: float, price: float, fee_rate: float) -> float:
    """Book a whole fill of ``size`` on side ``sign`` at ``price``; its fee."""
    fee = size * price * fee_rate
    _book_fill(book, k, size * sign, price, fee)
    return fee


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _keep_fill(fills: Any, n: int, row: tuple[float, ...]) -> Any:
    """Append ``row`` (the ``FILL_FIELDS`` columns) to ``fills``, grown if full; the buffer."""
    fills = _grow(fills, n)
    for j in range(FILL_FIELDS):
        fills[n, j] = row[j]
    return fills


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False, inline="always")
def _exposure(
    usd: float, dt: float, report_min: float, stats: tuple[float, float, float]
) -> tuple[float, float, float]:
    """The step's statistics: ``(max |offset|, time outside, tracking error integral)``.

    The totals loop's; ``run_kernel`` writes the same rule out over its arrays.
    """
    maxabs, outside, te = stats
    a = abs(usd)
    if a > maxabs:
        maxabs = a
    if a >= report_min:
        outside += dt
    return maxabs, outside, te + usd * usd * dt


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def run_kernel(
    epochs: Any,  # float64[n]: datetime.timestamp()
    micros: Any,  # int64[n]: microseconds since the first step
    prices: Any,  # float64[n, m]
    ideals: Any,  # float64[n, m]
    init: Any,  # float64[m]
    rules: Any,  # float64[m, 4]: size_increment, price_increment, min_size, min_notional
    start_pos: Any,  # float64[m]
    open_avg: Any,  # float64[m]: the opening book's average price
    fund_step: Any,  # int64[e]
    fund_k: Any,  # int64[e]
    fund_rate: Any,  # float64[e]
    fparams: Any,  # float64[...]: see compiled._fparams
    iparams: Any,  # int64[...]: see compiled._iparams
    record: bool,
) -> tuple[Any, int, Any, int, Any, int]:
    """Replay one config; ``(rows, n_rows, fills, n_fills, book, cycles)``."""
    s = _settings(fparams, iparams)
    n, m = prices.shape
    rows = np.empty((max(16, 4 * m) if record else 1, ROW_FIELDS), dtype=np.float64)
    n_rows = 0
    fills = np.empty((64, FILL_FIELDS), dtype=np.float64)
    n_fills = 0
    book = np.zeros((m, BOOK_FIELDS), dtype=np.float64)

    # The venue and the strategy's SymbolState, as columns.
    pos = start_pos.copy()
    for k in range(m):
        book[k, B_POS] = start_pos[k]
        book[k, B_AVG] = open_avg[k]
    v_serial = np.zeros(m, dtype=np.int64)  # the venue's live order (0: none)
    v_sign = np.zeros(m, dtype=np.int64)
    v_size = np.zeros(m, dtype=np.float64)
    v_limit = np.zeros(m, dtype=np.float64)
    has_x = np.zeros(m, dtype=np.bool_)
    xpos = np.zeros(m, dtype=np.float64)
    offset = np.zeros(m, dtype=np.float64)
    cost = np.zeros(m, dtype=np.float64)
    zone = np.full(m, NONE, dtype=np.int64)
    tracked = np.zeros(m, dtype=np.int64)
    order_zone = np.full(m, NONE, dtype=np.int64)
    placed = np.zeros(m, dtype=np.int64)
    has_placed = np.zeros(m, dtype=np.bool_)
    last_fill = np.zeros(m, dtype=np.int64)
    has_fill = np.zeros(m, dtype=np.bool_)
    fill_zone = np.full(m, NONE, dtype=np.int64)
    last_alert = np.zeros(m, dtype=np.int64)
    has_alert = np.zeros(m, dtype=np.bool_)
    dirty = np.ones(m, dtype=np.bool_)  # changed since the last snapshot
    maxabs = np.zeros(m, dtype=np.float64)
    outside = np.zeros(m, dtype=np.float64)
    te = np.zeros(m, dtype=np.float64)
    serial = 0
    cycles = 0
    f = 0
    start = next_due = epochs[0]

    for i in range(n):
        t = epochs[i]
        now = micros[i]
        # 1. the new prices fill resting limits
        for k in range(m):
            if v_serial[k] != 0 and _crosses(v_sign[k], prices[i, k], v_limit[k]):
                sign, size, lim = v_sign[k], v_size[k], v_limit[k]
                pos[k] += sign * size
                fee = _fill(book, k, sign, size, lim, s.maker_fee)
                row = (float(i), float(k), float(sign), size, lim, fee, 0.0, float(v_serial[k]))
                fills = _keep_fill(fills, n_fills, row)
                n_fills += 1
                v_serial[k] = 0
                dirty[k] = True
        # 2. funding
        paid = _fund(book, f, i, (fund_step, fund_k, fund_rate), prices, -1)
        for e in range(f, paid):
            dirty[fund_k[e]] = True
        f = paid
        # 3. the hedge cycle
        if t >= next_due:
            next_due = _next_due(t, start, s.interval)
            cycles += 1
            budget = 0.0
            for k in range(m):
                price = prices[i, k]
                rule = (rules[k, 0], rules[k, 1], rules[k, 2], rules[k, 3])
                # observe()
                if has_x[k] and abs(pos[k] - xpos[k]) > rule[0] / 2.0:
                    has_fill[k] = True
                    last_fill[k] = now
                    fill_zone[k] = zone[k]
                if tracked[k] != 0 and v_serial[k] != tracked[k]:
                    tracked[k] = 0
                    order_zone[k] = NONE
                    has_placed[k] = False
                o, c = _cost_basis(offset[k], cost[k], (pos[k] + init[k]) - ideals[i, k], price)
                offset[k] = o
                if c != cost[k]:
                    dirty[k] = True
                cost[k] = c
                has_x[k] = True
                xpos[k] = pos[k]
                z = _zone(abs(o * price), s.min_usd, s.max_usd, s.step_usd)
                zone[k] = z  # finish_cycle
                if _idle(z, tracked[k] != 0):
                    # Nothing to decide (the common case): skip loading the rest of the
                    # state for _decide; loading it for every symbol and cycle cost this
                    # loop ~5 % (measured against 97a994c).
                    continue
                do_cancel, do_alert, place = _decide(
                    z, now, (tracked[k] != 0, has_placed[k], placed[k], order_zone[k]),
                    (has_fill[k], last_fill[k], fill_zone[k]), (has_alert[k], last_alert[k]), s,
                )  # fmt: skip
                # the actions, in the order decide() lists them
                if do_cancel:
                    v_serial[k] = 0
                    tracked[k] = 0
                    order_zone[k] = NONE
                    has_placed[k] = False
                    dirty[k] = True
                if do_alert:
                    last_alert[k] = now
                    has_alert[k] = True
                    book[k, B_ALERTS] += 1.0
                if place == 0:
                    continue
                sign, size, at = _order(place, o, c, price, rule, s)
                if not _guarded(size, at, budget, s):
                    continue  # no order, or refused by the cycle's notional guards
                budget += size * at
                serial += 1
                outcome, filled_at = _execute(place, sign, size, at, price, rule, s)
                if outcome == RESTS:
                    v_serial[k] = serial
                    v_sign[k] = sign
                    v_size[k] = size
                    v_limit[k] = at
                    tracked[k] = serial
                    order_zone[k] = z
                    placed[k] = now
                    has_placed[k] = True
                    dirty[k] = True
                elif outcome == FILLS:
                    pos[k] += sign * size
                    fee = _fill(book, k, sign, size, filled_at, s.taker_fee)
                    row = (
                        float(i),
                        float(k),
                        float(sign),
                        size,
                        filled_at,
                        fee,
                        1.0,
                        float(serial),
                    )
                    fills = _keep_fill(fills, n_fills, row)
                    n_fills += 1
                    has_fill[k] = True
                    last_fill[k] = now
                    fill_zone[k] = z
                    dirty[k] = True
        # 4. extremes, time outside the threshold, snapshots of what changed
        dt = epochs[i + 1] - t if i < n - 1 else 0.0
        for k in range(m):
            usd = ((pos[k] + init[k]) - ideals[i, k]) * prices[i, k]
            # _exposure's rule, written out: through the helper every symbol's three
            # statistics are stored back each step, and this loop ran ~9 % slower.
            a = abs(usd)
            if a > maxabs[k]:
                maxabs[k] = a
            if a >= s.report_min:
                outside[k] += dt
            te[k] += usd * usd * dt
            if dirty[k]:
                dirty[k] = False
                if record:
                    rows = _grow(rows, n_rows)
                    r = rows[n_rows]
                    r[0] = i
                    r[1] = k
                    r[2] = pos[k]
                    r[3] = cost[k]
                    r[4] = 1.0 if v_serial[k] != 0 else 0.0
                    r[5] = book[k, B_FILLS]
                    r[6] = book[k, B_VOL]
                    r[7] = book[k, B_FEES]
                    r[8] = book[k, B_FUND]
                    r[9] = book[k, B_REAL]
                    r[10] = book[k, B_AVG]
                    n_rows += 1
    for k in range(m):
        book[k, B_VENUE_POS] = pos[k]
        book[k, B_MAXABS] = maxabs[k]
        book[k, B_OUTSIDE] = outside[k]
        book[k, B_TE] = te[k]
    return rows, n_rows, fills, n_fills, book, cycles


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def _symbol_totals(
    k: int,
    epochs: Any,
    micros: Any,
    prices: Any,
    ideals: Any,
    init: float,
    rules: Any,
    start_pos: float,
    open_avg: float,
    fund_step: Any,
    fund_k: Any,
    fund_rate: Any,
    fparams: Any,
    iparams: Any,
    book: Any,
) -> int:
    """``run_kernel``'s loop for symbol ``k`` alone, its state in locals; returns cycles.

    Valid when the cycle's notional budget cannot refuse an order (see
    :func:`totals_kernel`): then the symbols never interact, and each runs
    the same helpers, so the same float operations in the same order, as in
    ``run_kernel`` (its budget is 0 here: :func:`_guarded` then checks
    ``max_order_notional`` alone, as the budget stays free). Its order
    serials count per symbol (only their equality matters here).
    """
    s = _settings(fparams, iparams)
    rule = (rules[k, 0], rules[k, 1], rules[k, 2], rules[k, 3])
    book[k, B_POS] = start_pos
    book[k, B_AVG] = open_avg
    pos = start_pos
    v_serial, v_sign, v_size, v_limit = 0, 0, 0.0, 0.0  # the venue's live order
    has_x, xpos, offset, cost, zone = False, 0.0, 0.0, 0.0, NONE
    tracked, order_zone, placed, has_placed = 0, NONE, 0, False
    has_fill, last_fill, fill_zone = False, 0, NONE
    has_alert, last_alert = False, 0
    stats = (0.0, 0.0, 0.0)  # max |offset|, time outside, tracking error integral
    serial = 0
    cycles = 0
    f = 0
    n = prices.shape[0]
    start = next_due = epochs[0]

    for i in range(n):
        t = epochs[i]
        now = micros[i]
        price = prices[i, k]
        # 1. the new price fills a resting limit
        if v_serial != 0 and _crosses(v_sign, price, v_limit):
            pos += v_sign * v_size
            _fill(book, k, v_sign, v_size, v_limit, s.maker_fee)
            v_serial = 0
        # 2. funding
        f = _fund(book, f, i, (fund_step, fund_k, fund_rate), prices, k)
        # 3. the hedge cycle
        if t >= next_due:
            next_due = _next_due(t, start, s.interval)
            cycles += 1
            if has_x and abs(pos - xpos) > rule[0] / 2.0:
                has_fill, last_fill, fill_zone = True, now, zone
            if tracked != 0 and v_serial != tracked:
                tracked, order_zone, has_placed = 0, NONE, False
            offset, cost = _cost_basis(offset, cost, (pos + init) - ideals[i, k], price)
            has_x = True
            xpos = pos
            z = _zone(abs(offset * price), s.min_usd, s.max_usd, s.step_usd)
            do_cancel, do_alert, place = _decide(
                z, now, (tracked != 0, has_placed, placed, order_zone),
                (has_fill, last_fill, fill_zone), (has_alert, last_alert), s,
            )  # fmt: skip
            zone = z
            if do_cancel:
                v_serial, tracked, order_zone, has_placed = 0, 0, NONE, False
            if do_alert:
                has_alert, last_alert = True, now
                book[k, B_ALERTS] += 1.0
            if place != 0:
                sign, size, at = _order(place, offset, cost, price, rule, s)
                if _guarded(size, at, 0.0, s):
                    serial += 1
                    outcome, filled_at = _execute(place, sign, size, at, price, rule, s)
                    if outcome == RESTS:
                        v_serial, v_sign, v_size, v_limit = serial, sign, size, at
                        tracked, order_zone, placed, has_placed = serial, z, now, True
                    elif outcome == FILLS:
                        pos += sign * size
                        _fill(book, k, sign, size, filled_at, s.taker_fee)
                        has_fill, last_fill, fill_zone = True, now, z
        # 4. extremes, time outside the threshold, tracking error
        dt = epochs[i + 1] - t if i < n - 1 else 0.0
        stats = _exposure(((pos + init) - ideals[i, k]) * price, dt, s.report_min, stats)
    book[k, B_VENUE_POS] = pos
    book[k, B_MAXABS], book[k, B_OUTSIDE], book[k, B_TE] = stats
    return cycles


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def totals_kernel(
    epochs: Any,
    micros: Any,
    prices: Any,
    ideals: Any,
    init: Any,
    rules: Any,
    start_pos: Any,
    open_avg: Any,
    fund_step: Any,
    fund_k: Any,
    fund_rate: Any,
    fparams: Any,
    iparams: Any,
) -> tuple[Any, int]:
    """``run_kernel``'s totals without records, one symbol at a time; ``(book, cycles)``.

    Only for configs whose cycle budget cannot bind (the caller checks that
    ``max_order_notional`` added up once per symbol stays within
    ``max_cycle_notional``); ``run_kernel`` handles the rest.
    """
    m = prices.shape[1]
    book = np.zeros((m, BOOK_FIELDS), dtype=np.float64)
    cycles = 0
    for k in range(m):
        cycles = _symbol_totals(
            k, epochs, micros, prices, ideals, init[k], rules, start_pos[k], open_avg[k],
            fund_step, fund_k, fund_rate, fparams, iparams, book,
        )  # fmt: skip
    return book, cycles


@njit(cache=True, parallel=True, error_model="numpy", boundscheck=False)
def sweep_kernel(
    epochs: Any,
    micros: Any,
    prices: Any,
    ideals: Any,
    inits: Any,  # float64[c, m]: each config's initial offsets
    rules: Any,
    start_pos: Any,
    open_avg: Any,
    fund_step: Any,
    fund_k: Any,
    fund_rate: Any,
    fparams: Any,  # float64[c, ...]: one row per config
    iparams: Any,  # int64[c, ...]
    free: Any,  # bool[c]: the config's cycle budget cannot bind (see totals_kernel)
) -> tuple[Any, Any]:
    """Every config of a sweep in one call, configs spread over the cores; ``(books, cycles)``.

    One call instead of one task per config: the inputs are shared, not
    shipped, and no per-step records are kept (memory O(configs x symbols)).
    """
    c = fparams.shape[0]
    m = prices.shape[1]
    books = np.zeros((c, m, BOOK_FIELDS), dtype=np.float64)
    cycles = np.zeros(c, dtype=np.int64)
    for j in prange(c):
        if free[j]:
            book, cyc = totals_kernel(
                epochs, micros, prices, ideals, inits[j], rules, start_pos, open_avg,
                fund_step, fund_k, fund_rate, fparams[j], iparams[j],
            )  # fmt: skip
            books[j] = book
            cycles[j] = cyc
        else:
            out = run_kernel(
                epochs, micros, prices, ideals, inits[j], rules, start_pos, open_avg,
                fund_step, fund_k, fund_rate, fparams[j], iparams[j], False,
            )  # fmt: skip
            books[j] = out[4]
            cycles[j] = out[5]
    return books, cycles
