"""Deal context of a priced listing: how its unit price compares with the same market, robustly.

For a listing of SKU *s*, side *side* (``sold`` for a sale, else ``asking``) and condition group *g*
(``new`` = new + open box, ``used`` = the rest; ``for_parts`` gets no context), on its day *d* (the
sale day of a dated sale, else the day it was last seen):

* ``deal_percentile``: the mid-rank percentile of its unit price among the listings of *s*, *side*,
  *g* seen in the :data:`WINDOW_DAYS` days up to *d* (each listing votes once, with its latest price
  in the window; ties count half). 0 = cheaper than all, 100 = dearer than all, 50 = the median.
* ``deal_n``: how many listings that percentile rests on.
* ``deal_lowest_days``: the price is the group's lowest for this many days: *d* minus the latest
  earlier day with a lower price, or the days of history there are (at most :data:`LOOKBACK_DAYS`)
  when no lower price was seen. ``None`` when a lower price was seen on *d* itself.

The population is what the market index counts (:func:`market.index.load_observations`: not
excluded, not quarantined, working, priced), so outliers and fakes never make a listing look cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from gpuprices.market.index import load_observations, utc_today

__all__ = ["DEAL_COLUMNS", "LOOKBACK_DAYS", "WINDOW_DAYS", "DealBook", "deal_book", "with_deal_context"]

WINDOW_DAYS = 30
LOOKBACK_DAYS = 90
DEAL_COLUMNS = ("deal_percentile", "deal_n", "deal_lowest_days")
_NONE = dict.fromkeys(DEAL_COLUMNS)


def _group(condition: str | None) -> str | None:
    if condition == "for_parts":
        return None
    return "new" if condition in ("new", "open_box") else "used"


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


class DealBook:
    """The counted prices of the last :data:`LOOKBACK_DAYS` days, grouped, ready to place listings in."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._groups: dict[tuple[str, str, str], pd.DataFrame] = {}
        if not frame.empty:
            frame = frame.assign(day=frame["day"].dt.date, sku=frame["sku"].astype(str),
                                 side=frame["side"].astype(str), condition_group=frame["condition_group"].astype(str))
            for key, rows in frame.groupby(["sku", "side", "condition_group"], sort=False):
                self._groups[(str(key[0]), str(key[1]), str(key[2]))] = rows.loc[
                    :, ["day", "listing_id", "unit_price_usd"]].sort_values(["day", "listing_id"], kind="stable")
        self._window_cache: dict[tuple[tuple[str, str, str], date], np.ndarray] = {}

    def _window(self, key: tuple[str, str, str], day: date) -> np.ndarray:
        cached = self._window_cache.get((key, day))
        if cached is None:
            rows = self._groups[key]
            inside = rows[(rows["day"] > day - timedelta(days=WINDOW_DAYS)) & (rows["day"] <= day)]
            latest = inside.groupby("listing_id", sort=False)["unit_price_usd"].last()  # rows are in day order
            cached = np.sort(latest.to_numpy(dtype="float64"))
            self._window_cache[(key, day)] = cached
        return cached

    def context(self, *, sku: str | None, sold: Any, condition: str | None, unit_price_usd: Any,
                day: date | None) -> dict[str, Any]:
        """:data:`DEAL_COLUMNS` for one listing (all ``None`` without a group, a price or a day)."""
        group = _group(condition)
        if not sku or group is None or unit_price_usd in (None, "") or day is None:
            return dict(_NONE)
        key = (sku, "sold" if sold else "asking", group)
        if key not in self._groups:
            return {**_NONE, "deal_n": 0}
        price = float(unit_price_usd)
        prices = self._window(key, day)
        n = len(prices)
        percentile = None
        if n:
            below = int(np.searchsorted(prices, price, side="left"))
            equal = int(np.searchsorted(prices, price, side="right")) - below
            percentile = round(100.0 * (below + 0.5 * equal) / n, 1)
        return {"deal_percentile": percentile, "deal_n": n, "deal_lowest_days": self._lowest_days(key, price, day)}

    def _lowest_days(self, key: tuple[str, str, str], price: float, day: date) -> int | None:
        rows = self._groups[key]
        history = rows[(rows["day"] <= day) & (rows["day"] > day - timedelta(days=LOOKBACK_DAYS))]
        if history.empty:
            return None
        lower = history.loc[history["unit_price_usd"] < price, "day"]
        if lower.empty:
            return (day - history["day"].min()).days + 1
        latest_lower = lower.max()
        return None if latest_lower == day else (day - latest_lower).days

    def listing_context(self, row: dict[str, Any]) -> dict[str, Any]:
        """Context of a ``listings`` row (or any row with sku, sold, condition, unit_price_usd, dates)."""
        day = (_day(row.get("sold_at")) if row.get("sold") else None) or _day(row.get("last_seen_at")) \
            or _day(row.get("observed_at"))
        return self.context(sku=row.get("sku"), sold=row.get("sold"), condition=row.get("condition"),
                            unit_price_usd=row.get("unit_price_usd"), day=day)


def deal_book(store: Any, *, today: date | None = None, sku: str | None = None) -> DealBook:
    """The deal book of the :data:`LOOKBACK_DAYS` days up to ``today`` (one SKU, or all)."""
    end = today or utc_today()
    return DealBook(load_observations(store, since=end - timedelta(days=LOOKBACK_DAYS - 1), until=end, sku=sku))


def with_deal_context(rows: Iterable[dict[str, Any]], book: DealBook) -> Iterator[dict[str, Any]]:
    """Each row with the :data:`DEAL_COLUMNS` added (``export listings``, the web pages and API)."""
    for row in rows:
        yield {**row, **book.listing_context(row)}
