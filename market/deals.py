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
_EPOCH = date(1970, 1, 1)


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


class _Group:
    """One SKU × side × condition group as arrays: rows in day order, and the minimum of each day."""

    def __init__(self, rows: pd.DataFrame) -> None:
        rows = rows.sort_values(["day_number", "listing_id"], kind="stable")
        self.days = rows["day_number"].to_numpy(dtype="int64")
        self.listings = rows["listing_id"].to_numpy(dtype="int64")
        self.prices = rows["unit_price_usd"].to_numpy(dtype="float64")
        minima = rows.groupby("day_number", sort=True)["unit_price_usd"].min()
        self.min_days = minima.index.to_numpy(dtype="int64")
        self.min_prices = minima.to_numpy(dtype="float64")


class DealBook:
    """The counted prices of the last :data:`LOOKBACK_DAYS` days, grouped, ready to place listings in."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._groups: dict[tuple[str, str, str], _Group] = {}
        if not frame.empty:
            frame = frame.assign(day_number=(frame["day"] - pd.Timestamp("1970-01-01")).dt.days,
                                 sku=frame["sku"].astype(str), side=frame["side"].astype(str),
                                 condition_group=frame["condition_group"].astype(str))
            for key, rows in frame.groupby(["sku", "side", "condition_group"], sort=False):
                self._groups[(str(key[0]), str(key[1]), str(key[2]))] = _Group(rows)
        self._window_cache: dict[tuple[tuple[str, str, str], int], np.ndarray] = {}

    def _window(self, key: tuple[str, str, str], day: int) -> np.ndarray:
        """Sorted latest price of each listing seen in the window ending on ``day``."""
        cached = self._window_cache.get((key, day))
        if cached is None:
            group = self._groups[key]
            inside = (group.days > day - WINDOW_DAYS) & (group.days <= day)
            listings, prices = group.listings[inside][::-1], group.prices[inside][::-1]
            _, first = np.unique(listings, return_index=True)  # reversed: the first is the latest
            cached = np.sort(prices[first])
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
        number = (day - _EPOCH).days
        prices = self._window(key, number)
        n = len(prices)
        percentile = None
        if n:
            below = int(np.searchsorted(prices, price, side="left"))
            equal = int(np.searchsorted(prices, price, side="right")) - below
            percentile = round(100.0 * (below + 0.5 * equal) / n, 1)
        return {"deal_percentile": percentile, "deal_n": n,
                "deal_lowest_days": self._lowest_days(self._groups[key], price, number)}

    @staticmethod
    def _lowest_days(group: _Group, price: float, day: int) -> int | None:
        inside = (group.min_days <= day) & (group.min_days > day - LOOKBACK_DAYS)
        if not inside.any():
            return None
        days = group.min_days[inside]
        lower = days[group.min_prices[inside] < price]
        if lower.size == 0:
            return int(day - days.min()) + 1
        latest = int(lower.max())
        return None if latest == day else day - latest

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
