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
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from gpuprices.pipeline.classify.catalog import Catalog
from gpuprices.storage.base import Store

__all__ = [
    "CONDITION_GROUPS",
    "INDEX_COLUMNS",
    "INDEX_EXPORT_COLUMNS",
    "OBSERVATION_COLUMNS",
    "SIDES",
    "compute_index",
    "daily_index",
    "index_rows",
    "load_observations",
    "money",
    "statistics_index",
]

SIDES = ("asking", "sold")
CONDITION_GROUPS = ("new", "used", "all")
OBSERVATION_COLUMNS = ("day", "sku", "side", "condition_group", "unit_price_usd", "listing_id", "seller", "source")
INDEX_COLUMNS = ("day", "sku", "side", "condition_group", "n", "sellers", "median_usd", "p25_usd", "p75_usd",
                 "iqr_usd", "min_usd", "list_price_usd", "list_price_date", "list_price_source", "premium",
                 "indicative")
INDEX_EXPORT_COLUMNS = INDEX_COLUMNS
"""Keys (in order) of the rows yielded by :func:`index_rows`, for a CSV header."""

_UNIX_EPOCH_JD = 2440587.5  # julianday('1970-01-01T00:00:00Z')
_STRING_COLUMNS = ("sku", "seller", "source")


def utc_today() -> date:
    return datetime.now(UTC).date()


def load_observations(store: Store, *, since: date, until: date | None = None,
                      sku: str | None = None) -> pd.DataFrame:
    """Rows that count for the index between ``since`` and ``until`` (inclusive, UTC days; default
    today), one per listing × day × side: columns :data:`OBSERVATION_COLUMNS`.

    Observations made after ``until`` are not read, so a past index is what was known at the time.
    """
    last = until or utc_today()
    found = store.index_sightings(since, last, sku)
    chunks: list[pd.DataFrame] = []
    for rows in found.chunks:  # bounded memory: each chunk's strings become categorical codes first
        chunk = pd.DataFrame.from_records(rows, columns=list(found.columns))
        for column in _STRING_COLUMNS:
            chunk[column] = chunk[column].astype("category")
        chunks.append(chunk)
    if found.final:  # the database applied the rules
        return _final_frame(_concat(chunks, found.columns))
    return _finish(_concat(chunks, found.columns), since, last)


def _final_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "day": pd.to_datetime(frame["day"].astype(str)).astype("datetime64[ns]") if len(frame) else
        pd.Series(dtype="datetime64[ns]"),
        "sku": frame["sku"].array,
        "side": pd.Categorical(frame["side"].astype(str), categories=list(SIDES)),
        "condition_group": pd.Categorical(frame["condition_group"].astype(str), categories=["new", "used"]),
        "unit_price_usd": frame["unit_price_usd"].to_numpy(dtype="float64"),
        "listing_id": frame["listing_id"].to_numpy(dtype="int64"),
        "seller": frame["seller"].array,
        "source": frame["source"].array,
    })


def _concat(chunks: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype="category" if c in _STRING_COLUMNS else "float64")
                             for c in columns})
    if len(chunks) == 1:
        return chunks[0]
    # pd.concat would turn categoricals with different categories back into Python strings.
    strings = {c: union_categoricals([chunk[c] for chunk in chunks]) for c in _STRING_COLUMNS}
    frame = pd.concat([chunk.drop(columns=list(_STRING_COLUMNS)) for chunk in chunks], ignore_index=True)
    for column, values in strings.items():
        frame[column] = pd.Categorical(values)
    return frame


def _finish(raw: pd.DataFrame, since: date, until: date) -> pd.DataFrame:
    is_sold = raw["sold"].to_numpy(dtype="int64") == 1
    day = raw["day_key"].to_numpy(dtype="int64")
    undated = day == -1
    keep = np.ones(len(raw), dtype=bool)
    if undated.any():
        first_seen = np.floor(-raw["pick"].to_numpy(dtype="float64") - _UNIX_EPOCH_JD)
        day = np.where(undated, first_seen, day).astype("int64")
        # A sale that some sighting dates is counted on that date only.
        dated_sale = pd.Series(is_sold & ~undated).groupby(raw["listing_id"].to_numpy()).transform("max")
        keep &= ~(undated & dated_sale.to_numpy(dtype=bool))
    # Sales seen in the window may have happened before it.
    keep &= (day >= _unix_day(since)) & (day <= _unix_day(until))
    order = np.lexsort((is_sold[keep], raw["listing_id"].to_numpy()[keep], day[keep]))
    subset = raw.loc[keep].iloc[order]
    return pd.DataFrame({
        "day": pd.to_datetime(day[keep][order], unit="D"),
        "sku": subset["sku"].cat.remove_unused_categories().array,
        "side": pd.Categorical.from_codes(is_sold[keep][order].astype("int8"), categories=list(SIDES)),
        "condition_group": pd.Categorical.from_codes(
            (subset["is_new"].to_numpy(dtype="int64") == 0).astype("int8"), categories=["new", "used"]),
        "unit_price_usd": subset["unit_price_usd"].to_numpy(dtype="float64"),
        "listing_id": subset["listing_id"].to_numpy(dtype="int64"),
        "seller": subset["seller"].cat.remove_unused_categories().array,
        "source": subset["source"].cat.remove_unused_categories().array,
    })


def _unix_day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


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


def daily_index(frame: pd.DataFrame, catalog: Catalog, *, min_samples: int = 10) -> pd.DataFrame:
    """One row per day × sku × side × condition group (plus ``all`` per day × sku × side): columns
    :data:`INDEX_COLUMNS`. ``premium`` is signed (median / list price − 1, negative below list),
    NaN when the catalog has no list price valid that day; ``indicative`` marks rows resting on
    fewer than ``min_samples`` listings or on at most one known seller.
    """
    if frame.empty:
        return _empty_index()
    per_group = _aggregate(frame, ["day", "sku", "side", "condition_group"])
    overall = _aggregate(frame, ["day", "sku", "side"]).assign(condition_group="all")
    return _complete(pd.concat([per_group, overall], ignore_index=True), catalog, min_samples)


def statistics_index(rows: list[dict[str, Any]], catalog: Catalog, *, min_samples: int = 10) -> pd.DataFrame:
    """:func:`daily_index` from statistics a database computed (``Store.index_statistics``)."""
    if not rows:
        return _empty_index()
    index = pd.DataFrame.from_records(rows)
    index["day"] = pd.to_datetime(index["day"].astype(str)).astype("datetime64[ns]")
    for column in ("n", "sellers"):
        index[column] = index[column].astype("int64")
    for column in ("median_usd", "p25_usd", "p75_usd", "min_usd"):
        index[column] = index[column].astype("float64")
    return _complete(index, catalog, min_samples)


def _complete(index: pd.DataFrame, catalog: Catalog, min_samples: int) -> pd.DataFrame:
    """Statistics per day × SKU × side × group → the index: IQR, list price, premium, indicative, order."""
    for column in ("sku", "side", "condition_group"):
        index[column] = index[column].astype(str)
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


def compute_index(store: Store, catalog: Catalog, *, days: int, sku: str | None = None,
                  min_samples: int = 10, today: date | None = None) -> pd.DataFrame:
    """The index of the last ``days`` days up to ``today`` (UTC, inclusive)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    end = today or utc_today()
    return _index(store, catalog, end - timedelta(days=days - 1), end, sku, min_samples)


def _index(store: Store, catalog: Catalog, since: date, until: date, sku: str | None,
           min_samples: int) -> pd.DataFrame:
    """In the database when it computes statistics (PostgreSQL), else from the sightings here."""
    rows = store.index_statistics(since, until, sku)
    if rows is not None:
        return statistics_index(rows, catalog, min_samples=min_samples)
    return daily_index(load_observations(store, since=since, until=until, sku=sku), catalog,
                       min_samples=min_samples)


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
    index = _index(store, catalog, start, end, None, min_samples)
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
