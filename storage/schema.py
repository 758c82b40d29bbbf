"""Database schema as numbered migrations (``PRAGMA user_version`` records the last one applied).

Money columns are TEXT holding exact decimal strings; analytics cast them when they need floats.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gpuprices.core.columns import TABLES, table_columns
from gpuprices.storage.index import index_tables

if TYPE_CHECKING:  # the database is given: importing sqlite-utils imports pandas (see SqliteStore.db)
    from sqlite_utils import Database

_TYPES: dict[str, type] = {"id": int, "text": str, "integer": int, "money": str, "day": str, "time": str,
                           "flag": int}
"""SQLite (sqlite-utils) type of each column kind: money and dates are exact text."""


def _create_declared(db: Database, table: str) -> None:
    """``listings`` or ``observations`` as first created: the declared columns of schema version 1."""
    columns = table_columns(table, until=1)
    db.table(table).create(
        {column.name: _TYPES[column.kind] for column in columns}, pk="id", if_not_exists=True,
        not_null={column.name for column in columns if column.not_null} or None,
        defaults={column.name: column.default for column in columns if column.default is not None} or None,
        foreign_keys=[(column.name, column.references, "id") for column in columns if column.references] or None)


def _add_declared(db: Database, version: int) -> None:
    """The declared columns a schema version added (a migration step)."""
    for table in TABLES:
        present = db.table(table).columns_dict
        for column in table_columns(table, since=version, until=version):
            if column.name not in present:
                db.table(table).add_column(column.name, _TYPES[column.kind])


def _v1_initial(db: Database) -> None:
    db.table("crawls").create(
        {
            "id": int,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "pages": int,
            "listings": int,
            "listings_new": int,
            "listings_updated": int,
            "observations": int,
            "blocked_pages": int,
            "layout_change_pages": int,
            "failed_pages": int,
            "empty_pages": int,
            "dropped": str,
            "error": str,
            "queries": str,
            "pid": int,
        },
        pk="id",
        if_not_exists=True,
        defaults={
            "status": "running",
            "pages": 0,
            "listings": 0,
            "listings_new": 0,
            "listings_updated": 0,
            "observations": 0,
            "blocked_pages": 0,
            "layout_change_pages": 0,
            "failed_pages": 0,
            "empty_pages": 0,
            "dropped": "{}",
        },
    )
    db.table("crawls").create_index(["source", "started_at"], if_not_exists=True)

    db.table("pages").create(
        {
            "id": int,
            "crawl_id": int,
            "url": str,
            "status": str,
            "http_status": int,
            "listings": int,
            "cards": int,
            "reason": str,
            "fetched_at": str,
        },
        pk="id",
        if_not_exists=True,
        foreign_keys=[("crawl_id", "crawls", "id")],
    )
    db.table("pages").create_index(["crawl_id"], if_not_exists=True)

    _create_declared(db, "listings")
    db.table("listings").create_index(["family", "item_id", "variation_id"], unique=True, if_not_exists=True)
    db.table("listings").create_index(["last_seen_at"], if_not_exists=True)
    db.table("listings").create_index(["sku"], if_not_exists=True)

    _create_declared(db, "observations")
    db.table("observations").create_index(["listing_id"], if_not_exists=True)
    db.table("observations").create_index(["crawl_id"], if_not_exists=True)
    db.table("observations").create_index(["observed_at"], if_not_exists=True)

    # Calls made to metered APIs per UTC day, so a daily budget holds across crawls.
    db.table("api_usage").create({"day": str, "source": str, "calls": int}, pk=("day", "source"), if_not_exists=True)


def _v2_alerts(db: Database) -> None:
    # Per rule × key (e.g. "h100-80gb-pcie|asking|all") state machine, so restarts neither repeat
    # nor forget alerts.
    db.table("alert_state").create(
        {"rule": str, "key": str, "state": str, "last_value": float, "last_fired_at": str, "updated_at": str},
        pk=("rule", "key"),
        if_not_exists=True,
    )
    # Every alert, written before anything is sent; dedupe_key makes firing idempotent.
    db.table("alerts").create(
        {"id": int, "rule": str, "kind": str, "key": str, "dedupe_key": str, "created_at": str, "title": str,
         "payload": str},
        pk="id",
        not_null={"dedupe_key"},
        if_not_exists=True,
    )
    db.table("alerts").create_index(["dedupe_key"], unique=True, if_not_exists=True)
    db.table("alerts").create_index(["created_at"], if_not_exists=True)
    # The outbox: one row per alert × channel; webhook_id stays the same on every retry.
    db.table("deliveries").create(
        {"id": int, "alert_id": int, "channel": str, "webhook_id": str, "status": str, "attempts": int,
         "next_attempt_at": str, "deadline_at": str, "last_error": str, "last_status": int, "created_at": str,
         "delivered_at": str},
        pk="id",
        foreign_keys=[("alert_id", "alerts", "id")],
        defaults={"status": "pending", "attempts": 0},
        if_not_exists=True,
    )
    db.table("deliveries").create_index(["webhook_id"], unique=True, if_not_exists=True)
    db.table("deliveries").create_index(["status", "next_attempt_at"], if_not_exists=True)
    # Small key-value facts, e.g. the daemon's heartbeat and next runs for `gpuprices status`.
    db.table("meta").create({"key": str, "value": str, "updated_at": str}, pk="key", if_not_exists=True)
    # Per-SKU lookups of the index and of new listings.
    db.table("observations").create_index(["sku", "observed_at"], if_not_exists=True)


def _v3_more_sources(db: Database) -> None:
    # Retailer pages say whether an offer is in stock; out of stock is a state, not a missing price.
    _add_declared(db, 3)
    # Watch lists added from the command line (`gpuprices watch add`), beside those in the config.
    db.table("watches").create({"id": int, "source": str, "target": str, "added_at": str}, pk="id",
                               not_null={"source", "target"}, if_not_exists=True)
    db.table("watches").create_index(["source", "target"], unique=True, if_not_exists=True)
    # Raw page archive: every fetched page, compressed, so parser fixes can repair history offline.
    db.table("raw_pages").create(
        {"id": int, "crawl_id": int, "source": str, "url": str, "fetched_at": str, "status": int,
         "content_type": str, "encoding": str, "size": int, "body": bytes, "meta": str},
        pk="id", if_not_exists=True)
    db.table("raw_pages").create_index(["source", "fetched_at"], if_not_exists=True)
    db.table("raw_pages").create_index(["crawl_id"], if_not_exists=True)


def _v4_rentals(db: Database) -> None:
    # Cloud rental prices, one row per offer × kind (on_demand / spot), USD per GPU-hour as exact
    # decimal text. Append-only like `observations`; the feed's own rows stay apart from eBay listings.
    db.table("rental_observations").create(
        {"id": int, "crawl_id": int, "observed_at": str, "provider": str, "sku": str, "accelerator_raw": str,
         "gpu_count": float, "region": str, "instance_type": str, "kind": str, "price_usd_per_gpu_hour": str,
         "instance_price_usd": str, "note": str, "feed": str, "feed_url": str, "dedupe_key": str},
        pk="id", not_null={"dedupe_key"}, foreign_keys=[("crawl_id", "crawls", "id")], if_not_exists=True)
    db.table("rental_observations").create_index(["sku", "observed_at"], if_not_exists=True)
    db.table("rental_observations").create_index(["crawl_id"], if_not_exists=True)
    # The tracker feed is a whole history re-read on every crawl: a snapshot already stored is
    # ignored (INSERT OR IGNORE on this key), so crawling twice never counts a price twice.
    db.table("rental_observations").create_index(["dedupe_key"], unique=True, if_not_exists=True)


def _v5_materialized_index(db: Database) -> None:
    # The daily index, stored per day and refreshed only for the days a write touched.
    index_tables(db)


def _v6_imports(db: Database) -> None:
    # What made a crawl: a spider run (`crawl`), the page archive (`replay`) or saved files (`import`).
    if "kind" not in db.table("crawls").columns_dict:
        db.table("crawls").add_column("kind", str, not_null_default="crawl")
    # Provenance of every imported file; the sha256 makes importing the same file twice a no-op.
    db.table("imported_files").create(
        {"id": int, "crawl_id": int, "name": str, "path": str, "sha256": str, "source": str, "captured_at": str,
         "captured_from": str, "status": str, "listings": int, "reason": str, "imported_at": str},
        pk="id", not_null={"sha256"}, foreign_keys=[("crawl_id", "crawls", "id")], if_not_exists=True)
    db.table("imported_files").create_index(["sha256"], unique=True, if_not_exists=True)


MIGRATIONS: list[Callable[[Database], None]] = [_v1_initial, _v2_alerts, _v3_more_sources, _v4_rentals,
                                                _v5_materialized_index, _v6_imports]
"""Applied in order; never edit a released migration, append a new one."""


def migrate(db: Database) -> int:
    """Bring the schema up to date; returns the version.

    Steps are idempotent (``IF NOT EXISTS``): sqlite-utils commits each statement itself, so a
    step interrupted half-way is simply completed on the next start. The version is bumped last.
    """
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        step(db)
        db.execute(f"PRAGMA user_version = {int(number)}")
    return len(MIGRATIONS)
