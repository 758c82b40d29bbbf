"""SQLite storage: WAL mode, migrations, one transaction per batch of listings."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from sqlite_utils import Database

from gpuprices.core.items import PageReport, PageStatus
from gpuprices.core.listing import NormalizedListing, listing_row
from gpuprices.exceptions import StorageError
from gpuprices.storage.schema import _CLASS_COLUMNS, _PRICE_COLUMNS, migrate

_LISTING_STATE = ("source", "site", "url", "title", *_PRICE_COLUMNS, "availability", "seller", "seller_feedback",
                  "location", "created_at", *_CLASS_COLUMNS)
_OBSERVATION_COLUMNS = ("listing_id", "crawl_id", "source", "site", "observed_at", "query", "page_url", "title",
                        "price_text", "price_value_raw", "currency_value_raw", "bin_price_text",
                        "shipping_text", "shipping_value_raw", "sold_at_text", *_PRICE_COLUMNS, "availability",
                        *_CLASS_COLUMNS, "extra")
_READABLE_TABLES = ("listings", "observations", "crawls", "alert_state", "rental_observations")
BOOL_COLUMNS = {"sold", "ended", "best_offer_accepted", "shipping_estimated", "working", "quarantined"}
"""Stored as 0/1 integers; exports turn them back into booleans."""


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@attrs.define
class SaveResult:
    """What one batch did to the database."""

    new: int = 0
    updated: int = 0
    observations: int = 0


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row with its 0/1 flags (:data:`BOOL_COLUMNS`) as booleans, as exports show them."""
    return {key: (bool(value) if key in BOOL_COLUMNS and value is not None else value) for key, value in row.items()}


def _sql_value(column: str, value: Any) -> Any:
    if column in BOOL_COLUMNS and value is not None:
        return int(bool(value))
    return value


class SqliteStore:
    """The embedded default backend. Other backends implement the same public methods."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        try:
            if self.path.parent and not self.path.parent.exists():
                raise StorageError(f"database folder does not exist: {self.path.parent}")
            conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
            self.db = Database(conn)
            # Autocommit mode plus explicit BEGIN/COMMIT: we decide the transaction boundaries.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {self.path}: {exc}") from None

    def _migrate(self) -> None:
        migrate(self.db)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- crawls --------------------------------------------------------------------------
    def start_crawl(self, source: str, queries: Sequence[str] = (), pid: int | None = None) -> int:
        with self._transaction():
            cursor = self.db.execute(
                "INSERT INTO crawls (source, started_at, status, queries, pid) VALUES (?, ?, 'running', ?, ?)",
                [source, utcnow(), json.dumps(list(queries)), pid],
            )
        return int(cursor.lastrowid or 0)

    def record_page(self, crawl_id: int, report: PageReport) -> None:
        with self._transaction():
            self.db.execute(
                "INSERT INTO pages (crawl_id, url, status, http_status, listings, cards, reason, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [crawl_id, report.url, report.status.value, report.http_status, report.listings,
                 report.cards, report.reason, utcnow()],
            )

    def finish_crawl(self, crawl_id: int, status: str, *, dropped: dict[str, int] | None = None,
                     error: str | None = None) -> dict[str, Any]:
        """Close a crawl: page and listing totals are computed from what was recorded."""
        pages = self.page_statuses(crawl_id)
        with self._transaction():
            self.db.execute(
                "UPDATE crawls SET finished_at = ?, status = ?, pages = ?, blocked_pages = ?,"
                " layout_change_pages = ?, failed_pages = ?, empty_pages = ?, dropped = ?, error = ?"
                " WHERE id = ?",
                [utcnow(), status, sum(pages.values()), pages.get(PageStatus.BLOCKED.value, 0),
                 pages.get(PageStatus.LAYOUT_CHANGE.value, 0), pages.get("failed", 0),
                 pages.get(PageStatus.EMPTY.value, 0), json.dumps(dropped or {}, sort_keys=True), error,
                 crawl_id],
            )
        return self.crawl(crawl_id)

    def crawl(self, crawl_id: int) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM crawls WHERE id = ?", [crawl_id]))
        if not rows:
            raise StorageError(f"no crawl with id {crawl_id}")
        return rows[0]

    def page_statuses(self, crawl_id: int) -> dict[str, int]:
        return {row[0]: row[1] for row in self.db.execute(
            "SELECT status, COUNT(*) FROM pages WHERE crawl_id = ? GROUP BY status", [crawl_id])}

    def fail_abandoned_crawls(self, source: str | None = None, error: str = "crawl process ended early") -> int:
        """Mark crawls still 'running' (their process died) as failed."""
        sql = "UPDATE crawls SET status = 'failed', finished_at = ?, error = ? WHERE status = 'running'"
        params: list[Any] = [utcnow(), error]
        if source:
            sql += " AND source = ?"
            params.append(source)
        with self._transaction():
            cursor = self.db.execute(sql, params)
        return cursor.rowcount

    def api_calls_today(self, source: str) -> int:
        day = datetime.now(UTC).date().isoformat()
        row = self.db.execute("SELECT calls FROM api_usage WHERE day = ? AND source = ?", [day, source]).fetchone()
        return int(row[0]) if row else 0

    def add_api_calls(self, source: str, calls: int) -> None:
        day = datetime.now(UTC).date().isoformat()
        with self._transaction():
            self.db.execute(
                "INSERT INTO api_usage (day, source, calls) VALUES (?, ?, ?)"
                " ON CONFLICT(day, source) DO UPDATE SET calls = calls + excluded.calls",
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
        result = SaveResult()
        with self._transaction():
            if replace_page is not None:
                self.db.execute("DELETE FROM observations WHERE crawl_id = ? AND page_url = ?",
                                [crawl_id, replace_page])
            if not batch:
                return result
            rows = [listing_row(item) for item in batch]
            keys = [(item.raw.family or item.raw.source, r["item_id"], r["variation_id"] or "")
                    for item, r in zip(batch, rows, strict=True)]
            existing = self._listing_ids(keys)
            fresh = {key: row for key, row in zip(keys, rows, strict=True) if key not in existing}
            # New listings in one executemany; their ids are read back in one query.
            self.db.conn.executemany(
                f"INSERT INTO listings (family, item_id, variation_id, {', '.join(_LISTING_STATE)},"
                " first_seen_at, last_seen_at, first_crawl_id, last_crawl_id)"
                f" VALUES (?, ?, ?, {', '.join('?' for _ in _LISTING_STATE)}, ?, ?, ?, ?)",
                [[*key, *(_sql_value(c, row.get(c)) for c in _LISTING_STATE), row["observed_at"],
                  row["observed_at"], crawl_id, crawl_id] for key, row in fresh.items()])
            ids = {**existing, **(self._listing_ids(list(fresh)) if fresh else {})}
            result.new = len(fresh)
            updates = [[*(_sql_value(c, row.get(c)) for c in _LISTING_STATE), row["observed_at"], crawl_id, ids[key],
                        row["observed_at"]] for key, row in zip(keys, rows, strict=True) if key in existing]
            self.db.conn.executemany(
                f"UPDATE listings SET {', '.join(f'{c} = ?' for c in _LISTING_STATE)}, last_seen_at = ?,"
                " last_crawl_id = ? WHERE id = ? AND last_seen_at <= ?", updates)
            result.updated = len(updates)
            self.db.conn.executemany(
                f"INSERT INTO observations ({', '.join(_OBSERVATION_COLUMNS)})"
                f" VALUES ({', '.join('?' for _ in _OBSERVATION_COLUMNS)})",
                [self._observation_values(ids[key], crawl_id, row, item)
                 for key, row, item in zip(keys, rows, batch, strict=True)])
            result.observations = len(batch)
            if replace_page is None:
                self.db.execute(
                    "UPDATE crawls SET listings = listings + ?, listings_new = listings_new + ?,"
                    " listings_updated = listings_updated + ?, observations = observations + ? WHERE id = ?",
                    [len(batch), result.new, result.updated, result.observations, crawl_id])
        return result

    def _listing_ids(self, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
        found: dict[tuple[str, str, str], int] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 300):  # stay under SQLite's variable limit
            chunk = unique[start:start + 300]
            where = " OR ".join("(family = ? AND item_id = ? AND variation_id = ?)" for _ in chunk)
            params = [part for key in chunk for part in key]
            for row in self.db.execute(f"SELECT family, item_id, variation_id, id FROM listings WHERE {where}",
                                       params):
                found[(row[0], row[1], row[2])] = row[3]
        return found

    @staticmethod
    def _observation_values(listing_id: int, crawl_id: int, row: dict[str, Any],
                            item: NormalizedListing) -> list[Any]:
        raw = item.raw
        extras = {
            "listing_id": listing_id,
            "crawl_id": crawl_id,
            "page_url": raw.page_url,
            "price_value_raw": raw.price_value,
            "currency_value_raw": raw.currency_raw,
            "bin_price_text": raw.bin_price_text,
            "shipping_value_raw": raw.shipping_value,
            "sold_at_text": raw.sold_at_text,
            "extra": json.dumps(raw.extra, ensure_ascii=False, sort_keys=True) if raw.extra else None,
        }
        return [_sql_value(c, extras[c] if c in extras else row.get(c)) for c in _OBSERVATION_COLUMNS]

    # -- quarantine ----------------------------------------------------------------------
    def priced_rows(self, crawl_id: int | None = None) -> list[dict[str, Any]]:
        """Observations that can feed statistics: a SKU, a unit price, not excluded, working."""
        sql = ("SELECT id AS observation_id, listing_id, sku, unit_price_usd, quarantined, quarantine_reason,"
               " COALESCE(quarantine_reason LIKE 'seller %', 0) AS seller_reason FROM observations"
               " WHERE sku IS NOT NULL AND unit_price_usd IS NOT NULL AND excluded_reason IS NULL"
               " AND working = 1")
        params: list[Any] = []
        if crawl_id is not None:
            sql += " AND crawl_id = ?"
            params.append(crawl_id)
        return list(self.db.query(sql, params))

    def window_unit_prices(self, sku: str, since: str) -> list[float]:
        """Latest unit price of each listing of ``sku`` seen since ``since`` (one vote per listing)."""
        sql = ("SELECT CAST(unit_price_usd AS REAL) FROM observations WHERE id IN ("
               " SELECT MAX(id) FROM observations WHERE sku = ? AND observed_at >= ?"
               " AND unit_price_usd IS NOT NULL AND excluded_reason IS NULL AND working = 1"
               " AND COALESCE(quarantine_reason, '') NOT LIKE 'seller %' GROUP BY listing_id)")
        return [row[0] for row in self.db.execute(sql, [sku, since])]

    def set_quarantine(self, observation_id: int, listing_id: int, reason: str | None) -> None:
        flag = int(reason is not None)
        with self._transaction():
            self.db.execute("UPDATE observations SET quarantined = ?, quarantine_reason = ? WHERE id = ?",
                            [flag, reason, observation_id])
            # The listing mirrors its latest observation only.
            self.db.execute(
                "UPDATE listings SET quarantined = ?, quarantine_reason = ? WHERE id = ? AND NOT EXISTS"
                " (SELECT 1 FROM observations WHERE listing_id = ? AND id > ?)",
                [flag, reason, listing_id, listing_id, observation_id])

    # -- re-classification --------------------------------------------------------------
    def observations_for_reclassify(self) -> Any:
        """Every observation with what classification needs (its title, condition, prices, seller)."""
        return self.db.query(
            "SELECT o.id, o.listing_id, o.title, o.condition_raw, o.condition, o.price_usd, o.price_max,"
            " o.shipping_usd, o.best_offer_accepted, l.seller_feedback,"
            f" {', '.join('o.' + c for c in _CLASS_COLUMNS)}"
            " FROM observations o JOIN listings l ON l.id = o.listing_id ORDER BY o.id")

    def update_observation_classes(self, updates: list[tuple[int, dict[str, Any]]]) -> None:
        if not updates:
            return
        columns = list(updates[0][1])
        with self._transaction():
            self.db.conn.executemany(
                f"UPDATE observations SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                [[fields[c] for c in columns] + [obs_id] for obs_id, fields in updates])

    def sync_listing_classes(self) -> int:
        """Copy each listing's latest observation's classification onto the listing."""
        assignments = ", ".join(
            f"{c} = (SELECT o.{c} FROM observations o WHERE o.listing_id = listings.id ORDER BY o.id DESC LIMIT 1)"
            for c in _CLASS_COLUMNS)
        with self._transaction():
            cursor = self.db.execute(f"UPDATE listings SET {assignments}")
        return cursor.rowcount

    # -- alert rule state -----------------------------------------------------------------
    def alert_state(self, rule: str, key: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM alert_state WHERE rule = ? AND key = ?", [rule, key]))
        return rows[0] if rows else None

    def put_alert_state(self, rule: str, key: str, state: str, last_value: float | None,
                        last_fired_at: str | None) -> None:
        with self._transaction():
            self.db.execute(
                "INSERT INTO alert_state (rule, key, state, last_value, last_fired_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(rule, key) DO UPDATE SET state = excluded.state,"
                " last_value = excluded.last_value, last_fired_at = excluded.last_fired_at,"
                " updated_at = excluded.updated_at",
                [rule, key, state, last_value, last_fired_at, utcnow()])

    def recent_crawls(self, source: str, limit: int = 10, before_id: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM crawls WHERE source = ? AND status != 'running'"
        params: list[Any] = [source]
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        return list(self.db.query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]))

    def new_priced_listings(self, crawl_id: int, sku: str) -> list[dict[str, Any]]:
        """Listings of ``sku`` seen in a crawl, with their latest unit price and flags (asking side)."""
        return list(self.db.query(
            "SELECT l.id AS listing_id, l.item_id, l.title, l.url, l.sku, o.unit_price_usd, o.price, o.currency,"
            " o.quarantined, o.excluded_reason, o.working, o.sold, o.ended, o.condition, l.source, l.seller"
            " FROM observations o JOIN listings l ON l.id = o.listing_id"
            " WHERE o.crawl_id = ? AND o.sku = ? AND o.unit_price_usd IS NOT NULL", [crawl_id, sku]))

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
            where.append("excluded_reason IS NULL AND quarantined = 0 AND working = 1")
        sql = "SELECT * FROM listings" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY last_seen_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [decode_row(row) for row in self.db.query(sql, params)]

    def listing(self, listing_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM listings WHERE id = ?", [listing_id]))
        return decode_row(rows[0]) if rows else None

    def listing_observations(self, listing_id: int) -> list[dict[str, Any]]:
        """Every observation of one listing, oldest first, columns as ``export observations``."""
        return [decode_row(row) for row in self.db.query(
            "SELECT l.family, l.item_id, l.variation_id, o.* FROM observations o JOIN listings l ON l.id = o.listing_id"
            " WHERE o.listing_id = ? ORDER BY o.id", [listing_id])]

    def last_seen_at(self, sku: str | None = None) -> str | None:
        """The latest sighting of any listing (of ``sku``): how fresh the data is."""
        sql, params = ("SELECT MAX(last_seen_at) FROM listings WHERE sku = ?", [sku]) if sku is not None \
            else ("SELECT MAX(last_seen_at) FROM listings", [])
        row = self.db.execute(sql, params).fetchone()
        return str(row[0]) if row and row[0] else None

    def table_columns(self, table: str) -> list[str]:
        """Column names of a stored table, in order (the header of an empty answer)."""
        if table not in _READABLE_TABLES:
            raise ValueError(f"unknown table {table!r}")
        return [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]

    def alert_states(self) -> list[dict[str, Any]]:
        """Every rule × key state (armed, fired …) with its last value."""
        return list(self.db.query("SELECT * FROM alert_state ORDER BY rule, key"))

    # -- watch lists ----------------------------------------------------------------------
    def watches(self, source: str) -> list[str]:
        return [row[0] for row in self.db.execute(
            "SELECT target FROM watches WHERE source = ? ORDER BY id", [source])]

    def add_watch(self, source: str, target: str) -> bool:
        """Add a watched target; False when it was already watched."""
        with self._transaction():
            cursor = self.db.execute("INSERT OR IGNORE INTO watches (source, target, added_at) VALUES (?, ?, ?)",
                                     [source, target, utcnow()])
        return cursor.rowcount == 1

    def remove_watch(self, source: str, target: str) -> bool:
        with self._transaction():
            cursor = self.db.execute("DELETE FROM watches WHERE source = ? AND target = ?", [source, target])
        return cursor.rowcount == 1

    # -- daemon facts ---------------------------------------------------------------------
    def put_daemon_status(self, value: str) -> None:
        with self._transaction():
            self.db.execute("INSERT INTO meta (key, value, updated_at) VALUES ('daemon', ?, ?) ON CONFLICT(key)"
                            " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                            [value, utcnow()])

    def daemon_status(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'daemon'").fetchone()
        return str(row[0]) if row else None

    def last_crawls(self) -> list[dict[str, Any]]:
        """The latest crawl of each source."""
        return list(self.db.query(
            "SELECT * FROM crawls WHERE id IN (SELECT MAX(id) FROM crawls GROUP BY source) ORDER BY source"))

    # -- plumbing ------------------------------------------------------------------------
    def _transaction(self) -> _Transaction:
        return _Transaction(self.db.conn)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT; rolls back on any error and reports storage failures in one line."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write to the database: {exc}") from None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as error:
                self._rollback()
                raise StorageError(f"cannot write to the database: {error}") from None
        else:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"cannot write to the database: {exc}") from None

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some failures (SQLITE_FULL, SQLITE_IOERR): a second
        # ROLLBACK would raise and hide the real cause.
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
