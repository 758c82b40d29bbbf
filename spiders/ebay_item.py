"""``ebay-item`` spider: watched eBay item pages (``/itm/<id>``), one request per item.

eBay's robots.txt allows bare ``/itm/<id>`` pages (it disallows search pages), so watched items
can be re-read directly. Every item is fetched on the configured ``base_url``, whatever host a
watched URL names: one site per crawl keeps politeness per host simple, and keeps tests on
127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from gpuprices.core.items import PageReport, PageStatus, RawListing
from gpuprices.spiders.base import GpupricesSpider, utc_now
from gpuprices.spiders.parsers.ebay_item import item_id_from, parse_item_selector
from gpuprices.spiders.parsers.pages import site_of


class EbayItemSpider(GpupricesSpider):
    name = "ebay-item"

    def __init__(self, *, base_url: str = "https://www.ebay.com", items: list[str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.items = list(items or [])
        self.site = site_of(self.base_url)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> EbayItemSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, EbayItemSpider)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request | PageReport]:
        seen: set[str] = set()
        for entry in self.items:
            item_id = item_id_from(str(entry))
            if item_id is None:
                reason = f"not an eBay item id or /itm/ URL: {str(entry)[:120]!r}"
                self.logger.error("ebay-item: %s", reason)
                yield PageReport(url=str(entry), status=PageStatus.FAILED, reason=reason)
                continue
            if item_id in seen:  # the same item as an id and as a URL is one page
                continue
            seen.add(item_id)
            yield scrapy.Request(f"{self.base_url}/itm/{item_id}", callback=self.parse_item, errback=self.on_error,
                                 cb_kwargs={"item_id": item_id})

    def parse_item(self, response: Response, item_id: str) -> Iterator[PageReport | RawListing]:
        if not isinstance(response, TextResponse):
            content_type = (response.headers.get(b"Content-Type") or b"?").decode(errors="replace")
            yield PageReport(url=response.url, status=PageStatus.LAYOUT_CHANGE,
                             reason=f"not a text page ({content_type})", http_status=response.status)
            return
        page = parse_item_selector(response.selector, url=response.url, site=self.site, observed_at=utc_now(),
                                   http_status=response.status)
        listing = page.listing
        reason = page.reason
        if listing is not None and listing.item_id != item_id:
            # eBay can answer an old id with another listing (relisted or variation page): keep what the
            # page says, and note the id we asked for.
            listing.extra["requested_item_id"] = item_id
            reason = f"asked for item {item_id}, the page is item {listing.item_id}"
        if reason:
            self.logger.warning("%s: %s: %s", page.status.value, response.url, reason)
        yield PageReport(url=response.url, status=page.status, listings=int(listing is not None),
                         cards=int(listing is not None), reason=reason, http_status=response.status)
        if listing is not None:
            yield listing
