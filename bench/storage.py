"""Storage benchmarks: ingest through the storage layer, and the daily index over many observations."""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _listings(count: int) -> list[Any]:
    from gpuprices.core.items import ListingType, RawListing
    from gpuprices.core.listing import NormalizedListing

    now = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for index in range(count):
        price = Decimal(20000 + index % 9000)
        raw = RawListing(source="ebay-api", site="EBAY_US", item_id=str(10**11 + index),
                         title=f"NVIDIA H100 80GB PCIe GPU #{index}", price_value=str(price), currency_raw="USD",
                         listing_type=ListingType.BUY_IT_NOW, seller=f"seller{index % 97}", seller_feedback=900,
                         observed_at=now, page_url="https://api.ebay.com/buy/browse/v1/item_summary/search?q=h100",
                         query="h100")
        item = NormalizedListing(raw=raw, price=price, currency="USD", currency_raw="USD", price_usd=price,
                                 usd_rate=Decimal(1), usd_rate_date=now.date(), usd_rate_method="identity",
                                 shipping=Decimal(0), shipping_currency="USD", shipping_usd=Decimal(0),
                                 condition="used", model="H100", sku="h100-80gb-pcie", memory_gb=80,
                                 form_factor="pcie", gpu_count=1, working=True, classification_note="bench",
                                 unit_price_usd=price, unit_price_note="bench")
        items.append(item)
    return items


def bench_ingest() -> str:
    """N listings through ``SqliteStore.save_listings`` vs raw ``executemany`` of the same rows, one transaction."""
    from gpuprices.core.listing import listing_row
    from gpuprices.storage.sqlite import SqliteStore
    from gpuprices.storage.values import LISTING_STATE as _LISTING_STATE
    from gpuprices.storage.values import OBSERVATION_COLUMNS as _OBSERVATION_COLUMNS
    from gpuprices.storage.values import sql_value as _sql_value

    count = int(os.environ.get("BENCH_LISTINGS", "20000"))
    items = _listings(count)
    with tempfile.TemporaryDirectory() as folder:
        ours_db = SqliteStore(Path(folder) / "ours.db")
        crawl = ours_db.start_crawl("ebay-api")
        start = time.perf_counter()
        ours_db.save_listings(crawl, items)
        ours = time.perf_counter() - start
        ours_db.close()

        bare_db = SqliteStore(Path(folder) / "bare.db")  # same schema and pragmas
        crawl = bare_db.start_crawl("ebay-api")
        conn: sqlite3.Connection = bare_db.db.conn
        start = time.perf_counter()
        rows = [listing_row(item) for item in items]  # the same rows, already flat
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO listings (id, family, item_id, variation_id, {', '.join(_LISTING_STATE)}, first_seen_at,"
            f" last_seen_at, first_crawl_id, last_crawl_id) VALUES (?, ?, ?, ?,"
            f" {', '.join('?' for _ in _LISTING_STATE)}, ?, ?, ?, ?)",
            [[n + 1, "ebay", r["item_id"], "", *(_sql_value(c, r.get(c)) for c in _LISTING_STATE), r["observed_at"],
              r["observed_at"], crawl, crawl] for n, r in enumerate(rows)])
        extras = {"crawl_id": crawl, "page_url": None, "price_value_raw": None, "currency_value_raw": None,
                  "bin_price_text": None, "shipping_value_raw": None, "sold_at_text": None, "extra": None}
        conn.executemany(
            f"INSERT INTO observations ({', '.join(_OBSERVATION_COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in _OBSERVATION_COLUMNS)})",
            [[n + 1 if c == "listing_id" else _sql_value(c, extras[c] if c in extras else r.get(c))
              for c in _OBSERVATION_COLUMNS] for n, r in enumerate(rows)])
        conn.execute("COMMIT")
        bare = time.perf_counter() - start
        bare_db.close()
    return (f"{ours / bare:.2f} x (storage layer {ours * 1000:.0f} ms vs raw executemany {bare * 1000:.0f} ms for "
            f"{count} listings: {count / ours:,.0f} listings/s; goal <= 2)")


def bench_analytics() -> str:
    """The daily index (pandas) over generated observations vs the bare SQL aggregate of the same rows."""
    from gpuprices.market import compute_index
    from gpuprices.pipeline.classify import load_catalog
    from gpuprices.storage.sqlite import SqliteStore
    from tests.market_data import insert_observations, synthetic_market

    total = int(os.environ.get("BENCH_OBSERVATIONS", "10000000"))
    days = 730
    path = Path(os.environ.get("BENCH_ANALYTICS_DB", tempfile.gettempdir() + f"/gpuprices-bench-{total}.db"))
    today = date(2026, 11, 1)
    if not path.exists():  # built once, reused by later runs (it takes minutes at 10 million)
        built = time.perf_counter()
        with SqliteStore(path) as store:
            insert_observations(store, synthetic_market(start=date(2024, 11, 2), days=days,
                                                        listings_per_day=max(1, total // (days * 8))))
        print(f"  (built {path} in {time.perf_counter() - built:.0f} s)", file=sys.stderr)
    catalog = load_catalog()
    bare_sql = ("SELECT substr(observed_at, 1, 10) AS day, sku, sold, COUNT(*), MIN(CAST(unit_price_usd AS REAL)),"
                " AVG(CAST(unit_price_usd AS REAL)) FROM observations WHERE observed_at >= ? AND sku IS NOT NULL"
                " AND unit_price_usd IS NOT NULL AND excluded_reason IS NULL AND working = 1 AND quarantined = 0"
                " GROUP BY day, sku, sold")
    with SqliteStore(path) as store:
        rows = store.db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
        timings: dict[str, tuple[float, float, int]] = {}
        # What a monitor cycle computes (today's rows, the 7-day change, change windows: 15 days),
        # and a rebuild of the whole two-year history (export index, charts over years).
        for label, span in (("cycle", 15), ("history", days)):
            since = today - timedelta(days=span - 1)
            start = time.perf_counter()
            index = compute_index(store, catalog, days=span, today=today)
            ours = time.perf_counter() - start
            start = time.perf_counter()
            store.db.execute(bare_sql, [since.isoformat()]).fetchall()
            timings[label] = (ours, time.perf_counter() - start, len(index))
    cycle, history = timings["cycle"], timings["history"]
    return (f"{cycle[0] / cycle[1]:.2f} x (the daily index a monitor cycle computes, last 15 days, over {rows:,} "
            f"observations: {cycle[0]:.2f} s vs bare SQL GROUP BY {cycle[1]:.2f} s; rebuilding all {days} days: "
            f"{history[0]:.1f} s vs {history[1]:.1f} s = {history[0] / history[1]:.2f} x; goal < 2 s and <= 2)")
