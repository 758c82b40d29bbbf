"""Rent vs buy: after how many months does owning a GPU cost less than renting the same GPU-hours?

For one GPU::

    owned running cost  c = TDP kW × PUE × $/kWh + other $/GPU-hour
    resale at horizon   R = purchase × residual(horizon)      (residual curve, linear interpolation)
    months              = (purchase − R) / ((rental − c) × 730 h × utilization)

Renting costs ``rental`` per *used* GPU-hour; owning costs the capital that does not come back on
resale plus ``c`` per used hour. Each used hour owned instead of rented saves ``rental − c``; the
months are how long those savings take to repay ``purchase − R``. When ``rental ≤ c`` they never do
(``months`` is ``None``: renting is cheaper than even the electricity of owning). Simplifications,
said plainly: power is counted only for used hours (idle draw is ignored), the resale value is
taken at the configured horizon whatever the answer, and money has no time value.

:func:`breakeven_table` applies it per SKU to today's market: the purchase price is the latest
sold median (condition group ``all``) when it rests on at least ``min_sold_samples`` sales, else the
latest asking median (``purchase_basis`` says which), and the rental price is the latest on-demand
rental median (a spot variant beside it).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs

from gpuprices.market.index import compute_index, money, ratio, utc_today
from gpuprices.market.premium import premium_table
from gpuprices.market.rental_index import compute_rental_index, latest_rental_rows, usd_per_hour
from gpuprices.pipeline.classify.catalog import Catalog
from gpuprices.storage.base import Store

if TYPE_CHECKING:
    from gpuprices.market.settings import BreakevenSettings

__all__ = ["BREAKEVEN_COLUMNS", "HOURS_PER_MONTH", "Breakeven", "breakeven", "breakeven_table",
           "owned_usd_per_gpu_hour", "residual_fraction"]

HOURS_PER_MONTH = 730.0
"""Hours in an average month (8,760 / 12)."""

BREAKEVEN_COLUMNS = ("sku", "purchase_basis", "purchase_day", "purchase_n", "purchase_usd", "rental_day",
                     "rental_n", "rental_providers", "rental_usd_per_gpu_hour", "spot_usd_per_gpu_hour", "tdp_w",
                     "owned_usd_per_gpu_hour", "utilization", "hours_per_month", "horizon_months",
                     "resale_fraction", "resale_usd_at_horizon", "months", "months_spot", "formula")


@attrs.frozen(kw_only=True)
class Breakeven:
    """The answer and every input it rests on."""

    months: float | None
    """Months of use until owning is cheaper; ``None`` = never (rental ≤ owned running cost)."""
    purchase_usd: float
    """Price of one GPU."""
    resale_usd_at_horizon: float
    """What it resells for at the horizon (purchase × residual fraction)."""
    rental_usd_per_gpu_hour: float
    """Rental price per GPU-hour."""
    owned_usd_per_gpu_hour: float
    """Running cost of owning per used GPU-hour: TDP kW × PUE × $/kWh + other."""
    utilization: float
    """Fraction of the month's hours the GPU works."""
    hours_per_month: float = HOURS_PER_MONTH
    horizon_months: int
    """When the GPU is resold."""
    residual_fraction: float
    """Fraction of the purchase price the resale brings at the horizon."""
    tdp_w: float | None
    """Board power used for the running cost; ``None`` when the catalog has none (power not counted)."""
    formula: str
    """The computation with its numbers, for people."""


def residual_fraction(curve: Sequence[tuple[float, float]], months: float) -> float:
    """The curve's value at ``months``: linear between points, flat before the first and after the last."""
    points = sorted(curve)
    if not points:
        return 0.0
    xs = [x for x, _ in points]
    if months <= xs[0]:
        return points[0][1]
    if months >= xs[-1]:
        return points[-1][1]
    i = bisect_right(xs, months)
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return y0 + (y1 - y0) * (months - x0) / (x1 - x0)


def owned_usd_per_gpu_hour(tdp_w: float | None, settings: BreakevenSettings) -> float:
    """TDP kW × PUE × $/kWh + other $/GPU-hour (no power term without a TDP)."""
    power = (tdp_w or 0.0) / 1000.0 * settings.pue * settings.power_usd_per_kwh
    return power + settings.other_usd_per_gpu_hour


def breakeven(purchase_usd: float, rental_usd_per_gpu_hour: float, *, tdp_w: float | None,
              settings: BreakevenSettings) -> Breakeven:
    """Months of use after which buying one GPU at ``purchase_usd`` beats renting it (module docstring)."""
    owned = owned_usd_per_gpu_hour(tdp_w, settings)
    fraction = residual_fraction(settings.residual_curve, settings.horizon_months)
    resale = purchase_usd * fraction
    capital = purchase_usd - resale
    saving = rental_usd_per_gpu_hour - owned
    power = (f"{tdp_w:g} W × {settings.pue:g} PUE × ${settings.power_usd_per_kwh:g}/kWh" if tdp_w
             else "no TDP in the catalog: power not counted")
    running = f"owned running cost ${owned:.4f}/GPU-h = {power} + ${settings.other_usd_per_gpu_hour:g}"
    if saving <= 0:
        months = None
        result = (f"never: rental ${rental_usd_per_gpu_hour:.4f}/GPU-h ≤ owned running cost"
                  f" ${owned:.4f}/GPU-h")
    else:
        months = max(capital, 0.0) / (saving * HOURS_PER_MONTH * settings.utilization)
        result = (f"months = (${purchase_usd:,.2f} − resale ${resale:,.2f} [{fraction:.0%} at"
                  f" {settings.horizon_months} mo]) / ((${rental_usd_per_gpu_hour:.4f} − ${owned:.4f})/GPU-h"
                  f" × {HOURS_PER_MONTH:g} h × {settings.utilization:g} utilization) = {months:.1f}")
    return Breakeven(months=months, purchase_usd=purchase_usd, resale_usd_at_horizon=resale,
                     rental_usd_per_gpu_hour=rental_usd_per_gpu_hour, owned_usd_per_gpu_hour=owned,
                     utilization=settings.utilization, horizon_months=settings.horizon_months,
                     residual_fraction=fraction, tdp_w=tdp_w, formula=f"{result}; {running}")


def _purchase_prices(rows: list[dict[str, Any]], min_sold: int) -> dict[str, dict[str, Any]]:
    """Per SKU: the sold row of condition group ``all`` when it rests on ≥ ``min_sold`` sales, else the asking row."""
    by_sku: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if row["condition_group"] == "all" and row["median_usd"] is not None:
            by_sku.setdefault(row["sku"], {})[row["side"]] = row
    chosen = {}
    for sku, sides in by_sku.items():
        sold = sides.get("sold")
        if sold is not None and sold["n"] >= min_sold:
            chosen[sku] = {**sold, "basis": "sold"}
        elif "asking" in sides:
            chosen[sku] = {**sides["asking"], "basis": "asking"}
    return chosen


def _months(result: Breakeven | None) -> float | None:
    return None if result is None or result.months is None else round(result.months, 2)


def breakeven_table(store: Store, catalog: Catalog, settings: BreakevenSettings, *, sku: str | None = None,
                    today: date | None = None, days: int = 30) -> list[dict[str, Any]]:
    """One row per SKU with both a purchase price and an on-demand rental median in the last ``days``
    days up to ``today`` (each the latest day with data); keys :data:`BREAKEVEN_COLUMNS`.

    ``months`` is ``None`` for "never"; ``months_spot`` is the same with the spot rental median.
    """
    end = today or utc_today()
    purchases = _purchase_prices(premium_table(compute_index(store, catalog, days=days, sku=sku, today=end),
                                               today=end), settings.min_sold_samples)
    rentals = latest_rental_rows(compute_rental_index(store, days=days, sku=sku, today=end), today=end)
    rows = []
    for sku_id in sorted(purchases):
        rent = rentals.get((sku_id, "on_demand"))
        if rent is None:
            continue
        spot = rentals.get((sku_id, "spot"))
        purchase = purchases[sku_id]
        item = catalog.get(sku_id)
        tdp = float(max(item.tdp_w)) if item is not None and item.tdp_w else None  # highest power: the safe side
        price = float(purchase["median_usd"])
        result = breakeven(price, float(rent["median_usd_per_gpu_hour"]), tdp_w=tdp, settings=settings)
        spot_result = (breakeven(price, float(spot["median_usd_per_gpu_hour"]), tdp_w=tdp, settings=settings)
                       if spot is not None else None)
        rows.append({
            "sku": sku_id, "purchase_basis": purchase["basis"], "purchase_day": purchase["day"],
            "purchase_n": purchase["n"], "purchase_usd": money(price),
            "rental_day": rent["day"].date().isoformat(), "rental_n": int(rent["n"]),
            "rental_providers": int(rent["providers"]),
            "rental_usd_per_gpu_hour": usd_per_hour(rent["median_usd_per_gpu_hour"]),
            "spot_usd_per_gpu_hour": usd_per_hour(spot["median_usd_per_gpu_hour"]) if spot is not None else None,
            "tdp_w": tdp, "owned_usd_per_gpu_hour": usd_per_hour(result.owned_usd_per_gpu_hour),
            "utilization": settings.utilization, "hours_per_month": HOURS_PER_MONTH,
            "horizon_months": settings.horizon_months, "resale_fraction": ratio(result.residual_fraction),
            "resale_usd_at_horizon": money(result.resale_usd_at_horizon), "months": _months(result),
            "months_spot": _months(spot_result), "formula": result.formula,
        })
    return rows
