"""``ebay`` spider: eBay search-result pages (active and sold/completed views).

eBay's own robots.txt disallows ``/sch/`` for automated clients, and this spider obeys robots.txt
like every spider here: on live ebay.com it stops at the robots check and says to use the
``ebay-api`` source. It serves sites and saved mirrors that allow it, and local test servers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from gpuprices.core.items import PageReport, PageStatus, RawListing
from gpuprices.spiders.base import GpupricesSpider, utc_now
from gpuprices.spiders.parsers.ebay_search import page_selector, parse_search_selector
from gpuprices.spiders.parsers.pages import site_of


def search_url(base_url: str, query: str, *, page: int = 1, sold: bool = False, per_page: int = 60) -> str:
    """The search-results URL on ``base_url`` (``LH_Sold=1&LH_Complete=1`` for the sold view)."""
    params: dict[str, Any] = {"_nkw": query, "_sacat": 0, "_ipg": per_page}
    if sold:
        params.update({"LH_Sold": 1, "LH_Complete": 1})
    if page > 1:
        params["_pgn"] = page
    return f"{base_url.rstrip('/')}/sch/i.html?{urlencode(params)}"


def _complete_html(body: bytes) -> bool:
    """A whole HTML document ends with ``</html>`` (eBay's within its last few KB)."""
    return b"</html>" in body[-16384:].lower()


class EbaySearchSpider(GpupricesSpider):
    name = "ebay"
    robots_hint = " (eBay asks automated clients to use its API: configure the ebay-api source instead)"

    def __init__(self, *, base_url: str = "https://www.ebay.com", queries: list[str] | None = None,
                 max_pages: int = 2, include_sold: bool = True, items_per_page: int = 60,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.queries = list(queries or [])
        self.max_pages = int(max_pages)
        self.include_sold = bool(include_sold)
        self.items_per_page = int(items_per_page)
        self.site = site_of(self.base_url)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> EbaySearchSpider:
        options = dict(crawler.settings.getdict("GPUPRICES_EBAY"))
        options.update(kwargs)
        spider = super().from_crawler(crawler, *args, **options)
        assert isinstance(spider, EbaySearchSpider)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        views = (False, True) if self.include_sold else (False,)
        for query in self.queries:
            for sold in views:
                yield self._request(query, page=1, sold=sold)

    def _request(self, query: str, *, page: int, sold: bool) -> scrapy.Request:
        url = search_url(self.base_url, query, page=page, sold=sold, per_page=self.items_per_page)
        return scrapy.Request(url, callback=self.parse_results, errback=self.on_error,
                              cb_kwargs={"query": query, "page": page, "sold": sold})

    def parse_results(self, response: Response, query: str, page: int, sold: bool
                      ) -> Iterator[PageReport | RawListing | scrapy.Request]:
        if not isinstance(response, TextResponse):
            content_type = response.headers.get(b"Content-Type") or b"?"
            reason = f"not a text page ({content_type.decode(errors='replace')})"
            yield PageReport(url=response.url, status=PageStatus.LAYOUT_CHANGE, reason=reason,
                             http_status=response.status)
            return
        if "partial" in response.flags or not _complete_html(response.body):
            # The connection closed before the page ended: the last card may carry a cut price
            # ("$22" of "$229.99"). Nothing from such a page is stored.
            reason = "truncated response: the page ends before </html>"
            self.logger.error("failed: %s: %s", response.url, reason)
            yield PageReport(url=response.url, status=PageStatus.FAILED, reason=reason, http_status=response.status)
            return
        # Parsed from the bytes: Scrapy's response.selector would decode the page into a string first.
        result = parse_search_selector(page_selector(response.body, response.encoding), url=response.url,
                                       site=self.site, observed_at=utc_now(), query=query, sold_view=sold,
                                       http_status=response.status)
        if result.reason:
            self.logger.warning("%s: %s: %s", result.status.value, response.url, result.reason)
        yield PageReport(url=response.url, status=result.status, listings=len(result.listings),
                         cards=result.cards, reason=result.reason, http_status=response.status)
        yield from result.listings
        # Page N+1 is built on the configured site, never by following an absolute link elsewhere.
        if result.next_url and result.listings and page < self.max_pages:
            yield self._request(query, page=page + 1, sold=sold)
