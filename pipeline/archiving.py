"""Downloader middleware: archive every fetched page (after retries and redirects) in the database.

Disabled (``NotConfigured``) unless the crawl runner sets ``GPUPRICES_ARCHIVE``. robots.txt and
requests marked ``gpuprices_no_archive`` (the OAuth token call: its answer is a credential) are
never archived.
"""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from gpuprices.exceptions import StorageError
from gpuprices.storage.factory import open_store

logger = logging.getLogger(__name__)
ARCHIVED_META = ("query", "page", "sold")


class ArchiveMiddleware:
    def __init__(self, crawler: Crawler, database: str, crawl_id: int) -> None:
        self.crawler = crawler
        self.store = open_store(database)
        self.crawl_id = crawl_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveMiddleware:
        settings = crawler.settings
        if not settings.getbool("GPUPRICES_ARCHIVE") or not settings.get("GPUPRICES_DATABASE"):
            raise NotConfigured("page archive disabled")
        middleware = cls(crawler, settings["GPUPRICES_DATABASE"], settings.getint("GPUPRICES_CRAWL_ID"))
        crawler.signals.connect(middleware.store.close, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("gpuprices_no_archive") or response.url.endswith("/robots.txt"):
            return response
        meta = {key: request.cb_kwargs[key] for key in ARCHIVED_META if key in request.cb_kwargs}
        spider = self.crawler.spider
        site = getattr(spider, "site", None) or getattr(spider, "marketplace", None)
        if site:
            meta["site"] = site  # the parsers' currency/locale hint, as the crawl used it
        selectors = getattr(spider, "selectors", None)
        if selectors:
            meta["selectors"] = selectors  # product pages: the CSS fallback the crawl used
        content_type = response.headers.get(b"Content-Type")
        try:
            self.store.archive_page(crawl_id=self.crawl_id,
                         source=self.crawler.spider.name if self.crawler.spider else "?", url=response.url,
                         status=response.status, body=response.body,
                         content_type=content_type.decode("latin-1") if content_type else None,
                         encoding=response.encoding if isinstance(response, TextResponse) else None, meta=meta)
        except StorageError as exc:  # archiving must never cost us the page itself
            logger.error("page not archived: %s", exc)
        return response
