"""SQLite storage: WAL mode, migrations, one transaction per batch of listings.

The Store methods live in :mod:`storage.common`; this module supplies SQLite's connection, pragmas,
migrations and the primitives they run on.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpuprices.exceptions import DatabaseUnusableError, StorageError
from gpuprices.storage.common import ListingKey, SaveResult, SqlStore
from gpuprices.storage.schema import MIGRATIONS, migrate
from gpuprices.storage.values import (
    BOOL_COLUMNS,
    LISTING_STATE,
    OBSERVATION_COLUMNS,
    decode_row,
    source_family,
    sql_value,
    utcnow,
)

from . import index  # relative: see storage/outbox.py

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = ["BOOL_COLUMNS", "LISTING_STATE", "OBSERVATION_COLUMNS", "SaveResult", "SqliteStore", "decode_row",
           "source_family", "sql_value", "storage_error", "utcnow"]

def _sqlite_utils() -> Any:
    """sqlite-utils, imported without pandas and numpy unless they are loaded already.

    sqlite-utils imports both whenever they are installed, only to convert their value types on
    insert, which this program never does; they were most of a second of every command that creates
    or migrates a database. They are hidden only while sqlite-utils loads, so a later import in this
    process (the market's pandas) gets them as usual.
    """
    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils
    finally:
        for name in hidden:
            sys.modules.pop(name, None)
    return sqlite_utils


_CORE_TABLES = frozenset({"crawls", "pages", "listings", "observations", "alerts", "deliveries", "meta"})
_DAMAGE = ("malformed", "file is encrypted", "disk image")


def storage_error(context: str, exc: sqlite3.Error) -> StorageError:
    """One line for an SQLite error; a foreign or damaged file is :class:`DatabaseUnusableError`."""
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
        return DatabaseUnusableError(f"{context}: it is not an SQLite database (wrong --config or storage.database?)")
    if isinstance(exc, sqlite3.DatabaseError) and any(word in str(exc) for word in _DAMAGE):
        return DatabaseUnusableError(f"{context}: the database file is damaged ({exc}); restore it from a backup")
    return StorageError(f"{context}: {exc}")


class SqliteStore(SqlStore):
    """The embedded default backend."""

    backend = "sqlite"
    builds_lines = True  # printf() and typeof()

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        try:
            if self.path.parent and not self.path.parent.exists():
                raise StorageError(f"database folder does not exist: {self.path.parent}")
            # Never open the file ourselves: closing any descriptor of it would drop the POSIX locks
            # of this process's other SQLite connections (SQLite's "how to corrupt", 2.2).
            self.conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
            # Autocommit mode plus explicit BEGIN/COMMIT: we decide the transaction boundaries.
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            raise storage_error(f"cannot open database {self.path}", exc) from None

    @functools.cached_property
    def db(self) -> Database:
        """The connection as a sqlite-utils database (migrations, tools and tests); the store's own
        work goes through ``conn``."""
        return _sqlite_utils().Database(self.conn)

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > len(MIGRATIONS):
            raise DatabaseUnusableError(
                f"database {self.path} has schema version {version}, newer than this gpuprices knows "
                f"({len(MIGRATIONS)}): upgrade gpuprices, or use another database")
        if version < len(MIGRATIONS):
            migrate(self.db)
        tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = _CORE_TABLES - tables
        if missing:
            raise DatabaseUnusableError(f"database {self.path} is damaged: table(s) {', '.join(sorted(missing))} "
                                        "missing; restore it from a backup or use another database")

    def close(self) -> None:
        self.conn.close()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- primitives ----------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, list(params))

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self._iter_query(sql, params))

    def _iter_query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, list(params))
        keys = [d[0] for d in cursor.description or ()]
        for row in cursor:
            yield dict(zip(keys, row, strict=True))

    def _iter_chunks(self, sql: str, params: Sequence[Any], size: int) -> Iterator[list[tuple[Any, ...]]]:
        cursor = self.conn.execute(sql, list(params))
        while rows := cursor.fetchmany(size):
            yield rows

    def column_kinds(self, table: str) -> dict[str, str]:
        return {row[1]: "text" if str(row[2]).upper() == "TEXT" else "other"
                for row in self.conn.execute(f"PRAGMA table_info({table})")}

    def _columns(self, sql: str) -> list[str]:
        return [d[0] for d in self.conn.execute(sql).description]

    def _insert_listings(self, columns: list[str], rows: list[list[Any]],
                         keys: list[ListingKey]) -> dict[ListingKey, int]:
        # One writer at a time (BEGIN IMMEDIATE): every fresh key is ours, and the ids are the ones
        # SQLite would pick, the next after the largest, given explicitly so none has to be read back.
        if not rows:
            return {}
        first = int(self.conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM listings").fetchone()[0])
        self.conn.executemany(f"INSERT INTO listings (id, {', '.join(columns)})"
                              f" VALUES ({', '.join('?' for _ in range(len(columns) + 1))})",
                              [(first + offset, *row) for offset, row in enumerate(rows)])
        return {key: first + offset for offset, key in enumerate(keys)}

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    # -- the daily index (storage/index.py) ---------------------------------------------
    _DAY = "date({})"

    def index_observations(self, since: date, until: date, *, sku: str | None = None,
                           everything_known: bool = False) -> Iterator[list[tuple[Any, ...]]]:
        return index.sqlite_observations(self.conn, since, until, sku=sku, everything_known=everything_known)

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT; rolls back on any error and reports storage failures in one line."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise storage_error("cannot write to the database", exc) from None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as error:
                self._rollback()
                raise storage_error("cannot write to the database", error) from None
        else:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise storage_error("cannot write to the database", exc) from None

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some failures (SQLITE_FULL, SQLITE_IOERR): a second
        # ROLLBACK would raise and hide the real cause.
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
