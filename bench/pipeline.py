"""Pipeline benchmarks: parsing (vs precompiled lxml), whole-process parse (vs a minimal click CLI), ingest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.data import history_db
from bench.lxml_cards import CARDS
from bench.timing import Result, alternate, measure

ROOT = Path(__file__).resolve().parent.parent

# A minimal click CLI doing the bare work: parsel, the same six fields per card, one JSON line each.
BARE_CLI = f'''
import json, sys
import click
from parsel import Selector

@click.command()
@click.argument("files", nargs=-1)
def main(files):
    for name in files:
        sel = Selector(text=open(name, encoding="utf-8").read())
        for card in sel.css("{CARDS}"):
            print(json.dumps({{"id": card.attrib.get("data-listingid"), "url": card.css("a::attr(href)").get(),
                "title": card.css(".s-card__title, .s-item__title").xpath("string()").get(),
                "price": card.css(".s-card__price, .s-item__price").xpath("string()").getall(),
                "rows": card.css(".s-card__attribute-row, .s-item__shipping").xpath("string()").getall(),
                "sub": card.css(".s-card__subtitle, .s-item__subtitle").xpath("string()").getall()}}))

main()
'''


def corpus() -> Path:
    root = Path(os.environ.get("GPUPRICES_CORPUS", ROOT.parent / "shared" / "fixtures"))
    if not root.is_dir():
        raise SystemExit(f"corpus not found at {root}: set GPUPRICES_CORPUS")
    return root


def search_pages() -> list[Path]:
    return sorted((corpus() / "ebay-search").glob("*.html")) + sorted((corpus() / "ebay-sold").glob("*.html"))


def bench_parse() -> Result:
    """parse + normalize + classify of the corpus search pages vs precompiled lxml extraction of the same cards."""
    import lxml.html

    from bench.lxml_cards import card_fields, cards
    from gpuprices.pipeline.enrich import Enricher
    from gpuprices.pipeline.normalize import Normalizer
    from gpuprices.spiders.parsers.ebay_search import parse_search_page

    blobs = [(p.read_bytes(), p.name) for p in search_pages()]
    when = datetime(2026, 1, 20, tzinfo=UTC)
    normalizer, enricher = Normalizer(), Enricher.from_settings(None)
    counts = {"listings": 0, "cards": 0}

    def ours() -> None:
        total = 0
        for blob, name in blobs:
            page = parse_search_page(blob, url=f"file:///{name}", site="ebay.com", observed_at=when)
            total += sum(1 for item in normalizer.normalize_all(page.listings) if enricher.enrich(item))
        counts["listings"] = total

    def bare() -> None:
        total = 0
        for blob, _ in blobs:
            for card in cards(lxml.html.fromstring(blob)):
                card_fields(card)
                total += 1
        counts["cards"] = total

    def floor() -> None:
        for blob, _ in blobs:
            lxml.html.fromstring(blob)

    mine, base = alternate(ours, bare)
    parse_floor = measure(floor)
    return Result(mine.median / base.median, 1.3,
                  f"{len(blobs)} pages, {counts['listings']} listings: ours {mine} vs precompiled lxml extraction "
                  f"of {counts['cards']} cards {base}; lxml parse alone (the floor) {parse_floor}")


def bench_startup() -> Result:
    """Whole-process ``gpuprices parse`` of the corpus search pages vs a minimal click CLI (bare parsel)."""
    files = [str(p) for p in search_pages()]
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "bare_cli.py"
        script.write_text(BARE_CLI, encoding="utf-8")
        (Path(folder) / "empty.toml").write_text("", encoding="utf-8")
        env = {**os.environ, "GPUPRICES_CONFIG": str(Path(folder) / "empty.toml")}

        def ours() -> None:
            subprocess.run([sys.executable, "-m", "gpuprices", "parse", "--source", "ebay", *files], cwd=folder,
                           env=env, check=True, capture_output=True)

        def bare() -> None:
            subprocess.run([sys.executable, str(script), *files], cwd=folder, check=True, capture_output=True)

        mine, base = alternate(ours, bare)
    return Result(mine.median / base.median, 2.0,
                  f"{len(files)} pages, whole process: `gpuprices parse` {mine} vs a minimal click + parsel CLI {base}")


def _items(count: int, start: int, existing: list[tuple[str, str]]) -> list[Any]:
    """A crawl's worth of normalized listings: half already stored (updates), half new."""
    from decimal import Decimal

    from gpuprices.core.items import ListingType, RawListing
    from gpuprices.core.listing import NormalizedListing

    now = datetime(2026, 11, 1, 18, tzinfo=UTC)
    items = []
    for index in range(count):
        # seen again (same seller), or new
        item_id, seller = (existing[index // 2 % len(existing)] if index % 2 and existing
                           else (str(9 * 10**11 + start + index), f"seller-{index % 300}"))
        price = Decimal(20000 + index % 9000)
        raw = RawListing(source="ebay-api", family="ebay", site="EBAY_US", item_id=item_id,
                         title=f"NVIDIA H100 80GB PCIe #{index}",
                         price_value=str(price), currency_raw="USD", listing_type=ListingType.BUY_IT_NOW,
                         seller=seller, seller_feedback=900, observed_at=now,
                         page_url="https://api.ebay.com/buy/browse/v1/item_summary/search?q=h100", query="h100")
        items.append(NormalizedListing(
            raw=raw, price=price, currency="USD", currency_raw="USD", price_usd=price, usd_rate=Decimal(1),
            usd_rate_date=now.date(), usd_rate_method="identity", shipping=Decimal(0), shipping_currency="USD",
            shipping_usd=Decimal(0), condition="used", model="H100", sku="h100-80gb-pcie", memory_gb=80,
            form_factor="pcie", gpu_count=1, working=True, classification_note="bench", unit_price_usd=price,
            unit_price_note="bench"))
    return items


def bench_ingest() -> Result:
    """``save_listings`` of a crawl's batch into a 1 M-observation store vs pre-flattened executemany of the
    same rows (an upsert of the listings, an id lookup, an insert of the observations), one transaction."""
    from gpuprices.core.listing import stored_values
    from gpuprices.storage.sqlite import SqliteStore
    from gpuprices.storage.values import LISTING_STATE as _LISTING_STATE
    from gpuprices.storage.values import OBSERVATION_COLUMNS as _OBSERVATION_COLUMNS

    batch = int(os.environ.get("BENCH_BATCH", "2000"))
    with tempfile.TemporaryDirectory() as folder:
        shutil.copyfile(history_db(1_000_000), Path(folder) / "ours.db")
        shutil.copyfile(history_db(1_000_000), Path(folder) / "bare.db")
        ours_db = SqliteStore(Path(folder) / "ours.db")
        bare_db = SqliteStore(Path(folder) / "bare.db")
        existing = [(r[0], r[1]) for r in ours_db.db.execute(
            "SELECT item_id, seller FROM listings ORDER BY id DESC LIMIT 5000")]
        rounds = {"ours": 0, "bare": 0}
        conn = bare_db.db.conn
        state = ", ".join(_LISTING_STATE)
        upsert = (f"INSERT INTO listings (family, item_id, variation_id, {state}, first_seen_at, last_seen_at,"
                  f" first_crawl_id, last_crawl_id) VALUES ({', '.join('?' for _ in range(len(_LISTING_STATE) + 7))})"
                  " ON CONFLICT (family, item_id, variation_id) DO UPDATE SET "
                  + ", ".join(f"{c} = excluded.{c}" for c in _LISTING_STATE)
                  + ", last_seen_at = excluded.last_seen_at, last_crawl_id = excluded.last_crawl_id")
        insert = (f"INSERT INTO observations ({', '.join(_OBSERVATION_COLUMNS)})"
                  f" VALUES ({', '.join('?' for _ in _OBSERVATION_COLUMNS)})")
        prepared: list[Any] = []

        def prepare(store: SqliteStore, key: str) -> Any:
            rounds[key] += 1
            return store.start_crawl("ebay-api"), _items(batch, rounds[key] * batch, existing)

        def flat(crawl: int, items: list[Any]) -> tuple[list[tuple[Any, ...]], list[list[Any]], list[str]]:
            rows = [stored_values(item) for item in items]
            listings = [("ebay", r["item_id"], "", *(r[c] for c in _LISTING_STATE), r["observed_at"],
                         r["observed_at"], crawl, crawl) for r in rows]
            # The observation rows complete (outside the timer), listing ids filled in by the timed part.
            observations = [SqliteStore._observation_values(0, crawl, item) for item in items]
            return listings, observations, [r["item_id"] for r in rows]

        def ours_setup() -> None:
            prepared[:] = [prepare(ours_db, "ours")]

        def bare_setup() -> None:
            crawl, items = prepare(bare_db, "bare")
            prepared[:] = [flat(crawl, items)]

        def ours() -> None:
            crawl, items = prepared[0]
            ours_db.save_listings(crawl, items)

        def bare() -> None:
            listings, observations, item_ids = prepared[0]
            conn.execute("BEGIN")
            conn.executemany(upsert, listings)
            ids: dict[str, int] = {}
            for start in range(0, len(item_ids), 500):
                chunk = item_ids[start:start + 500]
                ids.update(conn.execute(f"SELECT item_id, id FROM listings WHERE family = 'ebay' AND variation_id = ''"
                                        f" AND item_id IN ({', '.join('?' for _ in chunk)})", chunk).fetchall())
            for values, item_id in zip(observations, item_ids, strict=True):
                values[0] = ids[item_id]
            conn.executemany(insert, observations)
            conn.execute("COMMIT")

        mine, base = _timed_with_setup((ours_setup, ours), (bare_setup, bare))
        ours_db.close()
        bare_db.close()
    return Result(mine.median / base.median, 1.3,
                  f"{batch} listings (half updates) into a {1_000_000:,}-observation store: save_listings {mine} "
                  f"({batch / mine.median:,.0f} listings/s) vs pre-flattened executemany {base}")


def _timed_with_setup(*pairs: tuple[Any, Any]) -> Any:
    """Like ``alternate``, with an untimed setup before each timed run."""
    import statistics
    import time

    from bench.timing import REPEAT, Timing

    times: list[list[float]] = [[] for _ in pairs]
    for round_ in range(REPEAT + 1):
        for index, (setup, run) in enumerate(pairs):
            setup()
            start = time.perf_counter()
            run()
            if round_:  # the first round is the warm-up
                times[index].append(time.perf_counter() - start)
    return tuple(Timing(statistics.median(t), min(t)) for t in times)
