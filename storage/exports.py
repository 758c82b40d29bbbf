"""Rows for ``gpuprices export``: fixed, parameterized queries (no SQL text from user input), streamed
as chunks of tuples, with the column kinds a writer needs to convert only what needs converting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from gpuprices.core.columns import OWN_TEXT
from gpuprices.storage.values import BOOL_COLUMNS, LISTING_KEY

if TYPE_CHECKING:
    from .common import SqlStore  # relative: the folder is also type-checked as the package "storage"

EXPORT_TABLES = ("listings", "observations", "crawls")

# table: (FROM clause, time column, source column, order, [(alias, table, columns or all)])
_QUERIES: dict[str, tuple[str, str, str, str, tuple[tuple[str, str, tuple[str, ...] | None], ...]]] = {
    "listings": ("listings", "last_seen_at", "source", "id", (("", "listings", None),)),
    "observations": ("observations o JOIN listings l ON l.id = o.listing_id", "o.observed_at", "o.source", "o.id",
                     (("l", "listings", LISTING_KEY), ("o", "observations", None))),
    "crawls": ("crawls", "started_at", "source", "id", (("", "crawls", None),)),
}
# Text this program formats itself (times, ISO dates, decimal amounts, currency codes, statuses, JSON
# it wrote): never written by a stranger, so it needs no spreadsheet-formula check. Listing columns
# say so in their declaration (core.columns).
_OWN_TEXT = OWN_TEXT | {"started_at", "finished_at", "status", "queries", "dropped"}
_CHUNK = 5000


@attrs.frozen
class ExportQuery:
    """An export's columns and their kinds: ``bool`` (0/1 stored), ``text`` (may start like a formula),
    ``plain`` (numbers and this program's own text)."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]


def export_query(store: SqlStore, table: str) -> ExportQuery:
    """Columns of an export (so an empty export still has its header) and their kinds."""
    return _query(store, table)[0]


def _query(store: SqlStore, table: str) -> tuple[ExportQuery, list[str]]:
    if table not in _QUERIES:
        raise ValueError(f"unknown table {table!r}")
    columns: list[str] = []
    kinds: list[str] = []
    names: list[str] = []
    for alias, source, wanted in _QUERIES[table][4]:
        declared = store.column_kinds(source)
        for column in wanted or list(declared):
            columns.append(column)
            names.append(f"{alias}.{column}" if alias else column)
            if column in BOOL_COLUMNS:
                kinds.append("bool")
            elif declared[column] == "text" and column not in _OWN_TEXT:
                kinds.append("text")
            else:
                kinds.append("plain")
    return ExportQuery(tuple(columns), tuple(kinds)), names


def export_chunks(store: SqlStore, table: str, *, since: str | None = None, source: str | None = None,
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
    params: list[Any] = []
    prefixes = list(flag_prefixes or "")
    marks = ", ".join("?" for _ in prefixes)
    checks = [f"substr({name}, 1, 1) IN ({marks})" for name, kind in zip(names, query.kinds, strict=True)
              if kind == "text"] if prefixes else []
    selected = []
    for position, (name, kind) in enumerate(zip(names, query.kinds, strict=True)):
        if position == key and checks:
            # The flag travels in the id's sign: no extra column the writer would have to strip per row.
            selected.append(f"CASE WHEN {' OR '.join(checks)} THEN -{name} ELSE {name} END")
            params += prefixes * len(checks)
        elif bool_text and kind == "bool":
            selected.append(f"CASE WHEN {name} = 0 THEN ? WHEN {name} IS NOT NULL THEN ? END")
            params += [bool_text[1], bool_text[0]]
        else:
            selected.append(name)
    where: list[str] = []
    if since:
        where.append(f"{time_column} >= ?")
        params.append(since)
    if source:
        where.append(f"{source_column} = ?")
        params.append(source)
    sql = f"SELECT {', '.join(selected)} FROM {from_clause}" + (" WHERE " + " AND ".join(where) if where else "")
    for rows in store._iter_chunks(sql + f" ORDER BY {order}", params, _CHUNK):
        positions = [i for i, row in enumerate(rows) if row[key] < 0] if checks else []
        for i in positions:
            row = rows[i]
            rows[i] = (*row[:key], -row[key], *row[key + 1:])
        yield rows, positions


def export_rows(store: SqlStore, table: str, *, since: str | None = None,
                source: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of ``table`` as dicts, flags as booleans (``db copy`` checks, tests)."""
    query = export_query(store, table)
    for rows, _ in export_chunks(store, table, since=since, source=source):
        for values in rows:
            yield {column: (bool(value) if kind == "bool" and value is not None else value)
                   for column, kind, value in zip(query.columns, query.kinds, values, strict=True)}


def export_columns(store: SqlStore, table: str) -> list[str]:
    """Column names of an export, so an empty export still has its header."""
    return list(export_query(store, table).columns)
