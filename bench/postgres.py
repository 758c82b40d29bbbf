"""PostgreSQL benchmarks: ingest through the store vs a bare ``COPY`` of the same rows; the daily index a
cycle computes and a full rebuild on PostgreSQL vs the SQLite store, over the same generated market.

A server: ``BENCH_POSTGRES_URL`` (an empty database you own), else a throwaway cluster from the machine's
``initdb``/``pg_ctl`` (as in the tests). Sizes: ``BENCH_LISTINGS`` (ingest, default 20,000) and
``BENCH_PG_OBSERVATIONS`` (analytics, default 2,000,000; the README's runs state theirs).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@contextmanager
def _server() -> Iterator[Any]:
    """Yields a function returning the URL of a new empty database."""
    import psycopg

    given = os.environ.get("BENCH_POSTGRES_URL")
    if given:
        counter = iter(range(1, 10**6))

        def fresh_given() -> str:
            name = f"bench_{os.getpid()}_{next(counter)}"
            with psycopg.connect(given, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            return given.rsplit("/", 1)[0] + f"/{name}"

        yield fresh_given
        return
    from tests.postgres_server import PostgresCluster, find_binaries

    binaries = find_binaries()
    if binaries is None:
        sys.exit("no PostgreSQL: set BENCH_POSTGRES_URL or install the postgresql package")
    cluster = PostgresCluster(binaries)
    cluster.start()
    try:
        yield cluster.new_database
    finally:
        cluster.stop()


def bench_pg_ingest() -> str:
    """N listings through ``PostgresStore.save_listings`` vs a bare ``COPY`` of the same rows."""
    from bench.pipeline import _items
    from gpuprices.core.listing import stored_values
    from gpuprices.storage.postgres import PostgresStore
    from gpuprices.storage.values import LISTING_STATE, OBSERVATION_COLUMNS, sql_value

    count = int(os.environ.get("BENCH_LISTINGS", "20000"))
    items = _items(count, 0, [])  # all new listings
    with _server() as new_database:
        with PostgresStore(new_database()) as ours_db:
            crawl = ours_db.start_crawl("ebay-api")
            start = time.perf_counter()
            ours_db.save_listings(crawl, items)
            ours = time.perf_counter() - start
        with PostgresStore(new_database()) as bare_db:  # same schema, indexes and session settings
            crawl = bare_db.start_crawl("ebay-api")
            start = time.perf_counter()
            rows = [stored_values(item) for item in items]
            listing_columns = ["id", "family", "item_id", "variation_id", *LISTING_STATE, "first_seen_at",
                               "last_seen_at", "first_crawl_id", "last_crawl_id"]
            with bare_db.conn.transaction():
                bare_db._copy_rows("listings", listing_columns, [
                    [n + 1, "ebay", r["item_id"], "", *(sql_value(c, r.get(c)) for c in LISTING_STATE),
                     r["observed_at"], r["observed_at"], crawl, crawl] for n, r in enumerate(rows)])
                bare_db._copy_rows("observations", list(OBSERVATION_COLUMNS), [
                    [sql_value(c, values[c]) for c in OBSERVATION_COLUMNS]
                    for values in ({**r, "listing_id": n + 1, "crawl_id": crawl} for n, r in enumerate(rows))])
            bare = time.perf_counter() - start
    return (f"{ours / bare:.2f} x (PostgresStore.save_listings {ours * 1000:.0f} ms vs bare COPY {bare * 1000:.0f} ms "
            f"for {count} listings: {count / ours:,.0f} listings/s; goal <= 2)")


def _fill_postgres(store: Any, rows: Iterator[dict[str, Any]], batch: int = 100_000) -> int:
    """The rows of tests.market_data.synthetic_market, with COPY (the test helper inserts row by row)."""
    from tests.market_data import DEFAULTS

    crawl = store.start_crawl("ebay-api")
    columns = ["listing_id", "crawl_id", "source", "site", "observed_at", "title", "price", "currency", "price_usd",
               "unit_price_usd", "condition", "sold", "ended", "best_offer_accepted", "sold_at", "sku", "working",
               "quarantined", "excluded_reason", "gpu_count"]
    listing_ids: dict[str, int] = {}
    new_listings: list[list[Any]] = []
    pending: list[list[Any]] = []
    total = 0

    def flush() -> None:
        with store.conn.transaction():
            store._copy_rows("listings", ["id", "family", "item_id", "variation_id", "source", "seller", "sku",
                                          "first_seen_at", "last_seen_at"], new_listings)
            store._copy_rows("observations", columns, pending)
        new_listings.clear()
        pending.clear()

    for given in rows:
        row = {**DEFAULTS, **given}
        item = str(row["item_id"])
        if item not in listing_ids:
            listing_ids[item] = len(listing_ids) + 1
            new_listings.append([listing_ids[item], "ebay", item, "", row["source"], row["seller"], row["sku"],
                                 row["observed_at"], row["observed_at"]])
        pending.append([listing_ids[item], crawl, row["source"], "ebay.com", row["observed_at"], "NVIDIA GPU",
                        row["price"], "USD", row["price"], row["price"], row["condition"], row["sold"], row["ended"],
                        row["best_offer_accepted"], row["sold_at"], row["sku"], row["working"], row["quarantined"],
                        row["excluded_reason"], 1])
        total += 1
        if len(pending) >= batch:
            flush()
    flush()
    store._after_copy("listings")
    store._execute("ANALYZE")
    return total


def bench_pg_analytics() -> str:
    """The cycle's index (15 days) and a rebuild of every day (materialized index): PostgreSQL vs SQLite."""
    from gpuprices.market import compute_index, refresh_index
    from gpuprices.pipeline.classify import load_catalog
    from gpuprices.storage.postgres import PostgresStore
    from gpuprices.storage.sqlite import SqliteStore
    from tests.market_data import insert_observations, synthetic_market

    total = int(os.environ.get("BENCH_PG_OBSERVATIONS", "2000000"))
    days = 730
    today = date(2026, 11, 1)

    def market() -> Iterator[dict[str, Any]]:
        return synthetic_market(start=date(2024, 11, 2), days=days, listings_per_day=max(1, total // (days * 8)))

    catalog = load_catalog()
    path = Path(os.environ.get("BENCH_ANALYTICS_DB", tempfile.gettempdir() + f"/gpuprices-bench-{total}.db"))
    if not path.exists():  # the same file bench/storage.py builds and reuses
        with SqliteStore(path) as lite:
            insert_observations(lite, market())
    timings: dict[str, dict[str, float]] = {"sqlite": {}, "postgresql": {}}
    with _server() as new_database:
        url = new_database()
        with PostgresStore(url) as pg:
            built = time.perf_counter()
            rows = _fill_postgres(pg, market())
            load = time.perf_counter() - built
        for name, opener in (("sqlite", lambda: SqliteStore(path)), ("postgresql", lambda: PostgresStore(url))):
            with opener() as store:
                store.mark_index_dirty()  # a rebuild of every day (the PostgreSQL rows were COPYed unmarked)
                start = time.perf_counter()
                refresh_index(store)
                timings[name]["history"] = time.perf_counter() - start
                compute_index(store, catalog, days=3, today=today)  # warm caches and the connection
                start = time.perf_counter()
                compute_index(store, catalog, days=15, today=today)
                timings[name]["cycle"] = time.perf_counter() - start
    lite_t, pg_t = timings["sqlite"], timings["postgresql"]
    return (f"{pg_t['cycle'] / lite_t['cycle']:.2f} x (PostgreSQL / SQLite, the cycle's 15-day index over {rows:,} "
            f"observations: {pg_t['cycle']:.2f} s vs {lite_t['cycle']:.2f} s; rebuilding all {days} days: "
            f"{pg_t['history']:.1f} s vs {lite_t['history']:.1f} s = {pg_t['history'] / lite_t['history']:.2f} x; "
            f"COPY load {rows / load:,.0f} rows/s)")


