"""Provenance of imported files (``imported_files``): name, sha256, source, capture date, crawl.

The sha256 is unique: a file already imported is recognized by its content, whatever its name, and
importing it again adds nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gpuprices.storage.values import utcnow

if TYPE_CHECKING:
    from .common import SqlStore  # relative: see storage/outbox.py

__all__ = ["imported_file", "record_imported_file"]

_COLUMNS = ("crawl_id", "name", "path", "sha256", "source", "captured_at", "captured_from", "status", "listings",
            "reason", "imported_at")


def imported_file(store: SqlStore, sha256: str) -> dict[str, Any] | None:
    """The earlier import of a file with this content, or ``None``."""
    rows = store._query("SELECT * FROM imported_files WHERE sha256 = ?", [sha256])
    return rows[0] if rows else None


def record_imported_file(store: SqlStore, **values: Any) -> None:
    """One imported file; ``values`` are the table's columns (``imported_at`` defaults to now)."""
    values.setdefault("imported_at", utcnow())
    row = [values.get(column) for column in _COLUMNS]
    with store._transaction():
        store._execute(f"INSERT INTO imported_files ({', '.join(_COLUMNS)})"
                       f" VALUES ({', '.join('?' for _ in _COLUMNS)}) ON CONFLICT (sha256) DO NOTHING", row)
