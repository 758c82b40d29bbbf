"""The daily market index: the observations it reads (SQLite here, PostgreSQL in ``pg_index``), and its
materialized rows (portable SQL, both backends).

``market_index`` holds one row per day × SKU × side × condition group with the statistics that do
not depend on the catalog (count, sellers, quartiles, min); ``market_index_dirty`` lists the days
whose rows are stale. Every write that can change a day's rows marks that day in the same
transaction (:meth:`IndexTables._mark_observations`), so a reader refreshes only the dirty days and
closed days are never recomputed. The statistics themselves are computed by ``market`` (pandas);
this module only stores and reads them. Which rows count is :data:`COUNTS` (one SQL fragment, used
both to read the index's inputs and to find the days a sale counts on).
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

__all__ = ["COUNTS", "INDEX_ROW_COLUMNS", "RAW_INDEX_COLUMNS", "IndexTables", "sqlite_observations", "utc_day"]

RAW_INDEX_COLUMNS = ("listing_id", "sold", "day_key", "pick", "is_new", "unit_price_usd", "sku", "seller", "source")
"""Columns of :meth:`IndexTables.index_observations` rows: one per listing × side × day key."""
INDEX_ROW_COLUMNS = ("day", "sku", "side", "condition_group", "n", "sellers", "median_usd", "p25_usd", "p75_usd",
                     "min_usd")
"""Columns of a materialized index row (``day`` an ISO date)."""

_CHUNK_ROWS = 200_000
_VARS = 500  # ids per IN (...) list: under SQLite's variable limit

# Fixed text: user input only ever travels as a bound parameter.
COUNTS = """o.sku IS NOT NULL AND o.sku != ''
  AND o.unit_price_usd IS NOT NULL
  AND o.excluded_reason IS NULL
  AND o.working = 1
  AND o.quarantined = 0
  AND (o.condition IS NULL OR o.condition != 'for_parts')
  AND ((o.sold = 1 AND o.best_offer_accepted = 0) OR (o.sold = 0 AND o.ended = 0))"""

# SQLite does the "once per listing × side × day" step itself (GROUP BY, in C) so Python converts ~8x
# fewer rows: with one max() as the only aggregate, SQLite takes the bare columns from the row holding
# the max, i.e. the latest sighting. Undated sales group on day -1 and keep their *earliest* sighting
# (max of the negated time), whose day is the day the sale was first seen.
_SELECT = """SELECT o.listing_id AS listing_id,
       o.sold AS sold,
       CASE WHEN o.sold = 0 THEN CAST(julianday(o.observed_at) - 2440587.5 AS INTEGER)
            ELSE COALESCE(CAST(julianday(o.sold_at) - 2440587.5 AS INTEGER), -1) END AS day_key,
       MAX(CASE WHEN o.sold = 1 AND o.sold_at IS NULL THEN -julianday(o.observed_at)
                ELSE julianday(o.observed_at) END) AS pick,
       CASE WHEN o.condition IN ('new', 'open_box') THEN 1 ELSE 0 END AS is_new,
       CAST(o.unit_price_usd AS REAL) AS unit_price_usd,
       o.sku AS sku,
       l.seller AS seller,
       o.source AS source
FROM observations AS o JOIN listings AS l ON l.id = o.listing_id"""

# What was observed in the window (a past index is what was known at the time).
_WINDOW_SQL = f"""{_SELECT}
WHERE o.observed_at >= :since AND o.observed_at < :until_excl AND {COUNTS} {{sku_filter}}
GROUP BY 1, 2, 3"""

# Everything known about the days of the window: asking sightings made on them, and every sighting of
# each sale that may count on them (a sale dated in the window, or an undated one seen in it), whenever
# it was observed. The index bounds are as much wider than the window as UTC offsets go (-12 h, +14 h:
# ISO times with offsets compare as text); the exact day is day_key, filtered by the caller.
_MATERIALIZE_SQL = f"""{_SELECT}
WHERE o.sold = 0 AND o.observed_at >= :lo AND o.observed_at < :hi
  AND julianday(o.observed_at) >= julianday(:since) AND julianday(o.observed_at) < julianday(:until_excl)
  AND {COUNTS}
GROUP BY 1, 2, 3
UNION ALL
{_SELECT}
WHERE o.sold = 1 AND {COUNTS} AND o.listing_id IN (
    SELECT s.listing_id FROM observations AS s WHERE s.sold = 1 AND s.sold_at >= :lo AND s.sold_at < :hi
    UNION
    SELECT s.listing_id FROM observations AS s
    WHERE s.observed_at >= :lo AND s.observed_at < :hi AND s.sold = 1 AND s.sold_at IS NULL)
GROUP BY 1, 2, 3"""

_SALES_SQL = ("SELECT o.listing_id, o.sold_at, o.observed_at, CASE WHEN {counts} THEN 1 ELSE 0 END"
              " FROM observations AS o WHERE o.sold = 1 AND o.listing_id IN ({marks})")


@lru_cache(maxsize=4096)
def utc_day(text: str | None) -> date | None:
    """The UTC day of an ISO date or time (naive times are UTC, as SQLite's ``julianday`` reads them)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _new_mark() -> int:
    # A token per marking: a refresh clears a day only if nobody marked it again meanwhile.
    return random.SystemRandom().getrandbits(62)


def sqlite_observations(conn: sqlite3.Connection, since: date, until: date, *, sku: str | None = None,
                        everything_known: bool = False) -> Iterator[list[tuple[Any, ...]]]:
    """:meth:`IndexTables.index_observations` on SQLite."""
    if everything_known:
        sql = _MATERIALIZE_SQL
        after = until + timedelta(days=1)
        params: dict[str, Any] = {"lo": f"{since - timedelta(days=1)}T12", "hi": f"{after}T14:01",
                                  "since": since.isoformat(), "until_excl": after.isoformat()}
    else:
        sql = _WINDOW_SQL.format(sku_filter="AND o.sku = :sku" if sku is not None else "")
        params = {"since": since.isoformat(), "until_excl": (until + timedelta(days=1)).isoformat(), "sku": sku}
    threads = conn.execute("PRAGMA threads").fetchone()[0]
    # Helper threads for SQLite's GROUP BY sorter (about 25% faster on 10M rows); restored afterwards.
    conn.execute(f"PRAGMA threads = {min(4, os.cpu_count() or 1)}")
    try:
        cursor = conn.execute(sql, params)
        while rows := cursor.fetchmany(_CHUNK_ROWS):
            yield rows
    finally:
        conn.execute(f"PRAGMA threads = {int(threads)}")


class IndexTables:
    """Index methods of the stores (mixed into :class:`storage.common.SqlStore`; portable SQL on its
    primitives). A backend supplies :meth:`index_observations` and ``_DAY``, its SQL for "the UTC day of
    a time column"."""

    _DAY = "date({})"

    def _transaction(self) -> AbstractContextManager[None]:  # provided by the store
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    # -- inputs ---------------------------------------------------------------------------
    def index_observations(self, since: date, until: date, *, sku: str | None = None,
                           everything_known: bool = False) -> Iterator[list[tuple[Any, ...]]]:
        """Rows that count for the index of days ``since``..``until`` (UTC, inclusive), in chunks;
        columns :data:`RAW_INDEX_COLUMNS`, one row per listing × side × day key (``-1``: an undated
        sale, ``pick`` then is minus the julian day of its first sighting).

        By default only what was observed in the window is read. ``everything_known`` (the
        materialized index) also reads every sighting of a sale that may count in the window, however
        late it was seen; rows of days just outside the window may then come too.
        """
        raise NotImplementedError

    # -- materialized rows ----------------------------------------------------------------
    def dirty_index_days(self) -> list[tuple[date, int]]:
        """Days whose materialized rows are stale, each with its mark (for :meth:`put_index_days`)."""
        return sorted((date.fromisoformat(str(row[0])), int(row[1]))
                      for row in self._execute("SELECT day, mark FROM market_index_dirty").fetchall())

    def put_index_days(self, marks: Sequence[tuple[date, int]], rows: Iterable[Sequence[Any]]) -> None:
        """Replace the rows of the days in ``marks`` by ``rows`` (columns :data:`INDEX_ROW_COLUMNS`) and
        clear those days' dirty marks, unless a write marked a day again since it was read."""
        days = [day.isoformat() for day, _ in marks]
        with self._transaction():
            for start in range(0, len(days), _VARS):
                chunk = days[start:start + _VARS]
                self._execute(f"DELETE FROM market_index WHERE day IN ({', '.join('?' for _ in chunk)})", chunk)
            self._executemany(f"INSERT INTO market_index ({', '.join(INDEX_ROW_COLUMNS)})"
                              f" VALUES ({', '.join('?' for _ in INDEX_ROW_COLUMNS)})", rows)
            self._executemany("DELETE FROM market_index_dirty WHERE day = ? AND mark = ?",
                              [(day.isoformat(), mark) for day, mark in marks])

    def read_index(self, since: date, until: date, sku: str | None = None) -> list[tuple[Any, ...]]:
        """Materialized rows of days ``since``..``until`` (inclusive), columns :data:`INDEX_ROW_COLUMNS`."""
        sql = f"SELECT {', '.join(INDEX_ROW_COLUMNS)} FROM market_index WHERE day >= ? AND day <= ?"
        params: list[Any] = [since.isoformat(), until.isoformat()]
        if sku is not None:
            sql += " AND sku = ?"
            params.append(sku)
        return [tuple(row) for row in self._execute(sql, params).fetchall()]

    def mark_index_dirty(self, days: Iterable[date] | None = None) -> None:
        """Mark days stale (``None``: every day with an observation or a sale, i.e. rebuild all);
        for writers that bypass the store's methods, e.g. bulk imports."""
        with self._transaction():
            if days is None:
                observed, sold = self._DAY.format("observed_at"), self._DAY.format("sold_at")
                self._execute(f"INSERT INTO market_index_dirty (day, mark) SELECT DISTINCT {observed}, ?"
                              f" FROM observations WHERE {observed} IS NOT NULL"
                              " ON CONFLICT (day) DO UPDATE SET mark = excluded.mark", [_new_mark()])
                self._execute(f"INSERT INTO market_index_dirty (day, mark) SELECT DISTINCT {sold}, ?"
                              f" FROM observations WHERE sold = 1 AND {sold} IS NOT NULL"
                              " ON CONFLICT (day) DO UPDATE SET mark = excluded.mark", [_new_mark()])
            else:
                self._mark_days(days)

    # -- marking, inside a store transaction ---------------------------------------------
    def _mark_days(self, days: Iterable[date | None]) -> None:
        mark = _new_mark()
        self._executemany(
            "INSERT INTO market_index_dirty (day, mark) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET mark = ?",
            [(day.isoformat(), mark, mark) for day in sorted({d for d in days if d is not None})])

    def _sale_days(self, listing_ids: Iterable[int]) -> set[date]:
        """Days the sales of these listings count on, or would if their other sightings counted: every
        sale date, and the first day an undated sale that counts was seen."""
        days: set[date] = set()
        first_undated: dict[int, date] = {}
        ids = sorted(set(listing_ids))
        for start in range(0, len(ids), _VARS):
            chunk = ids[start:start + _VARS]
            sql = _SALES_SQL.format(counts=COUNTS, marks=", ".join("?" for _ in chunk))
            for listing_id, sold_at, observed_at, counts in self._execute(sql, chunk).fetchall():
                if sold_at is not None:
                    days.add(utc_day(str(sold_at)) or date.min)
                elif counts and (seen := utc_day(str(observed_at))) is not None and (
                        listing_id not in first_undated or seen < first_undated[listing_id]):
                    first_undated[listing_id] = seen
        days.update(first_undated.values())
        days.discard(date.min)
        return days

    def _touched(self, where: str, params: Sequence[Any]) -> tuple[set[date], set[int]]:
        """Observation days and sold listings of the observations matching ``where`` (fixed text)."""
        days: set[date] = set()
        sold: set[int] = set()
        for listing_id, observed_at, sold_at, is_sold in self._execute(
                f"SELECT listing_id, observed_at, sold_at, sold FROM observations WHERE {where}", params).fetchall():
            days.add(utc_day(observed_at) or date.min)
            if is_sold:
                sold.add(listing_id)
                days.add(utc_day(sold_at) or date.min)
        days.discard(date.min)
        return days, sold

    def _mark_observations(self, ids: Sequence[int], change: Any) -> Any:
        """Run ``change()`` (a write to these observations) and mark every day it can alter."""
        days: set[date] = set()
        sold: set[int] = set()
        for start in range(0, len(ids), _VARS):
            chunk = ids[start:start + _VARS]
            found, sales = self._touched(f"id IN ({', '.join('?' for _ in chunk)})", chunk)
            days |= found
            sold |= sales
        before = self._sale_days(sold)
        result = change()
        self._mark_days(days | before | self._sale_days(sold))
        return result

    def _listing_days(self, listing_ids: Iterable[int]) -> set[date]:
        """Every day these listings count on (a listing's seller changed: its seller counts changed)."""
        days: set[date] = set()
        ids = sorted(set(listing_ids))
        for start in range(0, len(ids), _VARS):
            chunk = ids[start:start + _VARS]
            found, sales = self._touched(f"listing_id IN ({', '.join('?' for _ in chunk)})", chunk)
            days |= found | self._sale_days(sales)
        return days


def index_tables(db: Any) -> None:
    """Migration step: the materialized index tables, with every existing day marked dirty."""
    db.execute("CREATE TABLE IF NOT EXISTS market_index (day TEXT NOT NULL, sku TEXT NOT NULL, side TEXT NOT NULL,"
               " condition_group TEXT NOT NULL, n INTEGER NOT NULL, sellers INTEGER NOT NULL, median_usd REAL,"
               " p25_usd REAL, p75_usd REAL, min_usd REAL, PRIMARY KEY (day, sku, side, condition_group))")
    db.execute("CREATE INDEX IF NOT EXISTS market_index_sku_day ON market_index (sku, day)")
    db.execute("CREATE TABLE IF NOT EXISTS market_index_dirty (day TEXT PRIMARY KEY, mark INTEGER NOT NULL)")
    # Sales by date, for the sales that count on a dirty day (a small partial index: sold rows only).
    db.execute("CREATE INDEX IF NOT EXISTS observations_sold_at ON observations (sold_at) WHERE sold = 1")
    db.execute("INSERT OR IGNORE INTO market_index_dirty (day, mark) SELECT DISTINCT date(observed_at), 0"
               " FROM observations WHERE date(observed_at) IS NOT NULL")
    db.execute("INSERT OR IGNORE INTO market_index_dirty (day, mark) SELECT DISTINCT date(sold_at), 0"
               " FROM observations WHERE sold = 1 AND date(sold_at) IS NOT NULL")
