"""Benchmark databases, built once and cached outside the repository.

A history database holds a synthetic market at a fixed daily volume (about 13,700 observations a
day, 1,712 open listings seen 8 times a day), so 1 M observations are 73 days and 10 M are 730 days:
what grows is history, not the day. The cache key is the schema version, the generator version and
the size; the materialized index is built once with the database. When only an older schema's database
of the same generator and size is cached, a copy of it is upgraded through the migrations (as a user's
database is) instead of regenerated: the observations are the same, the build takes an hour at 10 M.

    python -m bench.data 1000000 10000000     # build (or find) the cached databases
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE = Path(os.environ.get("GPUPRICES_BENCH_CACHE", "/work/benchcache"))
GENERATOR = 1  # bump when the synthetic market changes
DAILY_LISTINGS = 1712  # × 8 sightings ≈ 13,700 observations a day: 10 M in two years
SIGHTINGS = 8
TODAY = date(2026, 11, 1)
"""The synthetic market's last day: benchmarks run as if it were today."""


def schema_version() -> int:
    from gpuprices.storage.schema import MIGRATIONS

    return len(MIGRATIONS)


def history_days(total: int) -> int:
    return max(1, round(total / (DAILY_LISTINGS * SIGHTINGS)))


def history_db(total: int) -> Path:
    """The cached database of about ``total`` observations ending on :data:`TODAY`, index materialized."""
    from gpuprices.market.index import refresh_index
    from gpuprices.storage.sqlite import SqliteStore
    from tests.market_data import insert_observations, synthetic_market

    path = _cached(schema_version(), total)
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for stale in CACHE.glob(partial.name + "*"):
        stale.unlink()
    if _upgrade(total, partial):
        partial.rename(path)
        return path
    days = history_days(total)
    started = time.perf_counter()
    with SqliteStore(partial) as store:
        written = insert_observations(store, synthetic_market(start=TODAY - timedelta(days=days - 1), days=days,
                                                              listings_per_day=DAILY_LISTINGS,
                                                              sightings_per_day=SIGHTINGS))
        built = time.perf_counter()
        refresh_index(store)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    print(f"  (built {path.name}: {written:,} observations over {days} days in {built - started:.0f} s, "
          f"index materialized in {time.perf_counter() - built:.0f} s)", file=sys.stderr)
    return path


def _cached(version: int, total: int) -> Path:
    return CACHE / f"history-s{version}-g{GENERATOR}-{total}.db"


def _upgrade(total: int, partial: Path) -> bool:
    """Copy the newest older-schema database of this size to ``partial`` and migrate it; False if none."""
    import sqlite3

    from gpuprices.market.index import refresh_index
    from gpuprices.storage.sqlite import SqliteStore

    older = next((p for v in range(schema_version() - 1, 0, -1) if (p := _cached(v, total)).exists()), None)
    if older is None:
        return False
    started = time.perf_counter()
    source, target = sqlite3.connect(older), sqlite3.connect(partial)
    with target:
        source.backup(target)  # consistent even if the source has a WAL
    source.close()
    target.close()
    with SqliteStore(partial) as store:  # opening migrates
        refresh_index(store)  # days a migration marked dirty, if any
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    twin = older.with_suffix(".duckdb")
    if twin.exists():  # the same observations: no need to load them into DuckDB again
        shutil.copyfile(twin, partial.with_suffix(".duckdb"))
    print(f"  (upgraded {older.name} to schema {schema_version()} in {time.perf_counter() - started:.0f} s)",
          file=sys.stderr)
    return True


def duckdb_history(total: int) -> Path:
    """The same observations as a native DuckDB table (typed columns), built from :func:`history_db`."""
    import duckdb
    import pandas as pd

    from gpuprices.storage.sqlite import SqliteStore

    source = history_db(total)
    path = source.with_suffix(".duckdb")
    if path.exists():
        return path
    partial = path.with_suffix(".duckdb-partial")
    partial.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    con.execute("CREATE TABLE obs (listing_id BIGINT, observed_at TIMESTAMPTZ, sold BOOLEAN, ended BOOLEAN,"
                " best_offer_accepted BOOLEAN, sold_at DATE, sku VARCHAR, condition VARCHAR, unit_price_usd DOUBLE,"
                " working BOOLEAN, quarantined BOOLEAN, excluded_reason VARCHAR, seller VARCHAR)")
    with SqliteStore(source) as store:
        cursor = store.db.execute(
            "SELECT o.listing_id, o.observed_at, o.sold, o.ended, o.best_offer_accepted, o.sold_at, o.sku,"
            " o.condition, CAST(o.unit_price_usd AS REAL), o.working, o.quarantined, o.excluded_reason, l.seller"
            " FROM observations o JOIN listings l ON l.id = o.listing_id")
        columns = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(500_000):
            chunk = pd.DataFrame.from_records(rows, columns=columns)
            chunk["observed_at"] = pd.to_datetime(chunk["observed_at"], utc=True, format="ISO8601")
            chunk["sold_at"] = pd.to_datetime(chunk["sold_at"], format="ISO8601").dt.date
            for flag in ("sold", "ended", "best_offer_accepted", "working", "quarantined"):
                chunk[flag] = chunk[flag].astype(bool)
            con.register("chunk", chunk)
            con.execute("INSERT INTO obs SELECT * FROM chunk")
            con.unregister("chunk")
    con.close()
    partial.rename(path)
    return path


if __name__ == "__main__":
    for size in sys.argv[1:] or ["1000000", "10000000"]:
        print(history_db(int(size)))
        print(duckdb_history(int(size)))
