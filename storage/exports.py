"""Rows for ``gpuprices export``: fixed, parameterized queries (no SQL text from user input)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gpuprices.storage.values import BOOL_COLUMNS

if TYPE_CHECKING:
    from .common import SqlStore  # relative: the folder is also type-checked as the package "storage"

EXPORT_TABLES = ("listings", "observations", "crawls")

_QUERIES = {
    "listings": ("SELECT * FROM listings", "last_seen_at", "source", "id"),
    "observations": (
        "SELECT l.family, l.item_id, l.variation_id, o.* FROM observations o JOIN listings l ON l.id = o.listing_id",
        "o.observed_at",
        "o.source",
        "o.id",
    ),
    "crawls": ("SELECT * FROM crawls", "started_at", "source", "id"),
}


def export_rows(store: SqlStore, table: str, *, since: str | None = None,
                source: str | None = None) -> Iterator[dict[str, Any]]:
    """Stream rows of ``table``; ``since`` is an ISO date or time, ``source`` a source name."""
    if table not in _QUERIES:
        raise ValueError(f"unknown table {table!r}")
    sql, time_column, source_column, order = _QUERIES[table]
    where: list[str] = []
    params: list[Any] = []
    if since:
        where.append(f"{time_column} >= ?")
        params.append(since)
    if source:
        where.append(f"{source_column} = ?")
        params.append(source)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order}"
    for row in store._iter_query(sql, params):
        yield {key: (bool(value) if key in BOOL_COLUMNS and value is not None else value)
               for key, value in row.items()}


def export_columns(store: SqlStore, table: str) -> list[str]:
    """Column names of an export, so an empty export still has its header."""
    sql = _QUERIES[table][0] + " LIMIT 0"
    return store._columns(sql)
