"""Database schema as numbered migrations (``PRAGMA user_version`` records the last one applied).

Money columns are TEXT holding exact decimal strings; analytics cast them when they need floats.
"""

from __future__ import annotations

from collections.abc import Callable

from gpuprices.storage.index import index_tables
from gpuprices.storage.sqlite_db import Database

# Columns shared by `listings` (latest state) and `observations` (every sighting).
_PRICE_COLUMNS: dict[str, type] = {
    "price": str,
    "price_max": str,
    "currency": str,
    "currency_raw": str,
    "price_usd": str,
    "price_max_usd": str,
    "usd_rate": str,
    "usd_rate_date": str,
    "usd_rate_method": str,
    "bin_price": str,
    "shipping": str,
    "shipping_currency": str,
    "shipping_usd": str,
    "shipping_estimated": int,
    "condition": str,
    "condition_raw": str,
    "listing_type": str,
    "buying_options": str,
    "bids": int,
    "sold": int,
    "ended": int,
    "best_offer_accepted": int,
    "sold_at": str,
}

_CLASS_COLUMNS: dict[str, type] = {
    "model": str,
    "sku": str,
    "memory_gb": int,
    "form_factor": str,
    "gpu_count": int,
    "working": int,
    "excluded_reason": str,
    "classification_note": str,
    "unit_price_usd": str,
    "unit_price_note": str,
    "quarantined": int,
    "quarantine_reason": str,
}


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

    db.table("listings").create(
        {
            "id": int,
            "family": str,
            "item_id": str,
            "variation_id": str,
            "source": str,
            "site": str,
            "url": str,
            "title": str,
            **_PRICE_COLUMNS,
            "seller": str,
            "seller_feedback": int,
            "location": str,
            "created_at": str,
            **_CLASS_COLUMNS,
            "first_seen_at": str,
            "last_seen_at": str,
            "first_crawl_id": int,
            "last_crawl_id": int,
        },
        pk="id",
        if_not_exists=True,
        not_null={"family", "item_id", "variation_id"},
        defaults={"variation_id": ""},
    )
    db.table("listings").create_index(["family", "item_id", "variation_id"], unique=True, if_not_exists=True)
    db.table("listings").create_index(["last_seen_at"], if_not_exists=True)
    db.table("listings").create_index(["sku"], if_not_exists=True)

    db.table("observations").create(
        {
            "id": int,
            "listing_id": int,
            "crawl_id": int,
            "source": str,
            "site": str,
            "observed_at": str,
            "query": str,
            "page_url": str,
            "title": str,
            "price_text": str,
            "price_value_raw": str,
            "currency_value_raw": str,
            "bin_price_text": str,
            "shipping_text": str,
            "shipping_value_raw": str,
            "sold_at_text": str,
            **_PRICE_COLUMNS,
            **_CLASS_COLUMNS,
            "extra": str,
        },
        pk="id",
        if_not_exists=True,
        foreign_keys=[("listing_id", "listings", "id"), ("crawl_id", "crawls", "id")],
    )
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
    for table in ("listings", "observations"):
        if "availability" not in db.table(table).columns_dict:
            db.table(table).add_column("availability", str)
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
