"""The daily rental index: per day × SKU × kind (``on_demand``, ``spot``), USD per GPU-hour.

What counts, and how:

* only rows with a catalog SKU (an ``other:A10G`` or an unknown accelerator never enters an index);
* one *offer* is a provider × instance type × GPU count (vast.ai: one offer id; the tracker: one
  provider summary). Within a day an offer counts once: its latest price in each region, then the
  median over regions. A catalog lists the same price in 17 regions; counting each would let one
  provider's price sheet outvote the rest of the market;
* ``n`` is the number of such offers, ``providers`` the distinct providers behind them; ``median``,
  ``p25`` (linear interpolation, numpy's default, as the listings index) and ``min`` are over offers.

Floats here, as in :mod:`market.index`: statistics, not accounting.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from gpuprices.market.index import utc_today
from gpuprices.storage.base import Store

__all__ = ["PROVIDER_COLUMNS", "RENTAL_INDEX_COLUMNS", "RENTAL_KINDS", "compute_rental_index", "daily_rental_index",
           "latest_rental_rows", "provider_rows", "rental_frame", "rental_index_rows", "usd_per_hour"]

RENTAL_KINDS = ("on_demand", "spot")
RENTAL_INDEX_COLUMNS = ("day", "sku", "kind", "n", "providers", "median_usd_per_gpu_hour", "p25_usd_per_gpu_hour",
                        "min_usd_per_gpu_hour")
_OFFER = ["day", "sku", "kind", "provider", "instance_type", "gpu_count"]


def rental_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Stored rows (:func:`storage.rentals.rental_rows`) with a SKU, as a frame with a UTC ``day``."""
    frame = pd.DataFrame.from_records(rows, columns=["observed_at", "sku", "kind", "provider", "instance_type",
                                                     "gpu_count", "region", "price_usd_per_gpu_hour"])
    frame = frame[frame["sku"].notna() & (frame["sku"] != "")]
    observed = pd.to_datetime(frame["observed_at"], utc=True, format="ISO8601")
    return pd.DataFrame({
        "day": observed.dt.tz_localize(None).dt.normalize(),
        "observed_at": observed,
        "sku": frame["sku"].astype(str),
        "kind": frame["kind"].astype(str),
        "provider": frame["provider"].astype(str),
        # Missing parts become explicit values: groupby would silently drop NaN keys.
        "instance_type": frame["instance_type"].fillna("").astype(str),
        "gpu_count": frame["gpu_count"].astype("float64").fillna(-1.0),
        "region": frame["region"].fillna("").astype(str),
        "price": frame["price_usd_per_gpu_hour"].astype("float64"),
    })


def daily_rental_index(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per day × SKU × kind with data: columns :data:`RENTAL_INDEX_COLUMNS`."""
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "day" else "int64" if c in ("n", "providers")
                                          else "float64" if c.endswith("hour") else "object")
                             for c in RENTAL_INDEX_COLUMNS})
    latest = frame.sort_values("observed_at", kind="stable").groupby([*_OFFER, "region"], sort=False).tail(1)
    offers = latest.groupby(_OFFER, sort=False, as_index=False)["price"].median()
    groups = offers.groupby(["day", "sku", "kind"], sort=False)
    index = pd.DataFrame({
        "n": groups["price"].size(),
        "providers": groups["provider"].nunique(),
        "median_usd_per_gpu_hour": groups["price"].median(),
        "p25_usd_per_gpu_hour": groups["price"].quantile(0.25),
        "min_usd_per_gpu_hour": groups["price"].min(),
    }).reset_index()
    order = {kind: i for i, kind in enumerate(RENTAL_KINDS)}
    index = index.assign(_kind=index["kind"].map(order).fillna(len(order)))
    index = index.sort_values(["sku", "_kind", "day"], ignore_index=True)
    return index.loc[:, list(RENTAL_INDEX_COLUMNS)]


def compute_rental_index(store: Store, *, days: int, sku: str | None = None,
                         today: date | None = None) -> pd.DataFrame:
    """The rental index of the last ``days`` days up to ``today`` (UTC, inclusive)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    end = today or utc_today()
    rows = store.rental_rows(end - timedelta(days=days - 1), until=end, sku=sku)
    return daily_rental_index(rental_frame(rows))


def usd_per_hour(value: Any) -> str | None:
    """A $/GPU-hour float as text with 2 to 4 decimals (``"2.49"``, ``"1.0667"``); ``None`` for NaN."""
    if value is None or pd.isna(value):
        return None
    amount = Decimal(repr(float(value))).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
    if int(amount.as_tuple().exponent) > -2:
        amount = amount.quantize(Decimal("0.01"))
    return format(amount, "f")


def rental_index_rows(index: pd.DataFrame) -> list[dict[str, Any]]:
    """Index rows for output: ISO days, prices as :func:`usd_per_hour` text."""
    return [{
        "day": row.day.date().isoformat(),
        "sku": row.sku,
        "kind": row.kind,
        "n": int(row.n),
        "providers": int(row.providers),
        "median_usd_per_gpu_hour": usd_per_hour(row.median_usd_per_gpu_hour),
        "p25_usd_per_gpu_hour": usd_per_hour(row.p25_usd_per_gpu_hour),
        "min_usd_per_gpu_hour": usd_per_hour(row.min_usd_per_gpu_hour),
    } for row in index.itertuples(index=False)]


def latest_rental_rows(index: pd.DataFrame, *, today: date) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (SKU, kind): the row of its latest index day on or before ``today`` (prices as floats)."""
    known = index[index["day"] <= pd.Timestamp(today)]
    latest = known.sort_values("day").groupby(["sku", "kind"], sort=False).tail(1)
    return {(str(r["sku"]), str(r["kind"])): r for r in latest.to_dict("records")}


PROVIDER_COLUMNS = ("day", "sku", "kind", "provider", "n", "median_usd_per_gpu_hour", "min_usd_per_gpu_hour")


def provider_rows(store: Store, *, days: int, today: date | None = None) -> list[dict[str, Any]]:
    """Per SKU × kind × provider, its latest day with data in the last ``days`` days: the median and
    minimum over that provider's offers (each offer once, its regions folded as in the index)."""
    end = today or utc_today()
    frame = rental_frame(store.rental_rows(end - timedelta(days=days - 1), until=end))
    if frame.empty:
        return []
    latest = frame.sort_values("observed_at", kind="stable").groupby([*_OFFER, "region"], sort=False).tail(1)
    offers = latest.groupby(_OFFER, sort=False, as_index=False)["price"].median()
    offers = offers[offers["day"] == offers.groupby(["sku", "kind", "provider"])["day"].transform("max")]
    groups = offers.groupby(["day", "sku", "kind", "provider"], sort=True)["price"]
    table = pd.DataFrame({"n": groups.size(), "median": groups.median(), "min": groups.min()}).reset_index()
    return [{"day": row.day.date().isoformat(), "sku": row.sku, "kind": row.kind, "provider": row.provider,
             "n": int(row.n), "median_usd_per_gpu_hour": usd_per_hour(row.median),
             "min_usd_per_gpu_hour": usd_per_hour(row.min)}
            for row in table.sort_values(["sku", "kind", "median"]).itertuples(index=False)]
