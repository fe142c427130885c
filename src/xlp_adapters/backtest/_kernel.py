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
from typing import Any

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
    the recording loop and the totals-only loop, so the two cannot drift apart.
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
    min_usd, max_usd, step_usd = fparams[0], fparams[1], fparams[2]
    price_pct, close_pct, max_dev_pct = fparams[3], fparams[4], fparams[5]
    slip_pct, min_notional = fparams[6], fparams[7]
    report_min, interval = fparams[8], fparams[9]
    max_order, max_cycle = fparams[10], fparams[11]
    maker_fee, taker_fee, slippage = fparams[12], fparams[13], fparams[14]
    timeout_us, cooldown_us, alert_us = iparams[0], iparams[1], iparams[2]
    post_only = iparams[3] != 0

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
    dirty = np.ones(m, dtype=np.bool_)
    maxabs = np.zeros(m, dtype=np.float64)
    outside = np.zeros(m, dtype=np.float64)
    te = np.zeros(m, dtype=np.float64)
    # What the last snapshot held, to record only changes.
    serial = 0
    cycles = 0
    f = 0
    n_fund = fund_step.shape[0]
    start = epochs[0]
    next_due = start
    last = n - 1

    for i in range(n):
        t = epochs[i]
        now = micros[i]
        # 1. the new prices fill resting limits
        for k in range(m):
            if v_serial[k] != 0:
                p = prices[i, k]
                lim = v_limit[k]
                sign = v_sign[k]
                if (p <= lim) if sign > 0 else (p >= lim):
                    size = v_size[k]
                    pos[k] += sign * size
                    fee = size * lim * maker_fee
                    _book_fill(book, k, size * sign, lim, fee)
                    fills = _grow(fills, n_fills)
                    fills[n_fills, 0] = i
                    fills[n_fills, 1] = k
                    fills[n_fills, 2] = sign
                    fills[n_fills, 3] = size
                    fills[n_fills, 4] = lim
                    fills[n_fills, 5] = fee
                    fills[n_fills, 6] = 0.0
                    fills[n_fills, 7] = v_serial[k]
                    n_fills += 1
                    v_serial[k] = 0
                    dirty[k] = True
        # 2. funding
        while f < n_fund and fund_step[f] == i:
            k = fund_k[f]
            flow = -book[k, B_POS] * prices[i, k] * fund_rate[f]
            book[k, B_FUND] += flow
            dirty[k] = True
            f += 1
        # 3. the hedge cycle
        if t >= next_due:
            next_due = start + (math.floor((t - start) / interval) + 1) * interval
            cycles += 1
            budget = 0.0
            for k in range(m):
                price = prices[i, k]
                inc = rules[k, 0]
                # observe()
                if has_x[k] and abs(pos[k] - xpos[k]) > inc / 2.0:
                    has_fill[k] = True
                    last_fill[k] = now
                    fill_zone[k] = zone[k]
                if tracked[k] != 0 and v_serial[k] != tracked[k]:
                    tracked[k] = 0
                    order_zone[k] = NONE
                    has_placed[k] = False
                old_offset = offset[k]
                old_cost = cost[k]
                new_offset = (pos[k] + init[k]) - ideals[i, k]
                delta = new_offset - old_offset
                new_cost = old_cost
                if abs(delta) < EPSILON:
                    pass
                elif abs(new_offset) < EPSILON:
                    new_offset = 0.0
                    new_cost = 0.0
                elif abs(old_offset) < EPSILON:
                    new_cost = price
                else:
                    new_cost = (old_offset * old_cost + delta * price) / new_offset
                    if new_cost < 0:
                        new_cost = price
                offset[k] = new_offset
                if new_cost != cost[k]:
                    dirty[k] = True
                cost[k] = new_cost
                has_x[k] = True
                xpos[k] = pos[k]
                z = _zone(abs(new_offset * price), min_usd, max_usd, step_usd)
                # decide()
                has_order = tracked[k] != 0
                do_cancel = False
                do_alert = False
                place = 0  # 1 limit, 2 market
                if z == MAX_ZONE:
                    do_cancel = has_order
                    do_alert = (not has_alert[k]) or now - last_alert[k] >= alert_us
                elif has_order and has_placed[k] and now - placed[k] >= timeout_us:
                    do_cancel = True
                    if z != NONE:
                        place = 2
                elif z == NONE:
                    do_cancel = has_order
                else:
                    hold = False
                    normal = True
                    if has_fill[k] and now - last_fill[k] < cooldown_us:
                        normal = False
                        ref = order_zone[k] if has_order else fill_zone[k]
                        hold = not (ref in (NONE, MAX_ZONE) or z > ref)
                    if not (hold or (normal and has_order and order_zone[k] == z)):
                        do_cancel = has_order
                        place = 1
                zone[k] = z  # finish_cycle
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
                o = new_offset
                wanted = abs(o) * close_pct / 100.0
                sign, target = _order_target(
                    place, o, new_cost, price, (price_pct, max_dev_pct, slip_pct)
                )
                size, at = _fit(
                    sign, wanted, target, price, abs(o), inc, rules[k, 1], rules[k, 2],
                    min_notional, rules[k, 3],
                )  # fmt: skip
                if size == 0.0:
                    continue
                notional = size * at
                if notional > max_order or budget + notional > max_cycle:
                    continue  # refused by the cycle's notional guards
                budget += notional
                serial += 1
                filled_at = -1.0
                if not _admissible(
                    inc, rules[k, 2], rules[k, 3], size, at if place == 1 else price
                ):
                    continue  # rejected by the venue: the state is unchanged
                if place == 1:
                    if not ((price <= at) if sign > 0 else (price >= at)):
                        v_serial[k] = serial
                        v_sign[k] = sign
                        v_size[k] = size
                        v_limit[k] = at
                        tracked[k] = serial
                        order_zone[k] = z
                        placed[k] = now
                        has_placed[k] = True
                        dirty[k] = True
                        continue
                    if post_only:
                        continue
                    filled_at = price
                else:
                    filled_at = price * (1.0 + sign * slippage)
                    if (filled_at > at) if sign > 0 else (filled_at < at):
                        continue
                pos[k] += sign * size
                fee = size * filled_at * taker_fee
                _book_fill(book, k, size * sign, filled_at, fee)
                fills = _grow(fills, n_fills)
                fills[n_fills, 0] = i
                fills[n_fills, 1] = k
                fills[n_fills, 2] = sign
                fills[n_fills, 3] = size
                fills[n_fills, 4] = filled_at
                fills[n_fills, 5] = fee
                fills[n_fills, 6] = 1.0
                fills[n_fills, 7] = serial
                n_fills += 1
                has_fill[k] = True
                last_fill[k] = now
                fill_zone[k] = z
                dirty[k] = True
        # 4. extremes, time outside the threshold, snapshots of what changed
        dt = epochs[i + 1] - t if i < last else 0.0
        for k in range(m):
            usd = ((pos[k] + init[k]) - ideals[i, k]) * prices[i, k]
            a = abs(usd)
            if a > maxabs[k]:
                maxabs[k] = a
            if a >= report_min:
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
    the same float operations in the same order as in ``run_kernel``. Its
    order serials count per symbol (only their equality matters here).
    """
    min_usd, max_usd, step_usd = fparams[0], fparams[1], fparams[2]
    price_pct, close_pct, max_dev_pct = fparams[3], fparams[4], fparams[5]
    slip_pct, min_notional = fparams[6], fparams[7]
    report_min, interval = fparams[8], fparams[9]
    max_order = fparams[10]
    maker_fee, taker_fee, slippage = fparams[12], fparams[13], fparams[14]
    timeout_us, cooldown_us, alert_us = iparams[0], iparams[1], iparams[2]
    post_only = iparams[3] != 0
    inc, pinc, min_size, venue_notional = rules[k, 0], rules[k, 1], rules[k, 2], rules[k, 3]

    n = prices.shape[0]
    book[k, B_POS] = start_pos
    book[k, B_AVG] = open_avg
    pos = start_pos
    v_serial = 0
    v_sign = 0
    v_size = 0.0
    v_limit = 0.0
    has_x = False
    xpos = 0.0
    offset = 0.0
    cost = 0.0
    zone = NONE
    tracked = 0
    order_zone = NONE
    placed = 0
    has_placed = False
    last_fill = 0
    has_fill = False
    fill_zone = NONE
    last_alert = 0
    has_alert = False
    maxabs = 0.0
    outside = 0.0
    te = 0.0
    alerts = 0.0
    serial = 0
    cycles = 0
    f = 0
    n_fund = fund_step.shape[0]
    start = epochs[0]
    next_due = start
    last = n - 1

    for i in range(n):
        t = epochs[i]
        now = micros[i]
        price = prices[i, k]
        # 1. the new price fills a resting limit
        if v_serial != 0 and ((price <= v_limit) if v_sign > 0 else (price >= v_limit)):
            pos += v_sign * v_size
            _book_fill(book, k, v_size * v_sign, v_limit, v_size * v_limit * maker_fee)
            v_serial = 0
        # 2. funding
        while f < n_fund and fund_step[f] == i:
            if fund_k[f] == k:
                book[k, B_FUND] += -book[k, B_POS] * price * fund_rate[f]
            f += 1
        # 3. the hedge cycle
        if t >= next_due:
            next_due = start + (math.floor((t - start) / interval) + 1) * interval
            cycles += 1
            if has_x and abs(pos - xpos) > inc / 2.0:
                has_fill = True
                last_fill = now
                fill_zone = zone
            if tracked != 0 and v_serial != tracked:
                tracked = 0
                order_zone = NONE
                has_placed = False
            old_offset = offset
            new_offset = (pos + init) - ideals[i, k]
            delta = new_offset - old_offset
            if abs(delta) < EPSILON:
                pass
            elif abs(new_offset) < EPSILON:
                new_offset = 0.0
                cost = 0.0
            elif abs(old_offset) < EPSILON:
                cost = price
            else:
                cost = (old_offset * cost + delta * price) / new_offset
                if cost < 0:
                    cost = price
            offset = new_offset
            has_x = True
            xpos = pos
            z = _zone(abs(new_offset * price), min_usd, max_usd, step_usd)
            has_order = tracked != 0
            do_cancel = False
            place = 0  # 1 limit, 2 market
            if z == MAX_ZONE:
                do_cancel = has_order
                if (not has_alert) or now - last_alert >= alert_us:
                    last_alert = now
                    has_alert = True
                    alerts += 1.0
            elif has_order and has_placed and now - placed >= timeout_us:
                do_cancel = True
                if z != NONE:
                    place = 2
            elif z == NONE:
                do_cancel = has_order
            else:
                hold = False
                normal = True
                if has_fill and now - last_fill < cooldown_us:
                    normal = False
                    ref = order_zone if has_order else fill_zone
                    hold = not (ref in (NONE, MAX_ZONE) or z > ref)
                if not (hold or (normal and has_order and order_zone == z)):
                    do_cancel = has_order
                    place = 1
            zone = z
            if do_cancel:
                v_serial = 0
                tracked = 0
                order_zone = NONE
                has_placed = False
            if place != 0:
                o = new_offset
                wanted = abs(o) * close_pct / 100.0
                sign, target = _order_target(
                    place, o, cost, price, (price_pct, max_dev_pct, slip_pct)
                )
                size, at = _fit(
                    sign, wanted, target, price, abs(o), inc, pinc, min_size,
                    min_notional, venue_notional,
                )  # fmt: skip
                filled_at = price
                fill = False
                if size != 0.0 and not size * at > max_order:
                    serial += 1
                    if _admissible(
                        inc, min_size, venue_notional, size, at if place == 1 else price
                    ):
                        if place == 1:
                            if not ((price <= at) if sign > 0 else (price >= at)):
                                v_serial = serial
                                v_sign = sign
                                v_size = size
                                v_limit = at
                                tracked = serial
                                order_zone = z
                                placed = now
                                has_placed = True
                            else:
                                fill = not post_only
                        else:
                            filled_at = price * (1.0 + sign * slippage)
                            fill = not ((filled_at > at) if sign > 0 else (filled_at < at))
                if fill:
                    pos += sign * size
                    _book_fill(book, k, size * sign, filled_at, size * filled_at * taker_fee)
                    has_fill = True
                    last_fill = now
                    fill_zone = z
        # 4. extremes, time outside the threshold, tracking error
        dt = epochs[i + 1] - t if i < last else 0.0
        usd = ((pos + init) - ideals[i, k]) * price
        a = abs(usd)
        if a > maxabs:
            maxabs = a
        if a >= report_min:
            outside += dt
        te += usd * usd * dt
    book[k, B_VENUE_POS] = pos
    book[k, B_MAXABS] = maxabs
    book[k, B_OUTSIDE] = outside
    book[k, B_TE] = te
    book[k, B_ALERTS] = alerts
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
