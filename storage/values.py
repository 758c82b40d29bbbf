"""Row values both stores write: column lists, listing families, 0/1 flags, the time stamp format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gpuprices.core.columns import FLAG_COLUMNS, names, table_columns

LISTING_KEY = names([c for c in table_columns("listings") if c.group == "identity" and c.kind != "id"])
"""A listing's identity: ``family``, ``item_id``, ``variation_id``."""
LISTING_STATE = names([c for c in table_columns("listings") if c.source is not None and c.name not in LISTING_KEY])
"""The listing's latest state: every ``listings`` column a listing carries but its key."""
OBSERVATION_COLUMNS = names([c for c in table_columns("observations") if c.kind != "id"])
BOOL_COLUMNS = FLAG_COLUMNS
"""Stored as 0/1 integers; exports turn them back into booleans."""


def source_family(source: str) -> str:
    """Sources that see the same listings share a family: ``ebay``, ``ebay-api``, ``ebay-item`` → ``ebay``."""
    return source.split("-", 1)[0]


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sql_value(column: str, value: Any) -> Any:
    """A row value (:func:`~gpuprices.core.listing.listing_row`) as both stores keep it: flags as 0/1."""
    if column in BOOL_COLUMNS and value is not None:
        return int(bool(value))
    return value

READABLE_TABLES = ("listings", "observations", "crawls", "alert_state", "rental_observations")
"""Tables the dashboard may read whole (:meth:`Store.table_columns`)."""


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row with its 0/1 flags (:data:`BOOL_COLUMNS`) as booleans, as exports show them."""
    return {key: (bool(value) if key in BOOL_COLUMNS and value is not None else value) for key, value in row.items()}
