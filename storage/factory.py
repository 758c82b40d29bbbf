"""Open the store a ``storage.database`` setting names: a SQLite file, or a ``postgresql://`` URL."""

from __future__ import annotations

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
