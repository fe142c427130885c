"""A PNG overview of a backtest, drawn without pyplot.

Using ``Figure`` with the Agg canvas directly keeps this safe to call from a
server, a test or a notebook: no global figure registry, no GUI backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xlp_core.errors import InvalidInputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from xlp_adapters.backtest.results import BacktestResult


def plot_result(
    result: BacktestResult, path: str | Path, *, dpi: int = 110, max_points: int = 4000
) -> Path:
    """Offsets against the thresholds, hedge PnL and costs, LP value; write a PNG."""
    return save_png(figure_of(result, max_points=max_points), path, dpi=dpi)


def save_png(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG (creating the directory); a typed error if it cannot."""
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=dpi, format="png")
    except OSError as exc:
        raise InvalidInputError(f"cannot write plot {out}: {exc.strerror or exc}") from None
    return out


def figure_of(result: BacktestResult, *, max_points: int = 4000) -> Figure:
    """The overview figure: offsets against the thresholds, hedge PnL and costs, LP value.

    At most about ``max_points`` timestamps are drawn (evenly thinned).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    frame = result.to_frame()
    times = frame.index.unique()
    stride = max(1, len(times) // max_points)
    if stride > 1:
        # A year of minutes is more points than pixels: thin to keep drawing fast.
        frame = frame[frame.index.isin(times[::stride].append(times[-1:]))]
    cfg = result.config

    fig = Figure(figsize=(11, 9), layout="constrained")
    FigureCanvasAgg(fig)
    ax_off, ax_pnl, ax_lp = fig.subplots(3, 1, sharex=True)

    for sym in result.symbols:
        part = frame[frame["symbol"] == sym]
        ax_off.plot(part.index, part["offset_usd"], lw=0.8, label=sym)
    for level, style in ((cfg.threshold_min_usd, ":"), (cfg.threshold_max_usd, "--")):
        for sign in (1, -1):
            ax_off.axhline(sign * level, color="grey", lw=0.8, ls=style)
    ax_off.set_ylabel("offset (USD)")
    ax_off.set_title(f"hedge offset per symbol ({result.engine} engine)")
    ax_off.legend(loc="upper left", ncols=max(1, len(result.symbols)), fontsize="small")

    totals = frame.groupby(level="time")[["hedge_pnl", "fees", "funding"]].sum()
    ax_pnl.plot(totals.index, totals["hedge_pnl"], label="hedge PnL")
    ax_pnl.plot(totals.index, -totals["fees"], label="fees (cost)")
    ax_pnl.plot(totals.index, totals["funding"], label="funding")
    ax_pnl.axhline(0.0, color="grey", lw=0.6)
    ax_pnl.set_ylabel("USD")
    ax_pnl.set_title("hedge leg")
    ax_pnl.legend(loc="upper left", fontsize="small")

    lp = frame.groupby(level="time")["lp_value"].first()
    if lp.notna().any():
        start = lp.dropna().iloc[0]
        ax_lp.plot(lp.index, lp - start, label="LP value change")
        ax_lp.plot(lp.index, lp - start + totals["hedge_pnl"], label="LP + hedge")
        ax_lp.legend(loc="upper left", fontsize="small")
    else:
        ax_lp.text(0.5, 0.5, "LP value not computable", ha="center", transform=ax_lp.transAxes)
    ax_lp.axhline(0.0, color="grey", lw=0.6)
    ax_lp.set_ylabel("USD")
    ax_lp.set_title("LP position, unhedged vs hedged")
    return fig
