"""Rows for ``gpuprices export``: fixed, parameterized queries (no SQL text from user input), streamed
as chunks of tuples, with the column kinds a writer needs to convert only what needs converting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from gpuprices.core.columns import OWN_TEXT
from gpuprices.core.rows import CELL
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
_CHUNK = 2000  # rows per fetch: a chunk of lines (≈ 600 kB) stays in the CPU cache between passes


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


@attrs.frozen
class _Select:
    """An export's SELECT: one SQL expression per column (booleans as text when asked), the flag
    condition (a ``text`` cell that starts with a flagged prefix, as SQL), the FROM/WHERE/ORDER tail
    and their parameters in placeholder order."""

    query: ExportQuery
    names: tuple[str, ...]
    cells: tuple[str, ...]
    cell_params: tuple[Any, ...]
    flag: str
    flag_params: tuple[Any, ...]
    tail: str
    tail_params: tuple[Any, ...]
    key: int
    order: str


def _select(store: SqlStore, table: str, since: str | None, source: str | None, flag_prefixes: str | None,
            bool_text: tuple[str, str] | None) -> _Select:
    query, names = _query(store, table)
    from_clause, time_column, source_column, order, _ = _QUERIES[table]
    prefixes = list(flag_prefixes or "")
    marks = ", ".join("?" for _ in prefixes)
    checks = [f"substr({name}, 1, 1) IN ({marks})" for name, kind in zip(names, query.kinds, strict=True)
              if kind == "text"] if prefixes else []
    cells: list[str] = []
    cell_params: list[Any] = []
    for name, kind in zip(names, query.kinds, strict=True):
        if bool_text and kind == "bool":
            cells.append(f"CASE WHEN {name} = 0 THEN ? WHEN {name} IS NOT NULL THEN ? END")
            cell_params += [bool_text[1], bool_text[0]]
        else:
            cells.append(name)
    where: list[str] = []
    tail_params: list[Any] = []
    if since:
        where.append(f"{time_column} >= ?")
        tail_params.append(since)
    if source:
        where.append(f"{source_column} = ?")
        tail_params.append(source)
    tail = f" FROM {from_clause}" + (" WHERE " + " AND ".join(where) if where else "")
    return _Select(query, tuple(names), tuple(cells), tuple(cell_params), " OR ".join(checks),
                   tuple(prefixes * len(checks)), tail, tuple(tail_params), query.columns.index("id"), order)


def export_chunks(store: SqlStore, table: str, *, since: str | None = None, source: str | None = None,
                  flag_prefixes: str | None = None,
                  bool_text: tuple[str, str] | None = None) -> Iterator[tuple[list[tuple[Any, ...]], list[int]]]:
    """Stream rows of ``table`` (tuples in :func:`export_query` column order) in chunks; ``since`` is an
    ISO date or time, ``source`` a source name.

    Each chunk comes with the positions of its rows where a ``text`` cell starts with one of
    ``flag_prefixes`` (checked in SQL: the writer looks only at those rows). ``bool_text`` (true,
    false) renders boolean columns as text in SQL.
    """
    select = _select(store, table, since, source, flag_prefixes, bool_text)
    key = select.key  # the order column: positive row ids
    cells = list(select.cells)
    if select.flag:
        # The flag travels in the id's sign: no extra column the writer would have to strip per row.
        cells[key] = f"CASE WHEN {select.flag} THEN -{cells[key]} ELSE {cells[key]} END"
    split = _params_before(select, key)  # the flag's parameters go where the id's cell is
    params = [*select.cell_params[:split], *select.flag_params, *select.cell_params[split:], *select.tail_params]
    sql = f"SELECT {', '.join(cells)}{select.tail} ORDER BY {select.order}"
    for rows in store._iter_chunks(sql, params, _CHUNK):
        positions = [i for i, row in enumerate(rows) if row[key] < 0] if select.flag else []
        for i in positions:
            row = rows[i]
            rows[i] = (*row[:key], -row[key], *row[key + 1:])
        yield rows, positions


def _params_before(select: _Select, position: int) -> int:
    """How many of the cells' parameters belong to cells before ``position``."""
    return sum(cell.count("?") for cell in select.cells[:position])


def export_lines(store: SqlStore, table: str, *, since: str | None = None, source: str | None = None,
                 bool_text: tuple[str, str]) -> Iterator[tuple[list[str], dict[int, tuple[Any, ...]]]]:
    """Rows of ``table`` as text lines built by the database (SQLite ``printf``): cells joined by
    :data:`CELL`, NULL as an empty cell, booleans as ``bool_text``. No Python per cell.

    Each chunk of lines comes with the typed values (as :func:`export_chunks` gives them) of the rows
    a line cannot stand for: a REAL in an integer column (Python prints floats differently) or a cell
    that contains :data:`CELL` itself. Text columns hold text (the store never writes bytes).
    """
    select = _select(store, table, since, source, None, bool_text)
    declared = {alias: store.column_kinds(source) for alias, source, _ in _QUERIES[table][4]}
    loose = [name for name, column, kind in zip(select.names, select.query.columns, select.query.kinds, strict=True)
             if kind == "plain" and declared[name.split(".", 1)[0] if "." in name else ""][column] == "other"]
    flag = " OR ".join(f"typeof({name}) = 'real'" for name in loose) or "0"
    key = select.names[select.key]
    line = f"printf('{CELL.join('%s' for _ in select.cells)}', {', '.join(select.cells)})"
    sql = f"SELECT CASE WHEN {flag} THEN -{key} ELSE {key} END, {line}{select.tail} ORDER BY {select.order}"
    separators = len(select.cells) - 1
    for rows in store._iter_chunks(sql, [*select.cell_params, *select.tail_params], _CHUNK):
        ids, text = zip(*rows, strict=True)
        lines = list(text)
        odd = [i for i, row_id in enumerate(ids) if row_id < 0] if min(ids) < 0 else []
        if "".join(lines).count(CELL) != separators * len(lines):
            odd = sorted({*odd, *(i for i, text in enumerate(lines) if text.count(CELL) != separators)})
        yield lines, _typed_rows(store, select, [abs(ids[i]) for i in odd], odd)


def _typed_rows(store: SqlStore, select: _Select, ids: list[int], positions: list[int]) -> dict[int, tuple[Any, ...]]:
    if not ids:
        return {}
    sql = (f"SELECT {', '.join(select.cells)}{select.tail}"
           f"{' AND ' if ' WHERE ' in select.tail else ' WHERE '}{select.order} IN ({', '.join('?' for _ in ids)})"
           f" ORDER BY {select.order}")
    # The same connection, inside the export's read: the same snapshot, so every row is still there.
    found = {row[select.key]: row for chunk in store._iter_chunks(
        sql, [*select.cell_params, *select.tail_params, *ids], len(ids)) for row in chunk}
    return {position: found[row_id] for position, row_id in zip(positions, ids, strict=True)}


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
