"""Observations for market tests and benchmarks, written straight into a fresh database.

``insert_observations`` takes short dicts (only what the index reads; everything else defaults to a
clean, counted row). ``synthetic_market`` yields a realistic stream: a few SKUs trending below list,
a pool of sellers, listings seen every three hours, sales with a date, and a share of rows that must
never count (excluded, quarantined, for parts, ended unsold, best offer accepted).

Benchmark database: ``python -m tests.market_data BENCH.db 10000000``.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from gpuprices.sources import family_of
from gpuprices.storage.sqlite import SqliteStore

DEFAULTS: dict[str, Any] = {
    "sku": "h100-80gb-pcie",
    "price": "25000",
    "observed_at": "2026-03-10T12:00:00+00:00",
    "seller": "seller-a",
    "condition": "used",
    "sold": 0,
    "ended": 0,
    "best_offer_accepted": 0,
    "sold_at": None,
    "working": 1,
    "quarantined": 0,
    "excluded_reason": None,
    "source": "ebay-api",
}
_OBS_SQL = (
    "INSERT INTO observations (listing_id, crawl_id, source, site, observed_at, title, price, currency, price_usd,"
    " unit_price_usd, condition, sold, ended, best_offer_accepted, sold_at, sku, working, quarantined,"
    " excluded_reason, gpu_count) VALUES (?, ?, ?, 'ebay.com', ?, 'NVIDIA GPU', ?, 'USD', ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?, ?, 1)"
)


def insert_observations(store: SqliteStore, rows: Iterable[dict[str, Any]], *, batch: int = 50_000) -> int:
    """Insert observations (and their listings, keyed by ``item_id``); returns how many were written.

    ``price`` is the per-GPU USD price (a decimal string, or ``None`` for "no unit price").
    """
    crawl_id = store.start_crawl("ebay-api")
    listing_ids: dict[str, int] = {
        r[0]: r[1] for r in store.db.execute("SELECT item_id, id FROM listings")
    }
    count = 0
    pending: list[tuple[Any, ...]] = []
    conn = store.db.conn

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany(_OBS_SQL, pending)
        conn.execute("COMMIT")
        pending.clear()

    for given in rows:
        row = {**DEFAULTS, **given}
        item_id = str(row["item_id"])
        listing_id = listing_ids.get(item_id)
        if listing_id is None:
            cursor = conn.execute(
                "INSERT INTO listings (family, item_id, variation_id, source, seller, sku, first_seen_at,"
                " last_seen_at) VALUES (?, ?, '', ?, ?, ?, ?, ?)",
                [family_of(row["source"]), item_id, row["source"], row["seller"], row["sku"],
                 row["observed_at"], row["observed_at"]],
            )
            listing_id = listing_ids[item_id] = int(cursor.lastrowid or 0)
        pending.append((listing_id, crawl_id, row["source"], row["observed_at"], row["price"], row["price"],
                        row["price"], row["condition"], row["sold"], row["ended"], row["best_offer_accepted"],
                        row["sold_at"], row["sku"], row["working"], row["quarantined"], row["excluded_reason"]))
        count += 1
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return count


# (sku, price level in USD at the start, daily drift) — used H100s far below their $36k list.
_MARKET = (
    ("h100-80gb-pcie", 22000.0, -0.0008),
    ("h100-80gb-sxm5", 26000.0, -0.0006),
    ("a100-80gb-pcie", 9000.0, -0.0005),
    ("a100-40gb-pcie", 5000.0, -0.0004),
    ("h200-141gb-sxm", 31000.0, -0.0003),
    ("l40s-48gb", 7000.0, -0.0002),
    ("v100-32gb-pcie", 800.0, -0.0004),
    ("mi300x-192gb", 15000.0, -0.0004),
)


def synthetic_market(*, start: date, days: int, listings_per_day: int = 200, sightings_per_day: int = 8,
                     seed: int = 7) -> Iterator[dict[str, Any]]:
    """Realistic observations, in time order, for ``days`` days from ``start``."""
    rng = random.Random(seed)
    sellers = [f"seller-{i}" for i in range(300)]
    next_item = 10**11
    open_items: list[dict[str, Any]] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        # Listings live ~2 weeks: replace the ones that ended so the open stock stays near the target.
        open_items = [item for item in open_items if item["until"] > offset]
        while len(open_items) < listings_per_day:
            sku, level, drift = rng.choice(_MARKET)
            price = level * (1 + drift) ** offset * rng.lognormvariate(0, 0.12)
            open_items.append({
                "item_id": str(next_item), "sku": sku, "seller": rng.choice(sellers),
                "price": f"{price:.2f}", "condition": rng.choices(
                    ["used", "new", "refurbished", "open_box", None, "for_parts"], [60, 15, 10, 5, 7, 3])[0],
                "until": offset + rng.randint(1, 28), "quarantined": int(rng.random() < 0.02),
                "excluded_reason": "accessory" if rng.random() < 0.03 else None,
            })
            next_item += 1
        for sighting in range(sightings_per_day):
            when = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=3 * sighting, minutes=7)
            observed_at = when.isoformat()
            for item in open_items:
                ending = item["until"] == offset + 1 and sighting == sightings_per_day - 1
                row = {k: item[k] for k in ("item_id", "sku", "seller", "price", "condition", "quarantined",
                                            "excluded_reason")}
                row["observed_at"] = observed_at
                if ending:  # last sighting: on the sold/completed page
                    outcome = rng.random()
                    row.update(sold=int(outcome < 0.6), ended=1, sold_at=day.isoformat(),
                               best_offer_accepted=int(0.5 < outcome < 0.6))
                yield row


def main(argv: list[str]) -> None:
    path, total = Path(argv[0]), int(argv[1]) if len(argv) > 1 else 10_000_000
    days = 365
    per_day = max(1, total // (days * 8))
    with SqliteStore(path) as store:
        written = insert_observations(store, synthetic_market(start=date(2025, 3, 1), days=days,
                                                              listings_per_day=per_day))
    print(f"{written} observations written to {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
