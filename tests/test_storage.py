"""Storage: migrations, WAL, one listing per (family, item id), append-only observations."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gpuprices.core.items import ListingType, PageReport, PageStatus, RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.exceptions import StorageError
from gpuprices.sources import family_of
from gpuprices.storage.schema import MIGRATIONS
from gpuprices.storage.sqlite import SqliteStore


def make_listing(item_id: str = "1234567890", *, source: str = "ebay", price: str = "100.00",
                 title: str = "NVIDIA H100 80GB PCIe", variation_id: str | None = None) -> NormalizedListing:
    raw = RawListing(source=source, family=family_of(source), site="ebay.com", item_id=item_id,
                     variation_id=variation_id, title=title,
                     price_text=f"${price}", listing_type=ListingType.BUY_IT_NOW,
                     observed_at=datetime(2026, 11, 20, 12, tzinfo=UTC))
    return NormalizedListing(raw=raw, price=Decimal(price), currency="USD", currency_raw="$",
                             price_usd=Decimal(price), usd_rate=Decimal(1), usd_rate_date=date(2026, 11, 20),
                             usd_rate_method="identity")


def test_schema_is_migrated_and_wal(fresh_db: SqliteStore) -> None:
    assert fresh_db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert fresh_db.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert {"crawls", "pages", "listings", "observations", "api_usage"} <= set(fresh_db.db.table_names())


def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        crawl = store.start_crawl("ebay")
        store.save_listings(crawl, [make_listing()])
    with SqliteStore(tmp_path / "a.db") as store:
        assert store.db["listings"].count == 1


def test_same_listing_from_api_and_page_is_one_listing(fresh_db: SqliteStore) -> None:
    assert family_of("ebay-api") == family_of("ebay") == "ebay"
    crawl = fresh_db.start_crawl("ebay")
    first = fresh_db.save_listings(crawl, [make_listing(source="ebay")])
    second = fresh_db.save_listings(crawl, [make_listing(source="ebay-api", price="90.00")])
    assert (first.new, second.new, second.updated) == (1, 0, 1)
    listing = list(fresh_db.db.query("SELECT * FROM listings"))
    assert len(listing) == 1 and listing[0]["price"] == "90.00" and listing[0]["source"] == "ebay-api"
    prices = [r["price"] for r in fresh_db.db.query("SELECT price FROM observations ORDER BY id")]
    assert prices == ["100.00", "90.00"]


def test_variations_are_kept_apart(fresh_db: SqliteStore) -> None:
    crawl = fresh_db.start_crawl("ebay-api")
    result = fresh_db.save_listings(crawl, [make_listing(variation_id="111"), make_listing(variation_id="222"),
                                            make_listing()])
    assert result.new == 3
    assert sorted(r["variation_id"] for r in fresh_db.db.query("SELECT variation_id FROM listings")) == [
        "", "111", "222"]


def test_money_is_stored_exactly(fresh_db: SqliteStore) -> None:
    crawl = fresh_db.start_crawl("ebay")
    fresh_db.save_listings(crawl, [make_listing(price="31999.46")])
    row = next(fresh_db.db.query("SELECT price, usd_rate, usd_rate_date FROM observations"))
    assert row == {"price": "31999.46", "usd_rate": "1", "usd_rate_date": "2026-11-20"}


def test_crawl_totals_and_pages(fresh_db: SqliteStore) -> None:
    crawl = fresh_db.start_crawl("ebay", ["h100"])
    fresh_db.record_page(crawl, PageReport(url="u1", status=PageStatus.OK, listings=2, cards=2))
    fresh_db.record_page(crawl, PageReport(url="u2", status=PageStatus.BLOCKED, reason="bot check"))
    fresh_db.save_listings(crawl, [make_listing("1"), make_listing("2")])
    row = fresh_db.finish_crawl(crawl, "partial", dropped={"unparseable_price": 1})
    assert (row["pages"], row["blocked_pages"], row["listings"], row["listings_new"]) == (2, 1, 2, 2)
    assert row["dropped"] == '{"unparseable_price": 1}'
    assert row["finished_at"] and row["status"] == "partial"


def test_abandoned_crawls_are_failed(fresh_db: SqliteStore) -> None:
    crawl = fresh_db.start_crawl("ebay")
    assert fresh_db.fail_abandoned_crawls() == 1
    assert fresh_db.crawl(crawl)["status"] == "failed"


def test_failed_batch_is_rolled_back(fresh_db: SqliteStore) -> None:
    crawl = fresh_db.start_crawl("ebay")
    broken = make_listing("9")
    broken.raw.item_id = None  # type: ignore[assignment]  # NOT NULL violation inside the batch
    with pytest.raises(StorageError):
        fresh_db.save_listings(crawl, [make_listing("8"), broken])
    assert fresh_db.db["listings"].count == 0
    assert fresh_db.db["observations"].count == 0


def test_unopenable_database_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="database folder does not exist"):
        SqliteStore(tmp_path / "missing" / "x.db")
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot open database"):
        SqliteStore(bad)


def test_api_usage_accumulates_per_day(fresh_db: SqliteStore) -> None:
    fresh_db.add_api_calls("ebay-api", 3)
    fresh_db.add_api_calls("ebay-api", 4)
    assert fresh_db.api_calls_today("ebay-api") == 7
    assert fresh_db.api_calls_today("other") == 0


def test_database_is_readable_while_another_connection_writes(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    with SqliteStore(path) as writer:
        crawl = writer.start_crawl("ebay")
        writer.db.execute("BEGIN IMMEDIATE")
        writer.db.execute("INSERT INTO pages (crawl_id, url, status) VALUES (?, 'u', 'ok')", [crawl])
        reader = sqlite3.connect(path)
        assert reader.execute("SELECT COUNT(*) FROM crawls").fetchone()[0] == 1  # WAL: readers not blocked
        reader.close()
        writer.db.execute("COMMIT")


def test_sqlite_store_implements_the_storage_interface() -> None:
    from gpuprices.storage.base import Store

    missing = [name for name in dir(Store) if not name.startswith("_") and not hasattr(SqliteStore, name)]
    assert missing == []
