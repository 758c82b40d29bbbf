"""Row values both stores write: column lists, listing families, 0/1 flags, the time stamp format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs

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

INDEX_COUNTS = """o.sku IS NOT NULL AND o.sku != ''
    AND o.unit_price_usd IS NOT NULL
    AND o.excluded_reason IS NULL
    AND o.working = 1
    AND o.quarantined = 0
    AND (o.condition IS NULL OR o.condition != 'for_parts')
    AND ((o.sold = 1 AND o.best_offer_accepted = 0) OR (o.sold = 0 AND o.ended = 0))"""
"""Which observations count for the daily index (both backends' SQL; ``o`` is ``observations``)."""


@attrs.frozen
class Sightings:
    """Rows for the daily index, in chunks (bounded memory), as a backend reads them.

    ``final``: the database applied every rule (one row per listing × day × side, columns ``day``, ``sku``,
    ``side``, ``condition_group``, ``unit_price_usd``, ``listing_id``, ``seller``, ``source``). Otherwise
    the rows are SQLite's candidates (see :mod:`storage.sqlite_index`) that the market finishes.
    """

    columns: tuple[str, ...]
    chunks: Iterator[list[tuple[Any, ...]]]
    final: bool
