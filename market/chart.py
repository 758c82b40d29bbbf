"""A chart of one SKU's index: median price with its p25–p75 band and the list price, and the premium.

Rendering uses matplotlib's Agg canvas directly (no pyplot): no display is needed, and no global
figure state leaks between calls, which matters in the long-running daemon.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from gpuprices.market.index import money, ratio

__all__ = ["chart_figure", "render_chart", "usd_label"]

_SUFFIXES = (".png", ".html")


def usd_label(value: float, _pos: object = None) -> str:
    """Axis label for a USD amount: ``$30k``, ``$17.5k``, ``$950``."""
    sign, amount = ("-" if value < 0 else ""), abs(value)
    if amount >= 1000:
        return f"{sign}${amount / 1000:.2f}".rstrip("0").rstrip(".") + "k"
    return f"{sign}${amount:.0f}"


def _select(index: pd.DataFrame, sku: str, side: str, condition_group: str) -> pd.DataFrame:
    rows = index[(index["sku"] == sku) & (index["side"] == side) & (index["condition_group"] == condition_group)]
    if rows.empty:
        raise ValueError(f"no index data for {sku} ({side}, condition {condition_group}) in the chosen period")
    return rows.sort_values("day")


def render_chart(index: pd.DataFrame, *, sku: str, side: str = "asking", condition_group: str = "all",
                 output: Path) -> Path:
    """Write the chart of ``sku`` to ``output``: ``.png``, or ``.html`` (the PNG embedded plus a table
    of the numbers, one self-contained file). Raises ``ValueError`` without data or for another suffix.
    """
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"chart file must end in .png or .html, got {output.name!r}")
    rows = _select(index, sku, side, condition_group)
    png = _png(rows, sku=sku, side=side, condition_group=condition_group)
    if suffix == ".png":
        output.write_bytes(png)
    else:
        output.write_text(_html(rows, png, sku=sku, side=side, condition_group=condition_group), encoding="utf-8")
    return output


_HALF_DAY = pd.Timedelta(hours=12)
_MIN_SPAN = pd.Timedelta(days=7)


def _day_steps(days: pd.Series, values: pd.Series) -> tuple[list[pd.Timestamp], list[float]]:
    """Each day's value held across its own day (midnight ± 12 h), for ``step="post"`` drawing: a band
    or a list price is visible even with a single day of data."""
    edges = [day - _HALF_DAY for day in days] + [days.iloc[-1] + _HALF_DAY]
    held = [float(v) for v in values] + [float(values.iloc[-1])]
    return edges, held


def _percent(value: float, _pos: object = None) -> str:
    """An exact premium tick: ``+12.5%``, ``-40%``, ``0%``."""
    return "0%" if value == 0 else f"{value:+g}%"


def _png(rows: pd.DataFrame, *, sku: str, side: str, condition_group: str) -> bytes:
    buffer = io.BytesIO()
    chart_figure(rows, sku=sku, side=side, condition_group=condition_group).savefig(buffer, format="png", dpi=120)
    return buffer.getvalue()


def chart_figure(rows: pd.DataFrame, *, sku: str, side: str, condition_group: str) -> Figure:
    """The chart of one SKU × side × condition group's index rows (oldest first), on an Agg canvas."""
    days = rows["day"]
    fig = Figure(figsize=(10, 7), layout="constrained")
    FigureCanvasAgg(fig)
    price_ax, premium_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])

    edges, p25 = _day_steps(days, rows["p25_usd"])
    _, p75 = _day_steps(days, rows["p75_usd"])
    price_ax.fill_between(edges, p25, p75, step="post", color="tab:blue", alpha=0.18, linewidth=0,
                          label="p25–p75 of listings")
    price_ax.plot(days, rows["median_usd"], color="tab:blue", linewidth=2, marker="o", markersize=4,
                  label="median per GPU")
    indicative = rows[rows["indicative"]]
    if not indicative.empty:
        # Hollow markers: days whose median rests on few listings or one seller.
        price_ax.plot(indicative["day"], indicative["median_usd"], linestyle="none", marker="o", markersize=8,
                      markerfacecolor="white", markeredgecolor="tab:orange",
                      label="indicative (few listings or one seller)")
    listed = rows[rows["list_price_usd"].notna()]
    if not listed.empty:
        # List prices are dated: the value holds from its date until the next, hence a step line.
        list_edges, list_prices = _day_steps(listed["day"], listed["list_price_usd"])
        price_ax.step(list_edges, list_prices, where="post", color="tab:red", linestyle="--", linewidth=1.5,
                      label="list price")
    price_ax.yaxis.set_major_formatter(FuncFormatter(usd_label))
    price_ax.set_ylabel("USD per GPU", fontsize=11)
    price_ax.grid(True, alpha=0.3)
    price_ax.legend(loc="best", fontsize=10)
    price_ax.set_title(f"{sku} — {side} prices, condition: {condition_group}", fontsize=14)

    priced = rows[rows["premium"].notna()]
    premium = priced["premium"] * 100
    # An area rather than bars: a year of daily bars turns into a solid block.
    premium_ax.plot(priced["day"], premium, color="tab:purple", linewidth=1.5, marker="o" if len(priced) < 40
                    else None, markersize=4, label="premium over list")
    if not priced.empty:
        premium_edges, held = _day_steps(priced["day"], premium)
        sign = [value >= 0 for value in held]
        premium_ax.fill_between(premium_edges, held, 0, where=sign, step="post", color="tab:green", alpha=0.25,
                                linewidth=0)
        premium_ax.fill_between(premium_edges, held, 0, where=[not s for s in sign], step="post", color="tab:red",
                                alpha=0.25, linewidth=0)
    else:
        premium_ax.text(0.5, 0.5, "no list price in the catalog for these days", transform=premium_ax.transAxes,
                        ha="center", va="center", fontsize=10)
    premium_ax.axhline(0, color="black", linewidth=1)
    premium_ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    premium_ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    premium_ax.set_ylabel("vs list price", fontsize=11)
    premium_ax.grid(True, axis="y", alpha=0.3)
    # The time axis spans the data (at least a week, so one day is not stretched over years).
    start, end = days.iloc[0] - _HALF_DAY, days.iloc[-1] + _HALF_DAY
    if end - start < _MIN_SPAN:
        pad = (_MIN_SPAN - (end - start)) / 2
        start, end = start - pad, end + pad
    premium_ax.set_xlim(start, end)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    premium_ax.xaxis.set_major_locator(locator)
    premium_ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in (price_ax, premium_ax):
        ax.tick_params(labelsize=10)
    return fig


def _html(rows: pd.DataFrame, png: bytes, *, sku: str, side: str, condition_group: str) -> str:
    title = html.escape(f"{sku} — {side} prices, condition {condition_group}")
    image = base64.b64encode(png).decode("ascii")
    body = []
    for row in rows.itertuples(index=False):
        premium = ratio(row.premium * 100, 1)
        cells = [row.day.date().isoformat(), str(int(row.n)), str(int(row.sellers)), money(row.median_usd),
                 money(row.p25_usd), money(row.p75_usd), money(row.list_price_usd) or "",
                 "" if premium is None else f"{premium:+.1f}%", "yes" if row.indicative else ""]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c or ''))}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("day", "listings", "sellers", "median USD", "p25 USD", "p75 USD",
                                            "list price USD", "premium", "indicative"))
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 14px; }}
th, td {{ padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
img {{ max-width: 100%; }}
</style></head>
<body>
<h1>{title}</h1>
<p>Daily median per-GPU price in USD; premium = median / list price − 1 (negative below list).
Indicative rows rest on few listings or a single seller. Generated {generated}.</p>
<img alt="{title}" src="data:image/png;base64,{image}">
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
</body></html>
"""
