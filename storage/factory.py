"""Open the store a ``storage.database`` setting names: a SQLite file, or a ``postgresql://`` URL."""

from __future__ import annotations

import contextlib
from pathlib import Path

from gpuprices.storage.common import SqlStore

_URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: str | Path) -> bool:
    return isinstance(database, str) and database.startswith(_URL_SCHEMES)


def open_store(database: str | Path) -> SqlStore:
    """The store for ``database``; PostgreSQL (psycopg) is imported only when a URL asks for it."""
    if is_postgres(database):
        from gpuprices.storage.postgres import PostgresStore

        return PostgresStore(str(database))
    from gpuprices.storage.sqlite import SqliteStore

    return SqliteStore(database)


def migrate_store(database: str | Path) -> tuple[int, int]:
    """Bring ``database`` to the current schema; returns (version before, version after)."""
    if is_postgres(database):
        from gpuprices.storage.postgres import PostgresStore

        with PostgresStore(str(database), migrate_schema=False) as unmigrated:
            before = unmigrated.schema_version()
    else:
        before = _sqlite_version(Path(database))
    with open_store(database) as store:
        return before, store.schema_version()


def _sqlite_version(path: Path) -> int:
    import sqlite3

    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return 0  # opening it below reports the problem in one line
