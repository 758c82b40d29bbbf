"""History benchmarks on the cached databases (bench.data): the index, a monitor cycle, growth, charts, export.

Sizes: ``BENCH_LARGE`` (default 10 M observations, 730 days) and ``BENCH_SMALL`` (1 M, 73 days), the
same daily volume.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.data import TODAY, duckdb_history, history_days, history_db
from bench.timing import Result, Timing, alternate

ROOT = Path(__file__).resolve().parent.parent
LARGE = int(os.environ.get("BENCH_LARGE", "10000000"))
SMALL = int(os.environ.get("BENCH_SMALL", "1000000"))
CYCLE_DAYS = 15  # what a monitor cycle reads: today, the 7-day change (≤ 14 days back)

# The same statistics as the index (which rows count, one per listing × side × day at its latest
# sighting, sales on their sale day or — undated — on the day first seen), from a native DuckDB table.
DUCKDB_INDEX = """
WITH counted AS (
    SELECT listing_id, sold, seller, sku, unit_price_usd, observed_at,
           CASE WHEN condition IN ('new', 'open_box') THEN 'new' ELSE 'used' END AS grp,
           CASE WHEN NOT sold THEN CAST(timezone('UTC', observed_at) AS DATE) ELSE sold_at END AS day
    FROM obs
    WHERE sku IS NOT NULL AND sku != '' AND unit_price_usd IS NOT NULL AND excluded_reason IS NULL AND working
      AND NOT quarantined AND (condition IS NULL OR condition != 'for_parts')
      AND ((sold AND NOT best_offer_accepted) OR (NOT sold AND NOT ended))
), picked AS (
    SELECT listing_id, sold,
           COALESCE(day, min(CAST(timezone('UTC', observed_at) AS DATE))) AS day,
           CASE WHEN day IS NULL THEN arg_min(unit_price_usd, observed_at)
                ELSE arg_max(unit_price_usd, observed_at) END AS price,
           CASE WHEN day IS NULL THEN arg_min(grp, observed_at) ELSE arg_max(grp, observed_at) END AS grp,
           any_value(sku) AS sku, any_value(seller) AS seller
    FROM counted GROUP BY listing_id, sold, day
)
SELECT day, sku, sold, COALESCE(grp, 'all') AS condition_group, count(*) AS n, count(DISTINCT seller) AS sellers,
       quantile_cont(price, 0.5), quantile_cont(price, 0.25), quantile_cont(price, 0.75), min(price)
FROM picked WHERE day BETWEEN ? AND ?
GROUP BY GROUPING SETS ((day, sku, sold, grp), (day, sku, sold))
"""
BARE_WINDOW = ("SELECT substr(observed_at, 1, 10) AS day, sku, sold, COUNT(*), MIN(CAST(unit_price_usd AS REAL)),"
               " AVG(CAST(unit_price_usd AS REAL)) FROM observations WHERE observed_at >= ? AND sku IS NOT NULL"
               " AND unit_price_usd IS NOT NULL AND excluded_reason IS NULL AND working = 1 AND quarantined = 0"
               " GROUP BY day, sku, sold")


def bench_history() -> Result:
    """The index over the whole history at LARGE observations vs DuckDB computing it from a native table."""
    import duckdb

    from gpuprices.market.index import compute_index
    from gpuprices.pipeline.classify import load_catalog
    from gpuprices.storage.sqlite import SqliteStore

    days = history_days(LARGE)
    path, native = history_db(LARGE), duckdb_history(LARGE)
    catalog = load_catalog()
    first = TODAY - timedelta(days=days - 1)
    con = duckdb.connect(str(native), read_only=True)
    con.execute("SET enable_progress_bar = false")
    with SqliteStore(path) as store:
        rows = {"ours": 0, "duckdb": 0}

        def ours() -> None:
            rows["ours"] = len(compute_index(store, catalog, days=days, today=TODAY))

        def duck() -> None:
            rows["duckdb"] = len(con.execute(DUCKDB_INDEX, [first, TODAY]).fetchall())

        mine, base = alternate(ours, duck)
    con.close()
    return Result(mine.median / base.median, 1.0,
                  f"whole {days}-day index over {LARGE:,} observations from the materialized rows {mine} vs DuckDB "
                  f"GROUP BY on a native table {base}; {rows['ours']:,} vs {rows['duckdb']:,} rows")


@functools.cache  # cycle and cycle-growth share the large database's figures
def _cycle(path: Path) -> tuple[Timing, Timing]:
    """A monitor cycle's index after a crawl wrote today's rows (today marked dirty), vs bare SQL."""
    from gpuprices.market.index import compute_index
    from gpuprices.pipeline.classify import load_catalog
    from gpuprices.storage.sqlite import SqliteStore

    catalog = load_catalog()
    since = (TODAY - timedelta(days=CYCLE_DAYS - 1)).isoformat()
    with SqliteStore(path) as store:
        def ours() -> None:
            store.mark_index_dirty([TODAY])  # what a crawl's save does: today's rows are stale
            compute_index(store, catalog, days=CYCLE_DAYS, today=TODAY)

        return alternate(ours, lambda: store.db.execute(BARE_WINDOW, [since]).fetchall())


def bench_cycle() -> Result:
    mine, base = _cycle(history_db(LARGE))
    return Result(mine.median / base.median, 1.5,
                  f"a monitor cycle's {CYCLE_DAYS}-day index at {LARGE:,} observations, today refreshed: {mine} vs "
                  f"the bare SQL aggregate of the window {base}")


def bench_cycle_growth() -> Result:
    large, _ = _cycle(history_db(LARGE))
    small, _ = _cycle(history_db(SMALL))
    return Result(large.median / small.median, 1.2,
                  f"the same cycle at {LARGE:,} observations ({history_days(LARGE)} days) {large} vs at {SMALL:,} "
                  f"({history_days(SMALL)} days) {small}, same daily volume")


# The child's own peak (VmHWM of its address space). The rusage of a waited-for child would not do: a
# child forked or vforked from this process counts this process's memory before its exec.
_PEAK_RSS = ("import runpy, sys\n"
             "try:\n"
             "    runpy.run_module('gpuprices', run_name='__main__', alter_sys=True)\n"
             "finally:\n"
             "    print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM:')),"
             " file=sys.stderr)\n")


def _chart_rss(path: Path, folder: Path) -> int:
    config = folder / f"{path.stem}.toml"
    config.write_text(f'[storage]\ndatabase = "{path}"\n', encoding="utf-8")
    child = subprocess.run([sys.executable, "-c", _PEAK_RSS, "--config", str(config), "chart", "--sku",
                            "h100-80gb-pcie", "--days", "730", "-o", str(folder / "chart.png")],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [line for line in child.stderr.splitlines() if line.startswith("VmHWM:")]
    if child.returncode != 0 or not peak:
        raise SystemExit(f"chart failed: {child.stderr}")
    return int(peak[-1].split()[1]) * 1024  # kB


def bench_chart_rss() -> Result:
    """Peak RSS of ``gpuprices chart`` over two years at LARGE vs at SMALL observations (median of runs)."""
    import statistics

    with tempfile.TemporaryDirectory() as folder:
        peaks: dict[int, list[int]] = {LARGE: [], SMALL: []}
        for size in (LARGE, SMALL):
            _chart_rss(history_db(size), Path(folder))  # warm-up
        for _ in range(5):
            for size in (LARGE, SMALL):
                peaks[size].append(_chart_rss(history_db(size), Path(folder)))
    large, small = statistics.median(peaks[LARGE]), statistics.median(peaks[SMALL])
    return Result(large / small, 1.1, f"peak RSS of `gpuprices chart --days 730`: {large / 2**20:.0f} MiB at "
                                      f"{LARGE:,} observations vs {small / 2**20:.0f} MiB at {SMALL:,}")


def bench_export() -> Result:
    """``gpuprices export observations`` (whole process, CSV file) vs ``sqlite3 -csv`` of the same query."""
    sqlite3_cli = shutil.which("sqlite3")
    if sqlite3_cli is None:
        raise SystemExit("export benchmark needs the sqlite3 command (apt-get install sqlite3)")
    path = history_db(SMALL)
    since = (TODAY - timedelta(days=int(os.environ.get("BENCH_EXPORT_DAYS", "36")) - 1)).isoformat()
    sql = ("SELECT l.family, l.item_id, l.variation_id, o.* FROM observations o JOIN listings l ON l.id = o.listing_id"
           f" WHERE o.observed_at >= '{since}' ORDER BY o.id")
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "export.toml"
        config.write_text(f'[storage]\ndatabase = "{path}"\n', encoding="utf-8")
        ours_out, base_out = Path(folder) / "ours.csv", Path(folder) / "base.csv"

        def ours() -> None:
            subprocess.run([sys.executable, "-m", "gpuprices", "--config", str(config), "export", "observations",
                            "--since", since, "-o", str(ours_out)], cwd=ROOT, check=True, capture_output=True)

        def base() -> None:
            with open(base_out, "wb") as handle:
                subprocess.run([sqlite3_cli, "-csv", "-header", str(path), sql], stdout=handle, check=True)

        mine, baseline = alternate(ours, base)
        lines = ours_out.read_bytes().count(b"\n") - 1
    return Result(mine.median / baseline.median, 2.0,
                  f"{lines:,} observation rows to a CSV file: {mine} vs sqlite3 -csv {baseline}; "
                  f"{mine.median / max(lines, 1) * 1e6:.1f} µs per row, whole process")


def bench_rebuild() -> Result:
    """Rebuilding the materialized index of every day at SMALL observations vs DuckDB over the same days."""
    import duckdb

    from gpuprices.market.index import refresh_index
    from gpuprices.storage.sqlite import SqliteStore

    days = history_days(SMALL)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "rebuild.db"
        shutil.copyfile(history_db(SMALL), copy)
        con = duckdb.connect(str(duckdb_history(SMALL)), read_only=True)
        con.execute("SET enable_progress_bar = false")
        first = TODAY - timedelta(days=days - 1)
        with SqliteStore(copy) as store:
            def ours() -> None:
                store.mark_index_dirty(None)
                refresh_index(store)

            mine, base = alternate(ours, lambda: con.execute(DUCKDB_INDEX, [first, TODAY]).fetchall(), repeat=5)
        con.close()
    return Result(mine.median / base.median, None,
                  f"recomputing all {days} days from {SMALL:,} observations (a reclassify) {mine} vs DuckDB {base}")
