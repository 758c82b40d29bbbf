"""PostgreSQL storage on psycopg 3: the same Store methods and rows as SQLite, for several machines.

Selected by ``storage.database = "postgresql://user@host:5432/db"``. The connection runs in autocommit
mode with explicit transactions; the session time zone is UTC. Values come back as SQLite gives them:
``numeric`` as its exact decimal text, ``timestamptz`` as ISO text (``2026-12-01T18:40:00+00:00``),
``date`` as ``YYYY-MM-DD``. Observations are written with ``COPY``; new listings with ``INSERT … ON
CONFLICT DO NOTHING``, so two workers saving the same listing at once never fail or duplicate it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg.rows import dict_row

from gpuprices.exceptions import StorageError
from gpuprices.storage.common import ListingKey, SqlStore
from gpuprices.storage.pg_schema import migrate, schema_version
from gpuprices.storage.values import LISTING_STATE, OBSERVATION_COLUMNS

from . import pg_index  # relative: see storage/outbox.py

_SCHEDULER_LOCK = 7305_1502  # advisory lock key held by the one scheduler of a database
# UTC and ISO text for times; no JIT: compiling the index query took 97% of its 8 s on a 15-day window.
_SESSION = "-c TimeZone=UTC -c DateStyle=ISO -c jit=off"


class _TextLoader(Loader):
    """``numeric`` and ``date`` as the database writes them: exact text."""

    def load(self, data: Any) -> str:
        return bytes(data).decode()


class _TimestampLoader(Loader):
    """``2026-12-01 18:40:00.5+00`` (TimeZone UTC, DateStyle ISO) → ``2026-12-01T18:40:00.500000+00:00``,
    the text Python's ``isoformat()`` writes (PostgreSQL drops trailing zeros of the fraction)."""

    def load(self, data: Any) -> str:
        text = bytes(data).decode()
        day, _, clock = text.partition(" ")
        time, offset = clock[:-3], clock[-3:]  # the session is UTC: the offset is always "+00"
        if "." in time:
            whole, fraction = time.split(".")
            time = f"{whole}.{fraction:0<6}"
        return f"{day}T{time}{offset}:00"


def describe(url: str) -> str:
    """``host:port/db`` of a connection URL, never its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the configured PostgreSQL database"
    host = info.get("host") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    return f"{host}{port}/{info.get('dbname') or info.get('user') or '?'}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class PostgresStore(SqlStore):
    """The scale-out backend: one PostgreSQL database shared by the scheduler and the crawl workers."""

    backend = "postgresql"

    def __init__(self, url: str, *, connect_timeout: int = 10, migrate_schema: bool = True) -> None:
        self.url = url
        self.where = describe(url)
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout,
                                        options=_SESSION)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL at {self.where}: {self._scrub(exc)}") from None
        for name in ("numeric", "date"):
            self.conn.adapters.register_loader(name, _TextLoader)
        self.conn.adapters.register_loader("timestamptz", _TimestampLoader)
        self._depth = 0
        if migrate_schema:
            try:
                migrate(self.conn)
            except psycopg.Error as exc:
                self.conn.close()
                raise StorageError(f"cannot migrate PostgreSQL at {self.where}: {self._scrub(exc)}") from None

    def _scrub(self, exc: BaseException) -> str:
        line = _one_line(exc)
        password = psycopg.conninfo.conninfo_to_dict(self.url).get("password") if "://" in self.url else None
        return line.replace(str(password), "***") if password else line

    def close(self) -> None:
        self.conn.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"

    def schema_version(self) -> int:
        return schema_version(self.conn)

    # -- primitives ----------------------------------------------------------------------
    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        try:
            return self.conn.execute(self._sql(sql), list(params))
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL at {self.where}: {self._scrub(exc)}") from None

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)
        if batch:
            with self.conn.cursor() as cursor:
                cursor.executemany(self._sql(sql), batch)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(self._sql(sql), list(params))
            return cursor.fetchall() if cursor.description else []

    def _iter_query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        # A server-side cursor needs a transaction; a read-only one takes no locks.
        with self.conn.transaction(), self.conn.cursor(name="gpuprices_rows", row_factory=dict_row) as cursor:
            cursor.itersize = 5000
            cursor.execute(self._sql(sql), list(params))
            yield from cursor

    def _iter_chunks(self, sql: str, params: Sequence[Any], size: int) -> Iterator[list[tuple[Any, ...]]]:
        with self.conn.transaction(), self.conn.cursor(name="gpuprices_chunks") as cursor:
            cursor.execute(self._sql(sql), list(params))
            while rows := cursor.fetchmany(size):
                yield rows

    def column_kinds(self, table: str) -> dict[str, str]:
        return {row[0]: "text" if row[1] == "text" else "other" for row in self.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = %s ORDER BY ordinal_position", [table]).fetchall()}

    def _columns(self, sql: str) -> list[str]:
        with self.conn.cursor() as cursor:
            cursor.execute(self._sql(sql))
            return [d.name for d in cursor.description or []]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self.conn.transaction():
                yield
        except psycopg.Error as exc:
            raise StorageError(f"cannot write to PostgreSQL at {self.where}: {self._scrub(exc)}") from None

    def _insert_listings(self, columns: list[str], rows: list[list[Any]],
                         keys: list[ListingKey]) -> dict[ListingKey, int]:
        if not rows:
            return {}
        # COPY into a scratch table, then one INSERT … ON CONFLICT DO NOTHING that returns the new ids.
        self._scratch("new_listings", columns)
        self._copy_rows("_gp_new_listings", columns, rows)
        found = self.conn.execute(
            f"INSERT INTO listings ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _gp_new_listings"
            " ON CONFLICT (family, item_id, variation_id) DO NOTHING RETURNING family, item_id, variation_id, id"
        ).fetchall()
        return {(r[0], r[1], r[2]): int(r[3]) for r in found}

    def _stored_listings(self, keys: list[ListingKey]) -> dict[ListingKey, tuple[int, Any]]:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        found = self.conn.execute(
            "SELECT l.family, l.item_id, l.variation_id, l.id, l.seller FROM listings AS l"
            " JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k (family, item_id, variation_id)"
            " USING (family, item_id, variation_id)", [[k[0] for k in unique], [k[1] for k in unique],
                                                       [k[2] for k in unique]]).fetchall()
        return {(r[0], r[1], r[2]): (int(r[3]), r[4]) for r in found}

    def _update_listings(self, rows: list[list[Any]]) -> None:
        if not rows:
            return
        # One UPDATE … FROM a scratch table; per listing only its latest row of the batch (what applying
        # them in order with "last_seen_at <= observed" would leave).
        latest: dict[int, list[Any]] = {}
        for row in rows:
            kept = latest.get(row[-2])
            if kept is None or kept[-1] <= row[-1]:
                latest[row[-2]] = row
        columns = [*LISTING_STATE, "last_seen_at", "last_crawl_id", "id", "observed_at"]
        self._scratch("listing_updates", columns, source="listings", observed="last_seen_at")
        self._copy_rows("_gp_listing_updates", columns, [latest[key] for key in sorted(latest)])
        self.conn.execute(
            f"UPDATE listings AS l SET {', '.join(f'{c} = u.{c}' for c in [*LISTING_STATE, 'last_seen_at'])},"
            " last_crawl_id = u.last_crawl_id FROM _gp_listing_updates AS u"
            " WHERE l.id = u.id AND l.last_seen_at <= u.observed_at")

    def _scratch(self, name: str, columns: list[str], *, source: str = "listings",
                 observed: str | None = None) -> None:
        """An empty temporary table ``_gp_<name>`` with the types of ``source``'s columns (rows vanish at commit)."""
        chosen = [f"{observed} AS observed_at" if c == "observed_at" and observed else c for c in columns]
        self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS _gp_{name} ON COMMIT DELETE ROWS AS"
                          f" SELECT {', '.join(chosen)} FROM {source} WITH NO DATA")

    def _insert_observations(self, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor, cursor.copy(
                f"COPY observations ({', '.join(OBSERVATION_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _copy_rows(self, table: str, columns: list[str], rows: list[Any]) -> None:
        with self.conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _after_copy(self, table: str) -> None:
        self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                          f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")

    # -- the daily index (storage/index.py, storage/pg_index.py) -------------------------
    _DAY = "CAST({} AS date)"  # the session is UTC

    def index_observations(self, since: date, until: date, *, sku: str | None = None,
                           everything_known: bool = False) -> Iterator[list[tuple[Any, ...]]]:
        return pg_index.observations(self, since, until, sku=sku, everything_known=everything_known)

    # -- scale-out -----------------------------------------------------------------------
    def try_scheduler_lock(self) -> bool:
        """Take this database's scheduler lock (session-level: held until this connection closes)."""
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", [_SCHEDULER_LOCK]).fetchone()
        return bool(row and row[0])
