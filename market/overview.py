"""The market at a glance: per SKU today's asking and sold medians (condition group ``all``), with
their 7- and 30-day change and the daily medians for a sparkline. Pure: it reads an index frame
(:func:`market.index.daily_index`) and the premium rows made from it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from gpuprices.market.index import ratio

__all__ = ["OVERVIEW_COLUMNS", "OVERVIEW_DAYS", "change_over", "overview_rows"]

OVERVIEW_DAYS = 30
"""SKUs without data in this many days are left out; the sparkline spans them."""
OVERVIEW_COLUMNS = ("sku", "day", "asking_median_usd", "asking_n", "asking_sellers", "sold_median_usd", "sold_n",
                    "list_price_usd", "premium", "change_7d", "change_30d", "indicative")


def change_over(index: pd.DataFrame, *, sku: str, side: str, group: str, day: pd.Timestamp, days: int
                ) -> float | None:
    """Relative change of the median on ``day`` against the latest day ``days`` to ``2 × days`` earlier
    (the rule of :data:`market.premium.CHANGE_DAYS`, for any span); ``None`` without such a day."""
    rows = index[(index["sku"] == sku) & (index["side"] == side) & (index["condition_group"] == group)]
    now = rows.loc[rows["day"] == day, "median_usd"]
    earlier = rows[(rows["day"] <= day - pd.Timedelta(days=days)) & (rows["day"] >= day - pd.Timedelta(days=2 * days))]
    if now.empty or earlier.empty:
        return None
    reference = float(earlier.sort_values("day")["median_usd"].iloc[-1])
    return ratio(float(now.iloc[0]) / reference - 1.0) if reference else None


def sparkline(index: pd.DataFrame, *, sku: str, today: date) -> list[tuple[str, float]]:
    """Daily asking medians (group ``all``) of the last :data:`OVERVIEW_DAYS` days, oldest first."""
    start = pd.Timestamp(today - timedelta(days=OVERVIEW_DAYS - 1))
    rows = index[(index["sku"] == sku) & (index["side"] == "asking") & (index["condition_group"] == "all")
                 & (index["day"] >= start) & (index["day"] <= pd.Timestamp(today))].sort_values("day")
    return [(day.date().isoformat(), float(value)) for day, value in zip(rows["day"], rows["median_usd"], strict=True)]


def overview_rows(index: pd.DataFrame, premium: list[dict[str, Any]], *, today: date) -> list[dict[str, Any]]:
    """One row per SKU with data in the last :data:`OVERVIEW_DAYS` days (keys :data:`OVERVIEW_COLUMNS`
    plus ``sparkline``). ``index`` must reach back 60 days for the 30-day change; ``premium`` is
    :func:`market.premium.premium_table` of it. Asking is the headline; a SKU seen only sold shows its sold row."""
    oldest = (today - timedelta(days=OVERVIEW_DAYS - 1)).isoformat()
    latest: dict[str, dict[str, dict[str, Any]]] = {}
    for row in premium:
        if row["condition_group"] == "all" and row["day"] is not None and row["day"] >= oldest:
            latest.setdefault(row["sku"], {})[row["side"]] = row
    out = []
    for sku in sorted(latest):
        sides = latest[sku]
        head = sides.get("asking") or sides["sold"]
        day = pd.Timestamp(head["day"])
        asking, sold = sides.get("asking"), sides.get("sold")
        out.append({
            "sku": sku, "day": head["day"],
            "asking_median_usd": asking["median_usd"] if asking else None,
            "asking_n": asking["n"] if asking else 0,
            "asking_sellers": asking["sellers"] if asking else 0,
            "sold_median_usd": sold["median_usd"] if sold else None,
            "sold_n": sold["n"] if sold else 0,
            "list_price_usd": head["list_price_usd"], "premium": head["premium"],
            "change_7d": head["change_7d"],
            "change_30d": change_over(index, sku=sku, side=head["side"], group="all", day=day, days=30),
            "indicative": head["indicative"],
            "sparkline": sparkline(index, sku=sku, today=today),
        })
    return out
