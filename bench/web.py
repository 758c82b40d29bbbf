"""Dashboard speed: the overview and a SKU page against the store queries they need, same run, same database.

    python -m bench.web                      # 10 M observations (built once and cached)
    BENCH_WEB_ROWS=1000000 python -m bench.web
    BENCH_WEB_DB=/path/history.db python -m bench.web

RATIO = time of the page (a full HTTP request through the ASGI app: queries, statistics, deal
context, HTML) / time of the store reads that page makes, measured back to back. The goal is
RATIO ≤ 2: the page adds at most as much as its data costs. "Today" is the last day of the
synthetic market. :data:`BENCHMARKS` maps names to functions for ``bench/run.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SKU = "h100-80gb-pcie"
CACHE = Path(os.environ.get("GPUPRICES_BENCH_CACHE", Path(tempfile.gettempdir()) / "gpuprices-bench"))


def _median_time(func: Callable[[], object], repeat: int) -> float:
    func()  # warm-up: imports, page cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def database() -> Path:
    """``$BENCH_WEB_DB``, else a cached synthetic market of ``$BENCH_WEB_ROWS`` observations (10 M)."""
    given = os.environ.get("BENCH_WEB_DB")
    if given:
        return Path(given)
    total = int(os.environ.get("BENCH_WEB_ROWS", "10000000"))
    path = CACHE / f"web-history-{total}.db"
    if path.exists():
        return path
    from gpuprices.storage.sqlite import SqliteStore
    from tests.market_data import insert_observations, synthetic_market

    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    days, per_day = 730, 8
    with SqliteStore(partial) as store:
        insert_observations(store, synthetic_market(start=date(2024, 11, 2), days=days,
                                                    listings_per_day=max(1, total // (days * per_day))))
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    return path


def _setup() -> tuple[object, object, date, Path]:
    from starlette.testclient import TestClient

    from gpuprices.config import Settings
    from gpuprices.storage.sqlite import SqliteStore
    from gpuprices.web.app import create_app

    path = database()
    with SqliteStore(path) as store:
        last = store.last_seen_at()
    if last is None:
        sys.exit(f"{path} holds no listings")
    today = date.fromisoformat(last[:10])
    settings = Settings.model_validate({"storage": {"database": str(path)}})
    client = TestClient(create_app(settings, clock=lambda: today))
    return client, SqliteStore, today, path


def _page(client: object, url: str) -> Callable[[], None]:
    def get() -> None:
        response = client.get(url)  # type: ignore[attr-defined]
        assert response.status_code == 200, response.text[:200]

    return get


def bench_web_overview() -> str:
    """``/`` against the one read it needs: the counted observations of 60 days (the 30-day change)."""
    from gpuprices.market.index import load_observations

    client, store_class, today, path = _setup()
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))

    def queries() -> None:
        with store_class(path) as store:  # type: ignore[operator]
            load_observations(store, since=today - timedelta(days=59), until=today)

    page = _median_time(_page(client, "/"), repeat)
    reads = _median_time(queries, repeat)
    return f"web_overview: {page / reads:.2f}x (page {page:.3f} s, store reads {reads:.3f} s, {path.name})"


def bench_web_sku() -> str:
    """``/sku/…`` (90 days) against its reads: the SKU's index rows, the deal book, today's listings."""
    from gpuprices.market.deals import LOOKBACK_DAYS
    from gpuprices.market.index import load_observations

    client, store_class, today, path = _setup()
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))

    def queries() -> None:
        with store_class(path) as store:  # type: ignore[operator]
            load_observations(store, since=today - timedelta(days=89), until=today, sku=SKU)
            load_observations(store, since=today - timedelta(days=LOOKBACK_DAYS - 1), until=today, sku=SKU)
            last = store.last_seen_at(SKU)
            store.find_listings(sku=SKU, since=(last or "")[:10], include_excluded=True, limit=500)

    page = _median_time(_page(client, f"/sku/{SKU}?days=90"), repeat)
    reads = _median_time(queries, repeat)
    return f"web_sku: {page / reads:.2f}x (page {page:.3f} s, store reads {reads:.3f} s, {path.name})"


BENCHMARKS: dict[str, Callable[[], str]] = {"web_overview": bench_web_overview, "web_sku": bench_web_sku}


if __name__ == "__main__":
    names = sys.argv[1:] or list(BENCHMARKS)
    for name in names:
        print(BENCHMARKS[name](), flush=True)
