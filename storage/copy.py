"""``gpuprices db copy``: a whole store from one backend to another, in batches, resumable, verified.

Tables are copied parents first, each in id order and in batches that commit on their own: an
interrupted copy starts again after the highest id already in the destination, so running the same
command again finishes it. Keyed tables without ids (API budget, alert state, meta) are small and
copied whole, skipping keys already present. Ids are kept, so references stay valid; afterwards every
table's row count is compared between the two stores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from gpuprices.exceptions import StorageError
from gpuprices.storage.common import SqlStore
from gpuprices.storage.pg_schema import TABLES

_KEYED = {"api_usage": ("day", "source"), "alert_state": ("rule", "key"), "meta": ("key",),
          "market_index": ("day", "sku", "side", "condition_group"), "market_index_dirty": ("day",)}


@attrs.define
class TableCopy:
    table: str
    copied: int
    source_rows: int
    destination_rows: int

    @property
    def verified(self) -> bool:
        return self.source_rows == self.destination_rows


def _count(store: SqlStore, table: str) -> int:
    return int(store._execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def copy_store(source: SqlStore, destination: SqlStore, *, batch: int = 5000,
               progress: Callable[[str, int], None] | None = None) -> list[TableCopy]:
    """Copy every table of ``source`` into ``destination`` (empty, or an interrupted copy of the same source)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    results = []
    for table in TABLES:
        columns = [c for c in source._columns(f"SELECT * FROM {table} LIMIT 0")
                   if c in set(destination._columns(f"SELECT * FROM {table} LIMIT 0"))]
        if table in _KEYED:
            copied = _copy_keyed(source, destination, table, columns, _KEYED[table])
        else:
            copied = _copy_by_id(source, destination, table, columns, batch, progress)
        results.append(TableCopy(table, copied, _count(source, table), _count(destination, table)))
    return results


def _copy_keyed(source: SqlStore, destination: SqlStore, table: str, columns: list[str],
                key: tuple[str, ...]) -> int:
    rows = [[row[c] for c in columns] for row in source._query(f"SELECT {', '.join(columns)} FROM {table}")]
    before = _count(destination, table)
    with destination._transaction():
        destination._executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            f" ON CONFLICT ({', '.join(key)}) DO NOTHING", rows)
    return _count(destination, table) - before


def _copy_by_id(source: SqlStore, destination: SqlStore, table: str, columns: list[str], batch: int,
                progress: Callable[[str, int], None] | None) -> int:
    last = destination._execute(f"SELECT MAX(id) FROM {table}").fetchone()[0]
    last = int(last) if last is not None else 0
    select = f"SELECT {', '.join(columns)} FROM {table} WHERE id > ? ORDER BY id LIMIT ?"
    position = columns.index("id")
    copied = 0
    while True:
        rows: list[Any] = [[row[c] for c in columns] for row in source._query(select, [last, batch])]
        if not rows:
            break
        with destination._transaction():
            destination._copy_rows(table, columns, rows)
        last = int(rows[-1][position])
        copied += len(rows)
        if progress:
            progress(table, copied)
    destination._after_copy(table)
    return copied


def verify(results: list[TableCopy]) -> None:
    """Raise when a table's row counts differ between the two stores."""
    wrong = [f"{r.table} ({r.source_rows} vs {r.destination_rows})" for r in results if not r.verified]
    if wrong:
        raise StorageError(f"copy incomplete, row counts differ: {', '.join(wrong)}")
