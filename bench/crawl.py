"""Crawl benchmark: 40 local search pages through ``gpuprices crawl`` vs a minimal Scrapy spider.

Both are whole processes fetching the same 40 URLs (20 queries × active and sold view) from a server on
127.0.0.1 with the same politeness settings: robots.txt obeyed, one request at a time per domain, no
delay (the tests' fast crawl configuration; the product's own delays are unchanged).
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

MINIMAL_SPIDER = '''
import sys
import scrapy
from scrapy.crawler import CrawlerProcess


class Minimal(scrapy.Spider):
    name = "minimal"

    async def start(self):
        for url in sys.argv[1:]:
            yield scrapy.Request(url)

    def parse(self, response):
        pass


process = CrawlerProcess({"ROBOTSTXT_OBEY": True, "CONCURRENT_REQUESTS": 4, "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
                          "DOWNLOAD_DELAY": 0, "COOKIES_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
                          "LOG_LEVEL": "WARNING"})
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
            subprocess.run([sys.executable, str(script), *urls], cwd=folder, check=True, capture_output=True)

        mine, base = alternate(ours, minimal)
    return Result(mine.median / base.median, 1.5,
                  f"{len(urls)} pages of {len(active_page) / 2**20:.1f}/{len(sold_page) / 2**20:.1f} MB, whole process "
                  f"(parse, classify, store, archive): `gpuprices crawl` {mine} vs a minimal Scrapy spider {base}")
