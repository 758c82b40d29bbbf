"""Rows for ``gpuprices export``: fixed, parameterized queries (no SQL text from user input), streamed
as chunks of tuples, with the column kinds a writer needs to convert only what needs converting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from gpuprices.storage.sqlite import BOOL_COLUMNS, SqliteStore

EXPORT_TABLES = ("listings", "observations", "crawls")

# table: (FROM clause, time column, source column, order, [(alias, table, columns or all)])
_QUERIES: dict[str, tuple[str, str, str, str, tuple[tuple[str, str, tuple[str, ...] | None], ...]]] = {
    "listings": ("listings", "last_seen_at", "source", "id", (("", "listings", None),)),
    "observations": ("observations o JOIN listings l ON l.id = o.listing_id", "o.observed_at", "o.source", "o.id",
                     (("l", "listings", ("family", "item_id", "variation_id")), ("o", "observations", None))),
    "crawls": ("crawls", "started_at", "source", "id", (("", "crawls", None),)),
}
# Text this program formats itself (times, ISO dates, decimal amounts, currency codes, statuses, JSON
# it wrote): never written by a stranger, so it needs no spreadsheet-formula check.
_OWN_TEXT = frozenset({
    "family", "started_at", "finished_at", "status", "queries", "dropped", "observed_at", "first_seen_at",
    "last_seen_at", "created_at", "price", "price_max", "currency", "price_usd", "price_max_usd", "usd_rate",
    "usd_rate_date", "usd_rate_method", "bin_price", "shipping", "shipping_currency", "shipping_usd", "sold_at",
    "unit_price_usd", "listing_type", "buying_options", "model", "sku", "form_factor", "source", "site",
})
_CHUNK = 5000


@attrs.frozen
class ExportQuery:
    """An export's columns and their kinds: ``bool`` (0/1 stored), ``text`` (may start like a formula),
    ``plain`` (numbers and this program's own text)."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]


def export_query(store: SqliteStore, table: str) -> ExportQuery:
    """Columns of an export (so an empty export still has its header) and their kinds."""
    return _query(store, table)[0]


def _query(store: SqliteStore, table: str) -> tuple[ExportQuery, list[str]]:
    if table not in _QUERIES:
        raise ValueError(f"unknown table {table!r}")
    columns: list[str] = []
    kinds: list[str] = []
    names: list[str] = []
    for alias, source, wanted in _QUERIES[table][4]:
        declared = {row[1]: str(row[2]).upper() for row in store.db.execute(f"PRAGMA table_info({source})")}
        for column in wanted or list(declared):
            columns.append(column)
            names.append(f"{alias}.{column}" if alias else column)
            if column in BOOL_COLUMNS:
                kinds.append("bool")
            elif declared[column] == "TEXT" and column not in _OWN_TEXT:
                kinds.append("text")
            else:
                kinds.append("plain")
    return ExportQuery(tuple(columns), tuple(kinds)), names


def export_chunks(store: SqliteStore, table: str, *, since: str | None = None, source: str | None = None,
                  flag_prefixes: str | None = None,
                  bool_text: tuple[str, str] | None = None) -> Iterator[tuple[list[tuple[Any, ...]], list[int]]]:
    """Stream rows of ``table`` (tuples in :func:`export_query` column order) in chunks; ``since`` is an
    ISO date or time, ``source`` a source name.

    Each chunk comes with the positions of its rows where a ``text`` cell starts with one of
    ``flag_prefixes`` (checked in SQL: the writer looks only at those rows). ``bool_text`` (true,
    false) renders boolean columns as text in SQL.
    """
    query, names = _query(store, table)
    from_clause, time_column, source_column, order, _ = _QUERIES[table]
    key = query.columns.index("id")  # the order column: positive row ids
    params: dict[str, Any] = {}
    marks = ", ".join(f":prefix{i}" for i in range(len(flag_prefixes or "")))
    checks = [f"substr({name}, 1, 1) IN ({marks})" for name, kind in zip(names, query.kinds, strict=True)
              if kind == "text"]
    selected = []
    for position, (name, kind) in enumerate(zip(names, query.kinds, strict=True)):
        if position == key and flag_prefixes and checks:
            # The flag travels in the id's sign: no extra column the writer would have to strip per row.
            selected.append(f"CASE WHEN {' OR '.join(checks)} THEN -{name} ELSE {name} END")
            params.update({f"prefix{i}": c for i, c in enumerate(flag_prefixes)})
        elif bool_text and kind == "bool":
            selected.append(f"CASE WHEN {name} = 0 THEN :false WHEN {name} IS NOT NULL THEN :true END")
            params.update(true=bool_text[0], false=bool_text[1])
        else:
            selected.append(name)
    where: list[str] = []
    if since:
        where.append(f"{time_column} >= :since")
        params["since"] = since
    if source:
        where.append(f"{source_column} = :source")
        params["source"] = source
    sql = f"SELECT {', '.join(selected)} FROM {from_clause}" + (" WHERE " + " AND ".join(where) if where else "")
    cursor = store.db.conn.execute(sql + f" ORDER BY {order}", params)
    while rows := cursor.fetchmany(_CHUNK):
        positions = [i for i, row in enumerate(rows) if row[key] < 0] if checks and flag_prefixes else []
        for i in positions:
            row = rows[i]
            rows[i] = (*row[:key], -row[key], *row[key + 1:])
        yield rows, positions
