"""Scrapy extension: a live one-line progress display on a terminal (silent otherwise)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from gpuprices.core.items import PageReport, RawListing
from gpuprices.core.rental import RentalOffer

if TYPE_CHECKING:
    from rich.status import Status


class ProgressExtension:
    """Shows pages fetched, listings found and blocked pages while a crawl runs."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pages = self.listings = self.blocked = 0
        self.status: Status | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        if not sys.stderr.isatty():
            raise NotConfigured  # no message: Scrapy would log it as a warning on every crawl
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def _text(self) -> str:
        name = self.crawler.spider.name if self.crawler.spider else "crawl"
        return f"{name}: {self.pages} pages, {self.listings} listings, {self.blocked} blocked"

    def spider_opened(self) -> None:
        from rich.console import Console  # only on a terminal: a crawl in the background never loads rich
        from rich.status import Status

        self.status = Status(self._text(), console=Console(stderr=True))
        self.status.start()

    def item_scraped(self, item: Any) -> None:
        if isinstance(item, PageReport):
            self.pages += 1
            self.blocked += item.status.value == "blocked"
        elif isinstance(item, RawListing | RentalOffer):
            self.listings += 1
        if self.status is not None:
            self.status.update(self._text())

    def spider_closed(self) -> None:
        if self.status is not None:
            self.status.stop()
