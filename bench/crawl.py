"""Crawl benchmark: 40 local search pages through ``gpuprices crawl`` vs a minimal Scrapy spider.

Both are whole processes fetching the same 40 URLs (20 queries × active and sold view) from a server on
127.0.0.1 with the same politeness settings: robots.txt obeyed, one request at a time per domain, no
delay (the tests' fast crawl configuration; the product's own delays are unchanged).

The minimal spider does the crawl's essential work the way a competent engineer would write it with
nothing else around it: it parses every page (lxml), extracts the cards' fields with precompiled
lxml (``bench.lxml_cards``, the ``parse`` benchmark's baseline), yields one item per card and stores
the items through an item pipeline into SQLite (``executemany`` per batch of 200, one commit each).
Until 2026-12 it fetched the pages and threw them away: a crawl that parses and stores nothing is not
the same work, and its ratio measured mostly the 40 pages' parsing (the lxml parse of a 2.5 MB page
alone is about a tenth of a fetch's time), which no crawler that reads its pages can avoid. What the
baseline still leaves out is ours alone: normalizing prices and currencies, classification, the page
archive, per-page reports and the crawl's bookkeeping.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.pipeline import corpus
from bench.timing import Result, alternate

ROOT = Path(__file__).resolve().parent.parent
QUERIES = [f"nvidia h100 {n}" for n in range(20)]

MINIMAL_SPIDER = f'''
import sqlite3
import sys

import lxml.html
import scrapy
from scrapy.crawler import CrawlerProcess

sys.path.insert(0, {str(ROOT)!r})
from bench.lxml_cards import card_fields, cards


class Minimal(scrapy.Spider):
    name = "minimal"

    async def start(self):
        for url in sys.argv[2:]:
            yield scrapy.Request(url)

    def parse(self, response):
        for card in cards(lxml.html.fromstring(response.body)):
            item_id, link, title, prices, rows, subtitles = card_fields(card)
            yield {{"item_id": item_id, "url": link, "title": title, "price": " | ".join(prices),
                   "rows": " | ".join(rows), "subtitles": " | ".join(subtitles), "page": response.url}}


class Store:
    """Items into SQLite in batches."""

    def open_spider(self):
        self.db = sqlite3.connect(sys.argv[1])
        self.db.execute("CREATE TABLE IF NOT EXISTS cards (item_id, url, title, price, rows, subtitles, page)")
        self.batch = []

    def process_item(self, item):
        self.batch.append(tuple(item.values()))
        if len(self.batch) >= 200:
            self.flush()
        return item

    def flush(self):
        with self.db:
            self.db.executemany("INSERT INTO cards VALUES (?, ?, ?, ?, ?, ?, ?)", self.batch)
        self.batch = []

    def close_spider(self):
        self.flush()
        self.db.close()


process = CrawlerProcess({{"ROBOTSTXT_OBEY": True, "CONCURRENT_REQUESTS": 4, "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
                          "DOWNLOAD_DELAY": 0, "COOKIES_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
                          "LOG_LEVEL": "WARNING", "ITEM_PIPELINES": {{"__main__.Store": 300}}}})
process.crawl(Minimal)
process.start()
'''


def bench_crawl() -> Result:
    from gpuprices.spiders.ebay_search import search_url
    from tests.e2e import fast_crawl_config
    from tests.httpserver import LocalServer, Reply

    pages = sorted((corpus() / "ebay-search").glob("*.html"), key=lambda p: p.stat().st_size)
    sold = sorted((corpus() / "ebay-sold").glob("*.html"), key=lambda p: p.stat().st_size)
    active_page, sold_page = pages[-1].read_bytes(), sold[-1].read_bytes()  # the largest: 1–2.5 MB
    with tempfile.TemporaryDirectory() as folder, LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        server.route(lambda p, q: "LH_Sold" in q, Reply(sold_page))
        server.route("/sch/i.html", Reply(active_page))
        urls = [search_url(server.url, q, sold=view) for q in QUERIES for view in (False, True)]
        script = Path(folder) / "minimal_spider.py"
        script.write_text(MINIMAL_SPIDER, encoding="utf-8")
        config = Path(folder) / "crawl.toml"
        runs = {"n": 0}

        def ours() -> None:
            runs["n"] += 1
            config.write_text(fast_crawl_config(Path(folder) / f"crawl{runs['n']}.db") + f"""
[sources.ebay]
base_url = "{server.url}"
queries = {QUERIES!r}
max_pages = 1
""".replace("'", '"'), encoding="utf-8")
            subprocess.run([sys.executable, "-m", "gpuprices", "--config", str(config), "crawl", "--source", "ebay"],
                           cwd=folder, check=True, capture_output=True)

        def minimal() -> None:
            runs["n"] += 1
            subprocess.run([sys.executable, str(script), str(Path(folder) / f"minimal{runs['n']}.db"), *urls],
                           cwd=folder, check=True, capture_output=True)

        mine, base = alternate(ours, minimal)
    return Result(mine.median / base.median, 1.5,
                  f"{len(urls)} pages of {len(active_page) / 2**20:.1f}/{len(sold_page) / 2**20:.1f} MB, whole process "
                  f"(parse, classify, store, archive): `gpuprices crawl` {mine} vs a minimal Scrapy spider that parses "
                  f"and stores the cards {base}")
