"""What the SQLite and PostgreSQL stores share: the Store methods, written once in portable SQL.

A backend supplies a few primitives — ``_execute``, ``_executemany``, ``_query``, ``_transaction``,
``_insert_listings`` … — and may override one where its database does better (PostgreSQL writes
listings and observations with ``COPY``). SQL here uses ``?`` placeholders; the PostgreSQL store translates them.
Values travel as Python strings and numbers: money as exact decimal text, times as ISO text, flags as
0/1, so both backends return the same rows.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any, Self

import attrs

from gpuprices.core.columns import RECLASSIFIED
from gpuprices.core.items import PageReport, PageStatus
from gpuprices.core.listing import NormalizedListing, values_function
from gpuprices.core.rental import RentalOffer
from gpuprices.exceptions import StorageError
from gpuprices.storage.index import IndexTables, utc_day
from gpuprices.storage.values import (
    BOOL_COLUMNS,
    LISTING_KEY,
    LISTING_STATE,
    OBSERVATION_COLUMNS,
    READABLE_TABLES,
    decode_row,
    utcnow,
)

from . import archive, exports, imports, outbox, rentals  # relative: see storage/outbox.py

logger = logging.getLogger(__name__)

ListingKey = tuple[str, str, str]
_NEW_LISTING_COLUMNS = (*LISTING_KEY, *LISTING_STATE, "first_seen_at", "last_seen_at",
                        "first_crawl_id", "last_crawl_id")


_ROW_VALUES = values_function((LISTING_STATE, OBSERVATION_COLUMNS), args=("listing_id", "crawl_id"),
                              flags=BOOL_COLUMNS)
"""listing, listing id, crawl id → (its listing state, its observation), compiled once from the declaration."""
_LISTING_ID = OBSERVATION_COLUMNS.index("listing_id")
_OBSERVED_AT = OBSERVATION_COLUMNS.index("observed_at")
_SOLD, _SOLD_AT, _SELLER = (LISTING_STATE.index(name) for name in ("sold", "sold_at", "seller"))

@attrs.define
class SaveResult:
    """What one batch did to the database."""

    new: int = 0
    updated: int = 0
    observations: int = 0


class SqlStore(IndexTables):
    """The Store methods on top of a backend's primitives (see the module docstring)."""

    backend = "sql"
    """``sqlite`` or ``postgresql``."""
    builds_lines = False
    """Whether the database builds export lines itself (:func:`storage.exports.export_lines`)."""

    # -- primitives (each backend) -------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _iter_query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows one at a time (exports of a large table); default: all at once."""
        yield from self._query(sql, params)

    def _iter_chunks(self, sql: str, params: Sequence[Any], size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Rows as tuples, ``size`` at a time (streaming exports)."""
        raise NotImplementedError

    def _columns(self, sql: str) -> list[str]:
        raise NotImplementedError

    def column_kinds(self, table: str) -> dict[str, str]:
        """Column name → ``text`` (a text column) or ``other``, in table order."""
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _insert_listings(self, columns: list[str], rows: list[list[Any]],
                         keys: list[ListingKey]) -> dict[ListingKey, int]:
        """Insert new listings; returns the ids of those actually inserted (another writer may have won)."""
        raise NotImplementedError

    def _update_listings(self, rows: list[list[Any]]) -> None:
        """Rows of (LISTING_STATE…, last_seen_at, last_crawl_id, id, observed_at): state moves forward only."""
        self._executemany(
            f"UPDATE listings SET {', '.join(f'{c} = ?' for c in LISTING_STATE)}, last_seen_at = ?,"
            " last_crawl_id = ? WHERE id = ? AND last_seen_at <= ?", rows)

    def _insert_observations(self, rows: list[list[Any]]) -> None:
        self._executemany(f"INSERT INTO observations ({', '.join(OBSERVATION_COLUMNS)})"
                          f" VALUES ({', '.join('?' for _ in OBSERVATION_COLUMNS)})", rows)

    def _copy_rows(self, table: str, columns: list[str], rows: list[Any]) -> None:
        """Bulk insert (``db copy``) inside the caller's transaction."""
        self._executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                          rows)

    def _after_copy(self, table: str) -> None:
        """After rows were inserted with explicit ids (PostgreSQL moves its id sequence past them)."""

    def close(self) -> None:
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query with ``?`` placeholders (for tools and tests; the application uses methods)."""
        return self._query(sql, params)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- crawls --------------------------------------------------------------------------
    def start_crawl(self, source: str, queries: Sequence[str] = (), pid: int | None = None, *,
                    kind: str = "crawl") -> int:
        """A new ``running`` crawl; ``kind`` is ``crawl`` (a spider run), ``replay`` or ``import``."""
        with self._transaction():
            row = self._execute(
                "INSERT INTO crawls (source, started_at, status, queries, pid, kind)"
                " VALUES (?, ?, 'running', ?, ?, ?) RETURNING id",
                [source, utcnow(), json.dumps(list(queries)), pid, kind]).fetchone()
        return int(row[0])

    def add_crawl_query(self, crawl_id: int, query: str) -> None:
        """Append one query (an imported file's name …) to a crawl's list."""
        row = self._execute("SELECT queries FROM crawls WHERE id = ?", [crawl_id]).fetchone()
        queries = json.loads(row[0] or "[]") if row else []
        self.set_crawl_queries(crawl_id, [*queries, query])

    def set_crawl_pid(self, crawl_id: int, pid: int) -> None:
        """Record the process running a crawl (a restarted daemon ends it if it survived)."""
        with self._transaction():
            self._execute("UPDATE crawls SET pid = ? WHERE id = ?", [pid, crawl_id])

    def crawl_is_running(self, crawl_id: int) -> bool:
        row = self._execute("SELECT status FROM crawls WHERE id = ?", [crawl_id]).fetchone()
        return bool(row) and row[0] == "running"

    def latest_crawl_id(self) -> int | None:
        row = self._execute("SELECT MAX(id) FROM crawls").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def finished_crawls_after(self, crawl_id: int) -> list[dict[str, Any]]:
        """Crawls after ``crawl_id`` that ended (not running, not aborted), oldest first."""
        return self._query("SELECT * FROM crawls WHERE id > ? AND status NOT IN ('running', 'aborted') ORDER BY id",
                           [crawl_id])

    def crawl_skus(self, crawl_ids: Sequence[int]) -> dict[int, set[str]]:
        """The SKUs each crawl stored observations of (listings and cloud rentals)."""
        found: dict[int, set[str]] = {crawl_id: set() for crawl_id in crawl_ids}
        if not crawl_ids:
            return found
        marks = ", ".join("?" for _ in crawl_ids)
        for table in ("observations", "rental_observations"):
            for crawl_id, sku in self._execute(
                    f"SELECT DISTINCT crawl_id, sku FROM {table} WHERE crawl_id IN ({marks})"
                    " AND sku IS NOT NULL AND sku != ''", list(crawl_ids)).fetchall():
                found[int(crawl_id)].add(str(sku))
        return found

    def page_problems(self, crawl_id: int) -> list[tuple[str, str, int]]:
        """``(status, reason, pages)`` of a crawl's blocked, failed and layout-change pages, most pages first."""
        return [(row[0], row[1] or "", int(row[2])) for row in self._execute(
            "SELECT status, reason, COUNT(*) FROM pages WHERE crawl_id = ? AND status IN"
            " ('blocked', 'failed', 'layout_change') GROUP BY status, reason ORDER BY COUNT(*) DESC, reason",
            [crawl_id]).fetchall()]

    def set_crawl_queries(self, crawl_id: int, queries: Sequence[str]) -> None:
        with self._transaction():
            self._execute("UPDATE crawls SET queries = ? WHERE id = ?", [json.dumps(list(queries)), crawl_id])

    def set_crawl_error(self, crawl_id: int, error: str) -> None:
        with self._transaction():
            self._execute("UPDATE crawls SET error = ? WHERE id = ?", [error, crawl_id])

    def record_page(self, crawl_id: int, report: PageReport) -> None:
        with self._transaction():
            self._execute(
                "INSERT INTO pages (crawl_id, url, status, http_status, listings, cards, reason, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [crawl_id, report.url, report.status.value, report.http_status, report.listings,
                 report.cards, report.reason, utcnow()],
            )

    def finish_crawl(self, crawl_id: int, status: str, *, dropped: dict[str, int] | None = None,
                     error: str | None = None) -> dict[str, Any]:
        """Close a running crawl: page and listing totals are computed from what was recorded.

        A crawl already closed (e.g. marked failed after its process was lost) never changes again.
        """
        pages = self.page_statuses(crawl_id)
        with self._transaction():
            cursor = self._execute(
                "UPDATE crawls SET finished_at = ?, status = ?, pages = ?, blocked_pages = ?,"
                " layout_change_pages = ?, failed_pages = ?, empty_pages = ?, dropped = ?, error = ?"
                " WHERE id = ? AND status = 'running'",
                [utcnow(), status, sum(pages.values()), pages.get(PageStatus.BLOCKED.value, 0),
                 pages.get(PageStatus.LAYOUT_CHANGE.value, 0), pages.get("failed", 0),
                 pages.get(PageStatus.EMPTY.value, 0), json.dumps(dropped or {}, sort_keys=True), error,
                 crawl_id],
            )
        row = self.crawl(crawl_id)
        if cursor.rowcount == 0:
            logger.warning("crawl %d is already closed (%s): not closed again as %s", crawl_id, row["status"], status)
        return row

    def crawl(self, crawl_id: int) -> dict[str, Any]:
        rows = self._query("SELECT * FROM crawls WHERE id = ?", [crawl_id])
        if not rows:
            raise StorageError(f"no crawl with id {crawl_id}")
        return rows[0]

    def page_statuses(self, crawl_id: int) -> dict[str, int]:
        return {row[0]: int(row[1]) for row in self._execute(
            "SELECT status, COUNT(*) FROM pages WHERE crawl_id = ? GROUP BY status", [crawl_id]).fetchall()}

    def fail_abandoned_crawls(self, source: str | None = None, error: str = "crawl process ended early") -> int:
        """Mark crawls still 'running' (their process died) as failed."""
        sql = "UPDATE crawls SET status = 'failed', finished_at = ?, error = ? WHERE status = 'running'"
        params: list[Any] = [utcnow(), error]
        if source:
            sql += " AND source = ?"
            params.append(source)
        with self._transaction():
            cursor = self._execute(sql, params)
        return int(cursor.rowcount)

    def running_crawls(self) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM crawls WHERE status = 'running' ORDER BY id")

    def api_calls_today(self, source: str) -> int:
        day = datetime.now(UTC).date().isoformat()
        row = self._execute("SELECT calls FROM api_usage WHERE day = ? AND source = ?", [day, source]).fetchone()
        return int(row[0]) if row else 0

    def add_api_calls(self, source: str, calls: int) -> None:
        day = datetime.now(UTC).date().isoformat()
        with self._transaction():
            self._execute(
                "INSERT INTO api_usage (day, source, calls) VALUES (?, ?, ?)"
                " ON CONFLICT(day, source) DO UPDATE SET calls = api_usage.calls + excluded.calls",
                [day, source, calls],
            )

    # -- listings ------------------------------------------------------------------------
    def save_listings(self, crawl_id: int, listings: Iterable[NormalizedListing], *,
                      replace_page: str | None = None) -> SaveResult:
        """Upsert listings (latest state) and append one observation each, in one transaction.

        ``replace_page`` (re-parsing an archived page): that page's earlier observations in the crawl are
        replaced instead of added to, a listing's state only moves forward in time, and the crawl's
        counters stay as they were.
        """
        batch = list(listings)
        # Thousands of short-lived, acyclic rows: the cycle collector would only walk them (and the
        # whole heap) over and over while they are built.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._save(crawl_id, batch, replace_page)
        finally:
            if collecting:
                gc.enable()

    def _save(self, crawl_id: int, batch: list[NormalizedListing], replace_page: str | None) -> SaveResult:
        result = SaveResult()
        with self._transaction():
            # Days whose index rows this batch can change: the days it saw, the sales it touched.
            days: set[Any] = set()
            sold: set[int] = set()
            if replace_page is not None:
                days, sold = self._touched("crawl_id = ? AND page_url = ?", [crawl_id, replace_page])
                days |= self._sale_days(sold)
                self._execute("DELETE FROM observations WHERE crawl_id = ? AND page_url = ?",
                              [crawl_id, replace_page])
            if not batch:
                self._mark_days(days | self._sale_days(sold))
                return result
            # The observation's listing id is set once known (a -1 left behind would fail its foreign key).
            built = [_ROW_VALUES(item, -1, crawl_id) for item in batch]
            keys = [(item.raw.family or item.raw.source, item.raw.item_id, item.raw.variation_id or "")
                    for item in batch]
            seen = [observation[_OBSERVED_AT] for _, observation in built]
            stored = self._stored_listings(keys)  # ids and sellers in one lookup
            existing = {key: listing_id for key, (listing_id, _) in stored.items()}
            sellers = dict(stored.values())
            fresh = {key: (state, at) for key, (state, _), at in zip(keys, built, seen, strict=True)
                     if key not in existing}
            new_ids = self._insert_listings(
                list(_NEW_LISTING_COLUMNS),
                [[*key, *state, at, at, crawl_id, crawl_id] for key, (state, at) in fresh.items()], list(fresh))
            lost = [key for key in fresh if key not in new_ids]  # another writer inserted them first
            ids = {**existing, **new_ids, **(self._listing_ids(lost) if lost else {})}
            result.new = len(new_ids)
            days.update(utc_day(at) for at in set(seen))  # a page's listings share one time
            for key, (state, _) in zip(keys, built, strict=True):
                if state[_SOLD]:
                    sold.add(ids[key])
                    days.add(utc_day(state[_SOLD_AT]))
            # A listing's seller counts on every day it counted: a new seller changes all of them.
            reseller = {ids[key] for key, (state, _) in zip(keys, built, strict=True)
                        if ids[key] in sellers and sellers[ids[key]] != state[_SELLER]}
            before = self._sale_days(sold)
            # Sorted by id: concurrent writers lock shared listings in the same order (no deadlock).
            updates = sorted(
                ([*state, at, crawl_id, ids[key], at]
                 for key, (state, _), at in zip(keys, built, seen, strict=True) if key not in new_ids),
                key=lambda values: values[-2])
            self._update_listings(updates)
            result.updated = len(updates)
            observations = [observation for _, observation in built]
            for key, values in zip(keys, observations, strict=True):
                values[_LISTING_ID] = ids[key]
            self._insert_observations(observations)
            result.observations = len(batch)
            self._mark_days(days | before | self._sale_days(sold) | self._listing_days(reseller))
            if replace_page is None:
                self._execute(
                    "UPDATE crawls SET listings = listings + ?, listings_new = listings_new + ?,"
                    " listings_updated = listings_updated + ?, observations = observations + ? WHERE id = ?",
                    [len(batch), result.new, result.updated, result.observations, crawl_id])
        return result

    def _listing_ids(self, keys: list[ListingKey]) -> dict[ListingKey, int]:
        return {key: listing_id for key, (listing_id, _) in self._stored_listings(keys).items()}

    def _stored_listings(self, keys: list[ListingKey]) -> dict[ListingKey, tuple[int, Any]]:
        """key → (id, stored seller) of the stored listings among ``keys``: one query per 500 item ids of
        a family and variation (a batch is usually one family, no variations), on the unique key's index."""
        found: dict[ListingKey, tuple[int, Any]] = {}
        groups: dict[tuple[str, str], list[str]] = {}
        for family, item_id, variation_id in dict.fromkeys(keys):
            groups.setdefault((family, variation_id), []).append(item_id)
        for (family, variation_id), item_ids in groups.items():
            for start in range(0, len(item_ids), 500):  # stay under SQLite's variable limit
                chunk = item_ids[start:start + 500]
                sql = ("SELECT item_id, id, seller FROM listings WHERE family = ? AND variation_id = ?"
                       f" AND item_id IN ({', '.join('?' for _ in chunk)})")
                for item_id, listing_id, seller in self._execute(sql, [family, variation_id, *chunk]).fetchall():
                    found[(family, item_id, variation_id)] = (int(listing_id), seller)
        return found

    @staticmethod
    def _observation_values(listing_id: int, crawl_id: int, item: NormalizedListing) -> list[Any]:
        """The observation row of one listing (the ingest benchmark's baseline prepares its rows with it)."""
        return _ROW_VALUES(item, listing_id, crawl_id)[1]

    # -- quarantine ----------------------------------------------------------------------
    def priced_rows(self, crawl_id: int | None = None) -> list[dict[str, Any]]:
        """Observations that can feed statistics: a SKU, a unit price, not excluded, working."""
        sql = ("SELECT id AS observation_id, listing_id, sku, unit_price_usd, quarantined, quarantine_reason,"
               " CASE WHEN quarantine_reason LIKE 'seller %' THEN 1 ELSE 0 END AS seller_reason FROM observations"
               " WHERE sku IS NOT NULL AND unit_price_usd IS NOT NULL AND excluded_reason IS NULL"
               " AND working = 1")
        params: list[Any] = []
        if crawl_id is not None:
            sql += " AND crawl_id = ?"
            params.append(crawl_id)
        return self._query(sql + " ORDER BY id", params)

    def window_unit_prices(self, sku: str, since: str) -> list[float]:
        """Latest unit price of each listing of ``sku`` seen since ``since`` (one vote per listing)."""
        sql = ("SELECT CAST(unit_price_usd AS DOUBLE PRECISION) FROM observations WHERE id IN ("
               " SELECT MAX(id) FROM observations WHERE sku = ? AND observed_at >= ?"
               " AND unit_price_usd IS NOT NULL AND excluded_reason IS NULL AND working = 1"
               " AND COALESCE(quarantine_reason, '') NOT LIKE 'seller %' GROUP BY listing_id) ORDER BY id")
        return [float(row[0]) for row in self._execute(sql, [sku, since]).fetchall()]

    def set_quarantine(self, observation_id: int, listing_id: int, reason: str | None) -> None:
        flag = int(reason is not None)
        with self._transaction():
            self._mark_observations([observation_id], lambda: self._execute(
                "UPDATE observations SET quarantined = ?, quarantine_reason = ? WHERE id = ?",
                [flag, reason, observation_id]))
            # The listing mirrors its latest observation only.
            self._execute(
                "UPDATE listings SET quarantined = ?, quarantine_reason = ? WHERE id = ? AND NOT EXISTS"
                " (SELECT 1 FROM observations WHERE listing_id = ? AND id > ?)",
                [flag, reason, listing_id, listing_id, observation_id])

    # -- re-classification --------------------------------------------------------------
    def observations_for_reclassify(self) -> Iterator[dict[str, Any]]:
        """Every observation with what classification needs (its title, condition, prices, seller)."""
        return self._iter_query(
            "SELECT o.id, o.listing_id, o.title, o.condition_raw, o.condition, o.price_usd, o.price_max, o.currency,"
            " o.shipping_usd, o.best_offer_accepted, l.seller_feedback,"
            f" {', '.join('o.' + c for c in RECLASSIFIED)}"
            " FROM observations o JOIN listings l ON l.id = o.listing_id ORDER BY o.id")

    def update_observation_classes(self, updates: list[tuple[int, dict[str, Any]]]) -> None:
        if not updates:
            return
        columns = list(updates[0][1])
        with self._transaction():
            self._mark_observations([obs_id for obs_id, _ in updates], lambda: self._executemany(
                f"UPDATE observations SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                [[fields[c] for c in columns] + [obs_id] for obs_id, fields in updates]))

    def sync_listing_classes(self) -> int:
        """Copy each listing's latest observation's classification onto the listing."""
        assignments = ", ".join(
            f"{c} = (SELECT o.{c} FROM observations o WHERE o.listing_id = listings.id ORDER BY o.id DESC LIMIT 1)"
            for c in RECLASSIFIED)
        with self._transaction():
            cursor = self._execute(f"UPDATE listings SET {assignments}")
        return int(cursor.rowcount)

    # -- alert rule state -----------------------------------------------------------------
    def alert_state(self, rule: str, key: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM alert_state WHERE rule = ? AND key = ?", [rule, key])
        return rows[0] if rows else None

    def put_alert_state(self, rule: str, key: str, state: str, last_value: float | None,
                        last_fired_at: str | None) -> None:
        with self._transaction():
            self._execute(
                "INSERT INTO alert_state (rule, key, state, last_value, last_fired_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(rule, key) DO UPDATE SET state = excluded.state,"
                " last_value = excluded.last_value, last_fired_at = excluded.last_fired_at,"
                " updated_at = excluded.updated_at",
                [rule, key, state, last_value, last_fired_at, utcnow()])

    def recent_crawls(self, source: str, limit: int = 10, before_id: int | None = None) -> list[dict[str, Any]]:
        # Imports are files a person saved, not the scraper's work: they never set a source's health baseline.
        sql = "SELECT * FROM crawls WHERE source = ? AND status != 'running' AND kind != 'import'"
        params: list[Any] = [source]
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        return self._query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])

    def new_priced_listings(self, crawl_id: int, sku: str) -> list[dict[str, Any]]:
        """Listings of ``sku`` seen in a crawl, with their latest unit price and flags (asking side)."""
        return self._query(
            "SELECT l.id AS listing_id, l.item_id, l.title, l.url, l.sku, o.unit_price_usd, o.price, o.currency,"
            " o.quarantined, o.excluded_reason, o.working, o.sold, o.ended, o.condition, l.source, l.seller"
            " FROM observations o JOIN listings l ON l.id = o.listing_id"
            " WHERE o.crawl_id = ? AND o.sku = ? AND o.unit_price_usd IS NOT NULL ORDER BY o.id", [crawl_id, sku])

    # -- reading for the dashboard and the API ------------------------------------------
    def find_listings(self, *, sku: str | None = None, side: str | None = None, condition_group: str | None = None,
                      since: str | None = None, include_excluded: bool = False, source: str | None = None,
                      limit: int | None = None) -> list[dict[str, Any]]:
        """``listings`` rows (latest state), newest sighting first, columns as ``export listings``.

        ``side``: ``asking`` (open: not sold, not ended) or ``sold``; ``condition_group``: ``new``
        (new, open box) or ``used`` (the rest but for parts), as in the market index; ``since``: last
        seen at or after this ISO date or time. Excluded, quarantined and not-working listings are
        left out unless ``include_excluded``.
        """
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("sku", sku), ("source", source)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("last_seen_at >= ?")
            params.append(since)
        if side is not None:
            where.append({"asking": "sold = 0 AND ended = 0", "sold": "sold = 1"}[side])
        if condition_group not in (None, "all"):
            where.append({"new": "condition IN ('new', 'open_box')",
                          "used": "(condition IS NULL OR condition NOT IN ('new', 'open_box', 'for_parts'))"}
                         [str(condition_group)])
        if not include_excluded:
            # A listing without a USD value (no rate for its currency) cannot count in a USD statistic.
            where.append("excluded_reason IS NULL AND quarantined = 0 AND working = 1 AND price_usd IS NOT NULL")
        sql = "SELECT * FROM listings" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY last_seen_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [decode_row(row) for row in self._query(sql, params)]

    def listing(self, listing_id: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM listings WHERE id = ?", [listing_id])
        return decode_row(rows[0]) if rows else None

    def listing_observations(self, listing_id: int) -> list[dict[str, Any]]:
        """Every observation of one listing, oldest first, columns as ``export observations``."""
        return [decode_row(row) for row in self._query(
            "SELECT l.family, l.item_id, l.variation_id, o.* FROM observations o JOIN listings l ON l.id = o.listing_id"
            " WHERE o.listing_id = ? ORDER BY o.id", [listing_id])]

    def last_seen_at(self, sku: str | None = None) -> str | None:
        """The latest sighting of any listing (of ``sku``): how fresh the data is."""
        sql, params = ("SELECT MAX(last_seen_at) FROM listings WHERE sku = ?", [sku]) if sku is not None \
            else ("SELECT MAX(last_seen_at) FROM listings", [])
        row = self._execute(sql, params).fetchone()
        return str(row[0]) if row and row[0] else None

    def table_columns(self, table: str) -> list[str]:
        """Column names of a stored table, in order (the header of an empty answer)."""
        if table not in READABLE_TABLES:
            raise ValueError(f"unknown table {table!r}")
        return list(self.column_kinds(table))

    def alert_states(self) -> list[dict[str, Any]]:
        """Every rule × key state (armed, fired …) with its last value."""
        return self._query("SELECT * FROM alert_state ORDER BY rule, key")

    # -- imported files (storage/imports.py) ----------------------------------------------
    def imported_file(self, sha256: str) -> dict[str, Any] | None:
        return imports.imported_file(self, sha256)

    def record_imported_file(self, **values: Any) -> None:
        imports.record_imported_file(self, **values)

    # -- watch lists ----------------------------------------------------------------------
    def watches(self, source: str) -> list[str]:
        return [row[0] for row in self._execute(
            "SELECT target FROM watches WHERE source = ? ORDER BY id", [source]).fetchall()]

    def add_watch(self, source: str, target: str) -> bool:
        """Add a watched target; False when it was already watched."""
        with self._transaction():
            cursor = self._execute("INSERT INTO watches (source, target, added_at) VALUES (?, ?, ?)"
                                   " ON CONFLICT (source, target) DO NOTHING", [source, target, utcnow()])
        return int(cursor.rowcount) == 1

    def remove_watch(self, source: str, target: str) -> bool:
        with self._transaction():
            cursor = self._execute("DELETE FROM watches WHERE source = ? AND target = ?", [source, target])
        return int(cursor.rowcount) == 1

    # -- daemon facts ---------------------------------------------------------------------
    def put_daemon_status(self, value: str) -> None:
        self.put_meta("daemon", value)

    def daemon_status(self) -> str | None:
        return self.get_meta("daemon")

    def get_meta(self, key: str) -> str | None:
        """The value of a stored fact, or ``None``."""
        stored = self.meta(key)
        return stored[0] if stored else None

    def meta(self, key: str) -> tuple[str, str] | None:
        """``(value, updated_at)`` of a stored fact, or ``None``."""
        row = self._execute("SELECT value, updated_at FROM meta WHERE key = ?", [key]).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def put_meta(self, key: str, value: str) -> None:
        with self._transaction():
            self._execute("INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key)"
                          " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                          [key, value, utcnow()])

    def unvalued_counts(self, crawl_id: int) -> dict[str, int]:
        """Listings a crawl kept without a USD value (no rate for their currency), by ISO currency."""
        rows = self._execute(
            "SELECT currency, COUNT(*) FROM observations WHERE crawl_id = ? AND price_usd IS NULL"
            " GROUP BY currency ORDER BY currency", [crawl_id]).fetchall()
        return {str(currency): int(n) for currency, n in rows}

    def last_crawls(self) -> list[dict[str, Any]]:
        """The latest crawl of each source."""
        return self._query(
            "SELECT * FROM crawls WHERE id IN (SELECT MAX(id) FROM crawls WHERE kind != 'import' GROUP BY source)"
            " ORDER BY source")

    # -- the alert outbox (storage/outbox.py) ---------------------------------------------
    def enqueue_alert(self, alert: dict[str, Any], deliveries: list[dict[str, Any]]) -> int | None:
        return outbox.enqueue(self, alert, deliveries)

    def due_deliveries(self, now: str, alert_id: int | None = None) -> list[tuple[int, str]]:
        return outbox.due(self, now, alert_id)

    def claim_due_deliveries(self, ids: Sequence[int], now: str, leases: dict[str, str],
                             default_lease: str) -> list[dict[str, Any]]:
        return outbox.claim(self, ids, now, leases, default_lease)

    def record_delivery(self, delivery_id: int, **fields: Any) -> None:
        outbox.record(self, delivery_id, fields)

    def retry_dead_deliveries(self, now: str, deadline: str, ids: Sequence[int] | None = None) -> int:
        return outbox.retry_dead(self, now, deadline, ids)

    def abandon_deliveries(self, alert_id: int, note: str) -> int:
        return outbox.abandon(self, alert_id, note)

    def delivery_summary(self) -> dict[str, int]:
        return outbox.summary(self)

    def next_delivery_due(self) -> str | None:
        return outbox.next_due(self)

    def recent_deliveries(self, limit: int = 20, alert_id: int | None = None,
                          status: str | None = None) -> list[dict[str, Any]]:
        return outbox.recent(self, limit, alert_id, status)

    # -- the raw page archive, rentals, exports (their modules) ---------------------------
    def archive_page(self, **page: Any) -> int:
        return archive.archive_page(self, **page)

    def archived_pages(self, *, source: str | None = None, since: str | None = None,
                       crawl_id: int | None = None) -> Iterator[Any]:
        return archive.archived_pages(self, source=source, since=since, crawl_id=crawl_id)

    def latest_archived_crawl(self, source: str) -> int | None:
        return archive.latest_archived_crawl(self, source)

    def prune_archive(self, retention_days: int) -> int:
        return archive.prune_archive(self, retention_days)

    def save_rentals(self, crawl_id: int, offers: Iterable[RentalOffer]) -> Any:
        return rentals.save_rentals(self, crawl_id, offers)

    def rental_rows(self, since: date | str, *, until: date | None = None,
                    sku: str | None = None) -> list[dict[str, Any]]:
        return rentals.rental_rows(self, since, until=until, sku=sku)

    def export_rows(self, table: str, *, since: str | None = None,
                    source: str | None = None) -> Iterator[dict[str, Any]]:
        return exports.export_rows(self, table, since=since, source=source)

    def export_columns(self, table: str) -> list[str]:
        return exports.export_columns(self, table)
