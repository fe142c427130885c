"""Building a :class:`~xlp_adapters.backtest.data.Scenario` from pandas DataFrames.

For notebooks whose data already sits in pandas (a database query, a
Parquet file, an exchange API)::

    prices = pd.DataFrame({"SOL": [...], "BTC": [...]}, index=pd.date_range(..., tz="UTC"))
    pools = pd.DataFrame({"timestamp": [...], "pool": "JLP", "symbol": [...],
                          "per_token": [...]})
    scenario = scenario_from_frames(prices, pools)

``prices`` is *wide* (a ``DatetimeIndex`` and one column per symbol) or
*long* (``timestamp``, ``symbol``, ``price`` columns, like ``prices.csv``);
``pools`` and ``funding`` are long, like their CSV files. Naive timestamps
are taken as UTC; extra columns are ignored. The result is validated exactly
like a loaded scenario (a NaN or a gap is a typed error naming the symbol
and time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from xlp_adapters.backtest.data import PoolPath, Scenario, ScenarioError
from xlp_core.hedge import normalise_symbol

if TYPE_CHECKING:
    import pandas as pd


def _times(values: Any, what: str) -> list[datetime]:
    import pandas as pd

    try:
        index = pd.DatetimeIndex(values)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{what}: timestamps not readable as dates ({exc})") from None
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return [t.to_pydatetime().astimezone(UTC) for t in index]


def _num(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{what}: not a number: {str(value)[:40]!r}") from None


def _need(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScenarioError(f"{what}: missing column(s) {', '.join(missing)}")


def scenario_from_frames(
    prices: pd.DataFrame, pools: pd.DataFrame, funding: pd.DataFrame | None = None
) -> Scenario:
    """A validated scenario from DataFrames; see the module docstring for the shapes."""
    if "symbol" in prices.columns:
        _need(prices, ("timestamp", "symbol", "price"), "prices")
        try:
            wide = prices.pivot(index="timestamp", columns="symbol", values="price")
        except ValueError as exc:
            raise ScenarioError(f"prices: {exc}") from None
    else:
        wide = prices
    wide = wide.sort_index()
    times = _times(wide.index, "prices")
    series: dict[str, tuple[float, ...]] = {}
    for col in wide.columns:
        sym = normalise_symbol(str(col))
        if sym in series:
            raise ScenarioError(f"prices: symbol {sym} twice")
        series[sym] = tuple(_num(x, f"prices {sym}") for x in wide[col].tolist())

    _need(pools, ("timestamp", "pool", "symbol", "per_token"), "pools")
    comps: dict[str, dict[datetime, dict[str, float]]] = {}
    pool_times = _times(pools["timestamp"], "pools")
    for t, pool, sym, v in zip(
        pool_times, pools["pool"], pools["symbol"], pools["per_token"], strict=True
    ):
        comp = comps.setdefault(str(pool).strip(), {}).setdefault(t, {})
        comp[str(sym).strip().upper()] = _num(v, f"pools {pool} {sym}")
    paths = {
        name: PoolPath(name, tuple(sorted(by_t)), tuple(by_t[t] for t in sorted(by_t)))
        for name, by_t in sorted(comps.items())
    }

    rates: dict[str, list[tuple[datetime, float]]] = {}
    if funding is not None:
        _need(funding, ("timestamp", "symbol", "rate"), "funding")
        f_times = _times(funding["timestamp"], "funding")
        for t, sym, r in zip(f_times, funding["symbol"], funding["rate"], strict=True):
            rates.setdefault(normalise_symbol(str(sym)), []).append((t, _num(r, "funding")))
    return Scenario(
        times=tuple(times),
        prices=series,
        pools=paths,
        funding={s: tuple(sorted(r)) for s, r in sorted(rates.items())},
    )
