"""Storage: migrations, WAL, one listing per (family, item id), append-only observations — on both backends."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gpuprices.core.items import ListingType, PageReport, PageStatus, RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.exceptions import StorageError
from gpuprices.sources import family_of
from gpuprices.storage.factory import open_store
from gpuprices.storage.schema import MIGRATIONS
from gpuprices.storage.sqlite import SqliteStore


@pytest.fixture
def fresh_db(store: Any) -> Any:
    """A fresh store of each backend (the ``store`` fixture of conftest.py)."""
    return store


def count(store: Any, table: str) -> int:
    return int(store.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])


def make_listing(item_id: str = "1234567890", *, source: str = "ebay", price: str = "100.00",
                 title: str = "NVIDIA H100 80GB PCIe", variation_id: str | None = None) -> NormalizedListing:
    raw = RawListing(source=source, family=family_of(source), site="ebay.com", item_id=item_id,
                     variation_id=variation_id, title=title,
                     price_text=f"${price}", listing_type=ListingType.BUY_IT_NOW,
                     observed_at=datetime(2026, 11, 20, 12, tzinfo=UTC))
    return NormalizedListing(raw=raw, price=Decimal(price), currency="USD", currency_raw="$",
                             price_usd=Decimal(price), usd_rate=Decimal(1), usd_rate_date=date(2026, 11, 20),
                             usd_rate_method="identity")


def test_schema_is_migrated_and_wal(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "test.db") as fresh:
        assert fresh.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert fresh.schema_version() == len(MIGRATIONS)
        assert {"crawls", "pages", "listings", "observations", "api_usage"} <= set(fresh.db.table_names())


def test_reopening_does_not_migrate_twice(database: str | Path) -> None:
    with open_store(database) as store:
        crawl = store.start_crawl("ebay")
        store.save_listings(crawl, [make_listing()])
        version = store.schema_version()
    with open_store(database) as store:
        assert count(store, "listings") == 1 and store.schema_version() == version


def test_same_listing_from_api_and_page_is_one_listing(fresh_db: Any) -> None:
    assert family_of("ebay-api") == family_of("ebay") == "ebay"
    crawl = fresh_db.start_crawl("ebay")
    first = fresh_db.save_listings(crawl, [make_listing(source="ebay")])
    second = fresh_db.save_listings(crawl, [make_listing(source="ebay-api", price="90.00")])
    assert (first.new, second.new, second.updated) == (1, 0, 1)
    listing = fresh_db.query("SELECT * FROM listings")
    assert len(listing) == 1 and listing[0]["price"] == "90.00" and listing[0]["source"] == "ebay-api"
    prices = [r["price"] for r in fresh_db.query("SELECT price FROM observations ORDER BY id")]
    assert prices == ["100.00", "90.00"]


def test_variations_are_kept_apart(fresh_db: Any) -> None:
    crawl = fresh_db.start_crawl("ebay-api")
    result = fresh_db.save_listings(crawl, [make_listing(variation_id="111"), make_listing(variation_id="222"),
                                            make_listing()])
    assert result.new == 3
    assert sorted(r["variation_id"] for r in fresh_db.query("SELECT variation_id FROM listings")) == [
        "", "111", "222"]


def test_money_is_stored_exactly(fresh_db: Any) -> None:
    crawl = fresh_db.start_crawl("ebay")
    fresh_db.save_listings(crawl, [make_listing(price="31999.46")])
    row = fresh_db.query("SELECT price, usd_rate, usd_rate_date FROM observations")[0]
    assert row == {"price": "31999.46", "usd_rate": "1", "usd_rate_date": "2026-11-20"}


def test_crawl_totals_and_pages(fresh_db: Any) -> None:
    crawl = fresh_db.start_crawl("ebay", ["h100"])
    fresh_db.record_page(crawl, PageReport(url="u1", status=PageStatus.OK, listings=2, cards=2))
    fresh_db.record_page(crawl, PageReport(url="u2", status=PageStatus.BLOCKED, reason="bot check"))
    fresh_db.save_listings(crawl, [make_listing("1"), make_listing("2")])
    row = fresh_db.finish_crawl(crawl, "partial", dropped={"unparseable_price": 1})
    assert (row["pages"], row["blocked_pages"], row["listings"], row["listings_new"]) == (2, 1, 2, 2)
    assert row["dropped"] == '{"unparseable_price": 1}'
    assert row["finished_at"] and row["status"] == "partial"


def test_abandoned_crawls_are_failed(fresh_db: Any) -> None:
    crawl = fresh_db.start_crawl("ebay")
    assert fresh_db.fail_abandoned_crawls() == 1
    assert fresh_db.crawl(crawl)["status"] == "failed"


def test_failed_batch_is_rolled_back(fresh_db: Any) -> None:
    crawl = fresh_db.start_crawl("ebay")
    broken = make_listing("9")
    broken.raw.item_id = None  # type: ignore[assignment]  # NOT NULL violation inside the batch
    with pytest.raises(StorageError):
        fresh_db.save_listings(crawl, [make_listing("8"), broken])
    assert count(fresh_db, "listings") == 0
    assert count(fresh_db, "observations") == 0


def test_unopenable_database_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="database folder does not exist"):
        SqliteStore(tmp_path / "missing" / "x.db")
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot open database"):
        SqliteStore(bad)


def test_api_usage_accumulates_per_day(fresh_db: Any) -> None:
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


def test_both_stores_implement_the_storage_interface() -> None:
    from gpuprices.storage.base import Store
    from gpuprices.storage.postgres import PostgresStore

    for backend in (SqliteStore, PostgresStore):
        missing = [name for name in dir(Store) if not name.startswith("_") and not hasattr(backend, name)]
        assert missing == [], backend


def test_postgres_types_are_native(postgres: Any) -> None:
    with open_store(postgres.new_database()) as pg:
        types = {(r["table_name"], r["column_name"]): r["data_type"] for r in pg.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public'")}
    assert types[("observations", "price")] == "numeric"
    assert types[("observations", "unit_price_usd")] == "numeric"
    assert types[("observations", "observed_at")] == "timestamp with time zone"
    assert types[("observations", "sold_at")] == "date"
    assert types[("deliveries", "next_attempt_at")] == "timestamp with time zone"


def test_postgres_connection_error_is_one_line_without_the_password(postgres: Any) -> None:
    from tests.postgres_server import free_port

    url = f"postgresql://someone:hunter2secret@127.0.0.1:{free_port()}/prices"
    with pytest.raises(StorageError) as caught:
        open_store(url)
    message = str(caught.value)
    assert "\n" not in message and "hunter2secret" not in message
    assert "127.0.0.1" in message and "/prices" in message


def test_two_writers_saving_the_same_listings_at_once_make_one_listing_each(postgres: Any) -> None:
    import threading

    url = postgres.new_database()
    stores = [open_store(url), open_store(url)]
    crawls = [s.start_crawl("ebay") for s in stores]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def save(index: int) -> None:
        barrier.wait()
        try:
            for n in range(20):
                stores[index].save_listings(crawls[index], [make_listing(str(i)) for i in range(n, n + 10)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert count(stores[0], "listings") == 29 and count(stores[0], "observations") == 400
    totals = [stores[0].crawl(c) for c in crawls]
    assert sum(t["listings_new"] for t in totals) == 29
    for s in stores:
        s.close()
