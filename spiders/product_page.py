"""``product-page`` spider: watched retailer product pages, one request per URL.

Offers are read from the page's schema.org data (JSON-LD, microdata); a retailer without it gets
a per-host CSS fallback from the configuration (``[sources.product-page.selectors."<host>"]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from gpuprices.core.items import PageReport, PageStatus, RawListing
from gpuprices.spiders.base import GpupricesSpider, utc_now
from gpuprices.spiders.parsers.product_page import parse_product_selector


class ProductPageSpider(GpupricesSpider):
    name = "product-page"

    def __init__(self, *, urls: list[str] | None = None, selectors: dict[str, dict[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = list(dict.fromkeys(urls or []))
        self.selectors = dict(selectors or {})

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ProductPageSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, ProductPageSpider)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request | PageReport]:
        for url in self.urls:
            if not url.startswith(("http://", "https://")):
                reason = f"not an http(s) URL: {url[:120]!r}"
                self.logger.error("product-page: %s", reason)
                yield PageReport(url=url, status=PageStatus.FAILED, reason=reason)
                continue
            yield scrapy.Request(url, callback=self.parse_page, errback=self.on_error)

    def parse_page(self, response: Response) -> Iterator[PageReport | RawListing]:
        if not isinstance(response, TextResponse):
            content_type = (response.headers.get(b"Content-Type") or b"?").decode(errors="replace")
            yield PageReport(url=response.url, status=PageStatus.LAYOUT_CHANGE,
                             reason=f"not a text page ({content_type})", http_status=response.status)
            return
        page = parse_product_selector(response.selector, url=response.url, observed_at=utc_now(),
                                      selectors=self.selectors, http_status=response.status)
        if page.reason:
            self.logger.warning("%s: %s: %s", page.status.value, response.url, page.reason)
        yield PageReport(url=response.url, status=page.status, listings=len(page.listings),
                         cards=len(page.listings), reason=page.reason, http_status=response.status)
        yield from page.listings
