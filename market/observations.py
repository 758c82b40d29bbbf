"""The rows that count for the index, one per listing × day × side, as a pandas frame.

Which rows count is decided in storage (one SQL fragment); here the per-listing rows become a frame:
undated sales are put on the day they were first seen (unless a sighting dates the sale) and days
outside the window are dropped. Prices are floats: this is statistics, not accounting.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from gpuprices.storage.base import Store
from gpuprices.storage.index import RAW_INDEX_COLUMNS

__all__ = ["OBSERVATION_COLUMNS", "SIDES", "load_observations", "observation_frame", "utc_today"]

SIDES = ("asking", "sold")
OBSERVATION_COLUMNS = ("day", "sku", "side", "condition_group", "unit_price_usd", "listing_id", "seller", "source")

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
    return observation_frame(store.index_observations(since, last, sku=sku), since, last)


def observation_frame(chunks: Iterable[list[tuple[Any, ...]]], since: date, until: date) -> pd.DataFrame:
    """Chunks of storage's raw index rows as a frame of :data:`OBSERVATION_COLUMNS`, days ``since``..``until``."""
    frames: list[pd.DataFrame] = []
    for rows in chunks:  # bounded memory: each chunk's strings become categorical codes before the next
        chunk = pd.DataFrame.from_records(rows, columns=list(RAW_INDEX_COLUMNS))
        for column in _STRING_COLUMNS:
            chunk[column] = chunk[column].astype("category")
        frames.append(chunk)
    return _finish(_concat(frames), since, until)


def _concat(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype="category" if c in _STRING_COLUMNS else "float64")
                             for c in RAW_INDEX_COLUMNS})
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
