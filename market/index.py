"""The daily market index: per day × SKU × side × condition group, the per-GPU USD price of the listings that count.

Which rows count, and how:

* only classified, priced, working GPUs of the catalog that are neither excluded nor quarantined;
* ``asking``: open listings (not sold, not ended), on the UTC day they were observed;
* ``sold``: sales with a visible price (``best_offer_accepted`` sales hide it), on their ``sold_at`` day;
  a sale without ``sold_at`` counts once, on the first day it was seen (sold pages show a sale for
  weeks, so the observation day would count it again and again). Ended-unsold listings never count;
* one listing counts once per day and side, with its latest price of that day;
* condition groups: ``new`` = new + open box; ``used`` = used + refurbished + *unknown*
  (an unstated condition is almost always a used card on this market, and keeping it out of ``new``
  keeps that group clean); ``for_parts`` never counts. ``all`` aggregates new and used.

Prices are floats here: this is statistics, not accounting; exports round money back to cents.

The statistics are materialized per day in storage (:func:`refresh_index`): a write marks the days it
can change, readers recompute only those, so reading two years costs what reading their rows costs.
The catalog-dependent columns (list price, premium, indicative) are added when read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from gpuprices.market.observations import (
    OBSERVATION_COLUMNS,
    SIDES,
    load_observations,
    observation_frame,
    utc_today,
)
from gpuprices.pipeline.classify.catalog import Catalog
from gpuprices.storage.base import Store
from gpuprices.storage.index import INDEX_ROW_COLUMNS

__all__ = [
    "CONDITION_GROUPS",
    "INDEX_COLUMNS",
    "INDEX_EXPORT_COLUMNS",
    "OBSERVATION_COLUMNS",
    "SIDES",
    "compute_index",
    "daily_index",
    "index_rows",
    "index_stats",
    "load_observations",
    "money",
    "refresh_index",
    "utc_today",
]

CONDITION_GROUPS = ("new", "used", "all")
INDEX_COLUMNS = ("day", "sku", "side", "condition_group", "n", "sellers", "median_usd", "p25_usd", "p75_usd",
                 "iqr_usd", "min_usd", "list_price_usd", "list_price_date", "list_price_source", "premium",
                 "indicative")
INDEX_EXPORT_COLUMNS = INDEX_COLUMNS
"""Keys (in order) of the rows yielded by :func:`index_rows`, for a CSV header."""

_REFRESH_DAYS = 31  # days recomputed per query while refreshing: bounded memory on a full rebuild


def _aggregate(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    groups = frame.groupby(keys, observed=True, sort=False)
    price = groups["unit_price_usd"]
    out = pd.DataFrame({
        "n": price.size(),  # rows are already one per listing × day × side
        "sellers": groups["seller"].nunique(),  # unknown sellers are not counted: no proof of a second seller
        "median_usd": price.median(),
        "p25_usd": price.quantile(0.25),  # linear interpolation (numpy's default, "type 7")
        "p75_usd": price.quantile(0.75),
        "min_usd": price.min(),
    })
    return out.reset_index()


def index_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """The catalog-free statistics of :func:`daily_index` (columns ``INDEX_ROW_COLUMNS`` of storage):
    what the materialized index stores per day × sku × side × condition group."""
    if frame.empty:
        return _empty_index().loc[:, list(INDEX_ROW_COLUMNS)]
    per_group = _aggregate(frame, ["day", "sku", "side", "condition_group"])
    overall = _aggregate(frame, ["day", "sku", "side"]).assign(condition_group="all")
    stats = pd.concat([per_group, overall], ignore_index=True)
    for column in ("sku", "side", "condition_group"):
        stats[column] = stats[column].astype(str)
    return stats.loc[:, list(INDEX_ROW_COLUMNS)]


def daily_index(frame: pd.DataFrame, catalog: Catalog, *, min_samples: int = 10) -> pd.DataFrame:
    """One row per day × sku × side × condition group (plus ``all`` per day × sku × side): columns
    :data:`INDEX_COLUMNS`. ``premium`` is signed (median / list price − 1, negative below list),
    NaN when the catalog has no list price valid that day; ``indicative`` marks rows resting on
    fewer than ``min_samples`` listings or on at most one known seller.
    """
    return _decorate(index_stats(frame), catalog, min_samples=min_samples)


def _decorate(stats: pd.DataFrame, catalog: Catalog, *, min_samples: int) -> pd.DataFrame:
    if stats.empty:
        return _empty_index()
    index = stats.copy()
    index["iqr_usd"] = index["p75_usd"] - index["p25_usd"]
    index = index.merge(_list_prices(index, catalog), on=["day", "sku"], how="left")
    index["premium"] = index["median_usd"] / index["list_price_usd"] - 1.0
    index["indicative"] = (index["n"] < min_samples) | (index["sellers"] <= 1)
    order = {"side": list(SIDES), "condition_group": list(CONDITION_GROUPS)}
    index = index.sort_values(
        ["sku", "side", "condition_group", "day"],
        key=lambda s: s.map({v: i for i, v in enumerate(order[str(s.name)])}) if s.name in order else s,
        ignore_index=True,
    )
    return index.loc[:, list(INDEX_COLUMNS)]


def _list_prices(index: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    # One catalog lookup per distinct day × sku (hundreds to a few thousand), not per row.
    pairs = index[["day", "sku"]].drop_duplicates()
    usd: list[float] = []
    dates: list[Any] = []
    sources: list[str | None] = []
    for day, sku in zip(pairs["day"], pairs["sku"], strict=True):
        price = catalog.list_price(sku, day.date())
        usd.append(float(price.usd) if price else np.nan)
        dates.append(pd.Timestamp(price.date) if price else pd.NaT)
        sources.append(price.source if price else None)
    return pairs.assign(list_price_usd=np.array(usd, dtype="float64"),
                        list_price_date=pd.to_datetime(pd.Series(dates, index=pairs.index, dtype="object")),
                        list_price_source=pd.Series(sources, index=pairs.index, dtype="object"))


def _empty_index() -> pd.DataFrame:
    dtypes = {"day": "datetime64[s]", "n": "int64", "sellers": "int64", "list_price_date": "datetime64[s]",
              "indicative": "bool", "sku": "object", "side": "object", "condition_group": "object",
              "list_price_source": "object"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in INDEX_COLUMNS})


def refresh_index(store: Store) -> int:
    """Recompute the materialized rows of the days marked dirty (every write that can change a day
    marks it); returns how many days were recomputed. Closed, clean days are never read again."""
    marks = store.dirty_index_days()
    for run in _runs(marks):
        first, last = run[0][0], run[-1][0]
        frame = observation_frame(store.index_observations(first, last, everything_known=True), first, last)
        wanted = pd.to_datetime([day.isoformat() for day, _ in run])  # a run may skip clean days
        stats = index_stats(frame[frame["day"].isin(wanted)])
        store.put_index_days(run, _stat_rows(stats))
    return len(marks)


def scratch_index(store: Store, since: date, until: date) -> pd.DataFrame:
    """The statistics :func:`refresh_index` materializes, computed from every observation at once
    without reading or writing the stored rows (a rebuild's reference); columns ``INDEX_ROW_COLUMNS``."""
    frame = observation_frame(store.index_observations(since, until, everything_known=True), since, until)
    return _stored_frame(_stat_rows(index_stats(frame)))


def _runs(marks: list[tuple[date, int]]) -> Iterator[list[tuple[date, int]]]:
    """Dirty days in runs of nearby days (one query each), at most ``_REFRESH_DAYS`` days wide."""
    run: list[tuple[date, int]] = []
    for mark in sorted(marks):
        if (run and (mark[0] - run[0][0]).days >= _REFRESH_DAYS) or (run and (mark[0] - run[-1][0]).days > 3):
            yield run
            run = []
        run.append(mark)
    if run:
        yield run


def _stat_rows(stats: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Plain Python rows (the database driver takes no numpy scalars), ``day`` as an ISO date."""
    days = [d.isoformat() for d in stats["day"].dt.date] if len(stats) else []
    columns = [stats[c].tolist() for c in INDEX_ROW_COLUMNS[1:]]
    return list(zip(days, *columns, strict=True))


def _stored_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(INDEX_ROW_COLUMNS))
    frame["day"] = pd.to_datetime(frame["day"], format="%Y-%m-%d")
    for column in ("n", "sellers"):
        frame[column] = frame[column].astype("int64")
    for column in ("median_usd", "p25_usd", "p75_usd", "min_usd"):
        frame[column] = frame[column].astype("float64")
    return frame


def read_index(store: Store, since: date, until: date, sku: str | None = None) -> pd.DataFrame:
    """Materialized statistics of days ``since``..``until`` after refreshing the dirty days."""
    refresh_index(store)
    return _stored_frame(store.read_index(since, until, sku))


def compute_index(store: Store, catalog: Catalog, *, days: int, sku: str | None = None,
                  min_samples: int = 10, today: date | None = None) -> pd.DataFrame:
    """The index of the last ``days`` days up to ``today`` (UTC, inclusive), from the materialized
    rows (everything known now, including sales seen after their day)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    end = today or utc_today()
    return _decorate(read_index(store, end - timedelta(days=days - 1), end, sku), catalog, min_samples=min_samples)


def money(value: Any) -> str | None:
    """A float amount as a decimal string with cents (``"31999.46"``); ``None`` for NaN/None."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    # repr() is the shortest round-tripping text, so 100.015 rounds half up to 100.02 as written.
    return str(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def ratio(value: Any, places: int = 4) -> float | None:
    """A fraction rounded for output; ``None`` for NaN/None."""
    if value is None or pd.isna(value):
        return None
    return round(float(value), places)


def index_rows(store: Store, catalog: Catalog, *, since: date | None, days: int,
               min_samples: int = 10, today: date | None = None) -> Iterator[dict[str, Any]]:
    """Rows of the index for ``gpuprices export index``: from ``since`` (or the last ``days`` days)
    to today, keys :data:`INDEX_EXPORT_COLUMNS`. Money as decimal strings with cents, dates ISO,
    ``premium`` a fraction with 4 decimals (``None`` without a list price).
    """
    end = today or utc_today()
    start = since if since is not None else end - timedelta(days=max(days, 1) - 1)
    index = _decorate(read_index(store, start, end), catalog, min_samples=min_samples)
    for row in index.itertuples(index=False):  # the index is small: rows per day × SKU, not per listing
        yield {
            "day": row.day.date().isoformat(),
            "sku": row.sku,
            "side": row.side,
            "condition_group": row.condition_group,
            "n": int(row.n),
            "sellers": int(row.sellers),
            "median_usd": money(row.median_usd),
            "p25_usd": money(row.p25_usd),
            "p75_usd": money(row.p75_usd),
            "iqr_usd": money(row.iqr_usd),
            "min_usd": money(row.min_usd),
            "list_price_usd": money(row.list_price_usd),
            "list_price_date": None if pd.isna(row.list_price_date) else row.list_price_date.date().isoformat(),
            "list_price_source": row.list_price_source,
            "premium": ratio(row.premium),
            "indicative": bool(row.indicative),
        }
