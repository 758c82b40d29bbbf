"""Row values both stores write: column lists, listing families, 0/1 flags, the time stamp format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gpuprices.storage.schema import _CLASS_COLUMNS, _PRICE_COLUMNS

LISTING_STATE = ("source", "site", "url", "title", *_PRICE_COLUMNS, "availability", "seller", "seller_feedback",
                 "location", "created_at", *_CLASS_COLUMNS)
OBSERVATION_COLUMNS = ("listing_id", "crawl_id", "source", "site", "observed_at", "query", "page_url", "title",
                       "price_text", "price_value_raw", "currency_value_raw", "bin_price_text",
                       "shipping_text", "shipping_value_raw", "sold_at_text", *_PRICE_COLUMNS, "availability",
                       *_CLASS_COLUMNS, "extra")
BOOL_COLUMNS = {"sold", "ended", "best_offer_accepted", "shipping_estimated", "working", "quarantined"}
"""Stored as 0/1 integers; exports turn them back into booleans."""


def source_family(source: str) -> str:
    """Sources that see the same listings share a family: ``ebay``, ``ebay-api``, ``ebay-item`` → ``ebay``."""
    return source.split("-", 1)[0]


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sql_value(column: str, value: Any) -> Any:
    if column in BOOL_COLUMNS and value is not None:
        return int(bool(value))
    return value

READABLE_TABLES = ("listings", "observations", "crawls", "alert_state", "rental_observations")
"""Tables the dashboard may read whole (:meth:`Store.table_columns`)."""


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row with its 0/1 flags (:data:`BOOL_COLUMNS`) as booleans, as exports show them."""
    return {key: (bool(value) if key in BOOL_COLUMNS and value is not None else value) for key, value in row.items()}
