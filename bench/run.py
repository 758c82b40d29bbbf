"""Benchmarks: each prints ``NAME: RATIO x (details)``, RATIO = our time / a baseline's time for
the same work, both measured in this run (lower is better).

    python bench/run.py            # all benchmarks
    python bench/run.py parse      # one
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCHMARKS: dict[str, Callable[[], str]] = {}


def benchmark(func: Callable[[], str]) -> Callable[[], str]:
    BENCHMARKS[func.__name__.removeprefix("bench_")] = func
    return func


def corpus() -> Path:
    root = Path(os.environ.get("GPUPRICES_CORPUS", ROOT.parent / "shared" / "fixtures"))
    if not root.is_dir():
        sys.exit(f"corpus not found at {root}: set GPUPRICES_CORPUS")
    return root


def best_of(func: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` runs after one warm-up."""
    func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@benchmark
def bench_parse() -> str:
    """parse + normalize + classify of the corpus search pages vs bare parsel extraction of the same cards."""
    from datetime import UTC, datetime

    from parsel import Selector

    from gpuprices.pipeline.enrich import Enricher
    from gpuprices.pipeline.normalize import Normalizer
    from gpuprices.spiders.parsers.ebay_search import parse_search_page

    pages = sorted((corpus() / "ebay-search").glob("*.html")) + sorted((corpus() / "ebay-sold").glob("*.html"))
    blobs = [(p.read_bytes(), p.name) for p in pages]
    when = datetime(2026, 1, 20, tzinfo=UTC)
    normalizer, enricher = Normalizer(), Enricher.from_settings(None)
    counts = {"listings": 0}

    def ours() -> None:
        total = 0
        for blob, name in blobs:
            page = parse_search_page(blob, url=f"file:///{name}", site="ebay.com", observed_at=when)
            total += sum(1 for item in normalizer.normalize_all(page.listings) if enricher.enrich(item))
        counts["listings"] = total

    def bare() -> None:
        for blob, _ in blobs:
            sel = Selector(text=blob.decode("utf-8"))
            for card in sel.css("ul.srp-results > li.s-card, ul.srp-results > li.s-item"):
                (card.attrib.get("data-listingid"), card.css("a::attr(href)").get(),
                 card.css(".s-card__title, .s-item__title").xpath("string()").get(),
                 card.css(".s-card__price, .s-item__price").xpath("string()").getall(),
                 card.css(".s-card__attribute-row, .s-item__shipping").xpath("string()").getall(),
                 card.css(".s-card__subtitle, .s-item__subtitle").xpath("string()").getall())

    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    baseline = best_of(bare, repeat)
    mine = best_of(ours, repeat)
    seconds = mine
    return (f"{mine / baseline:.2f} x (ours {seconds * 1000:.0f} ms vs bare parsel {baseline * 1000:.0f} ms for "
            f"{len(blobs)} pages, {counts['listings']} listings: {len(blobs) / seconds:.1f} pages/s, "
            f"{counts['listings'] / seconds:.0f} listings/s; goal <= 1.5)")


def _register_modules() -> None:
    from bench import monitor, postgres, storage

    BENCHMARKS["daemon-memory"] = monitor.bench_daemon_memory
    BENCHMARKS["alert-latency"] = monitor.bench_alert_latency
    BENCHMARKS["ingest"] = storage.bench_ingest
    BENCHMARKS["analytics"] = storage.bench_analytics
    BENCHMARKS["pg-ingest"] = postgres.bench_pg_ingest
    BENCHMARKS["pg-analytics"] = postgres.bench_pg_analytics


def main(names: list[str]) -> int:
    _register_modules()
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names or list(BENCHMARKS):
        print(f"{name}: {BENCHMARKS[name]()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
