"""Today's premium table: the latest index row per SKU × side × condition group, with its 7-day change."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from gpuprices.market.index import CONDITION_GROUPS, SIDES, money, ratio

__all__ = ["CHANGE_DAYS", "CHANGE_MAX_LOOKBACK_DAYS", "PREMIUM_COLUMNS", "premium_table"]

CHANGE_DAYS = 7
CHANGE_MAX_LOOKBACK_DAYS = 14
"""The 7-day change compares with the latest day with data that is 7 to 14 days earlier; an older
reference would be a different statistic under the same name, so the change is then ``None``."""

PREMIUM_COLUMNS = ("sku", "side", "condition_group", "day", "n", "sellers", "median_usd", "p25_usd", "p75_usd",
                   "list_price_usd", "list_price_date", "premium", "premium_pct", "change_7d", "indicative")
_KEYS = ["sku", "side", "condition_group"]


def premium_table(index: pd.DataFrame, *, today: date) -> list[dict[str, Any]]:
    """One row per SKU × side × condition group: its latest index day on or before ``today``.

    ``premium`` is a signed fraction (-0.42 = 42 % below list), ``premium_pct`` the same in percent;
    ``change_7d`` is the relative change of the median against the latest day 7–14 days before that
    day (``None`` without one). Money is a decimal string with cents.
    """
    if index.empty:
        return []
    known = index[index["day"] <= pd.Timestamp(today)]
    if known.empty:
        return []
    latest = known.sort_values("day").groupby(_KEYS, sort=False).tail(1)
    latest = latest.assign(target=latest["day"] - pd.Timedelta(days=CHANGE_DAYS))
    history = known.loc[:, [*_KEYS, "day", "median_usd"]].rename(
        columns={"day": "ref_day", "median_usd": "ref_median"})
    # For each latest row, the last day at or before target in the same group (merge_asof needs both
    # sides sorted on the time key).
    merged = pd.merge_asof(latest.sort_values("target"), history.sort_values("ref_day"),
                           left_on="target", right_on="ref_day", by=_KEYS, direction="backward")
    too_old = merged["ref_day"] < merged["day"] - pd.Timedelta(days=CHANGE_MAX_LOOKBACK_DAYS)
    merged["change_7d"] = (merged["median_usd"] / merged["ref_median"] - 1.0).where(~too_old)
    side_order = {s: i for i, s in enumerate(SIDES)}
    group_order = {g: i for i, g in enumerate(CONDITION_GROUPS)}
    merged = merged.assign(_side=merged["side"].map(side_order), _group=merged["condition_group"].map(group_order))
    merged = merged.sort_values(["sku", "_side", "_group"], ignore_index=True)
    return [_row(record) for record in merged.to_dict("records")]


def _row(record: dict[str, Any]) -> dict[str, Any]:
    premium = ratio(record["premium"])
    list_date = record["list_price_date"]
    return {
        "sku": record["sku"],
        "side": record["side"],
        "condition_group": record["condition_group"],
        "day": record["day"].date().isoformat(),
        "n": int(record["n"]),
        "sellers": int(record["sellers"]),
        "median_usd": money(record["median_usd"]),
        "p25_usd": money(record["p25_usd"]),
        "p75_usd": money(record["p75_usd"]),
        "list_price_usd": money(record["list_price_usd"]),
        "list_price_date": None if pd.isna(list_date) else list_date.date().isoformat(),
        "premium": premium,
        "premium_pct": None if premium is None else ratio(record["premium"] * 100, 2),
        "change_7d": ratio(record["change_7d"]),
        "indicative": bool(record["indicative"]),
    }


def empty_row(sku: str, side: str, condition_group: str, *, list_price_usd: Any = None,
              list_price_date: date | None = None) -> dict[str, Any]:
    """A row for a SKU × side × group without data in the window (``premium --all``)."""
    return {
        "sku": sku, "side": side, "condition_group": condition_group, "day": None, "n": 0, "sellers": 0,
        "median_usd": None, "p25_usd": None, "p75_usd": None, "list_price_usd": money(list_price_usd),
        "list_price_date": None if list_price_date is None else list_price_date.isoformat(),
        "premium": None, "premium_pct": None, "change_7d": None, "indicative": True,
    }

