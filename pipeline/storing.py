"""Scrapy item pipeline: normalize, classify and store every listing; record every page.

Enabled when the crawl runner sets ``GPUPRICES_DATABASE`` and ``GPUPRICES_CRAWL_ID``; otherwise it
raises ``NotConfigured`` (a bare ``scrapy crawl`` then just yields items).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from gpuprices.exceptions import StorageError
from pipeline.enrich import Enricher
from pipeline.listing import NormalizedListing
from pipeline.normalize import DroppedListing, Normalizer
from spiders.items import PageReport, RawListing
from storage.sqlite import SqliteStore

logger = logging.getLogger(__name__)


def crawl_status(pages: dict[str, int], listings: int, error: str | None = None) -> str:
    """One word for how a crawl went; ``blocked`` and ``failed`` mean nothing usable was fetched."""
    total = sum(pages.values())
    blocked = pages.get("blocked", 0)
    failed = pages.get("failed", 0)
    layout = pages.get("layout_change", 0)
    if error and listings == 0:
        return "failed"
    if total == 0:
        return "failed"
    if blocked and blocked + failed == total:
        return "blocked"
    if failed == total:
        return "failed"
    if layout and listings == 0:
        return "layout_change"
    if blocked or failed or layout or error:
        return "partial"
    return "ok"


class StoragePipeline:
    """Normalizes raw listings, classifies them, and writes them in batches of ``batch_size``."""

    def __init__(self, crawler: Crawler, database: str, crawl_id: int, batch_size: int = 200) -> None:
        self.crawler = crawler
        self.database = database
        self.crawl_id = crawl_id
        self.batch_size = batch_size
        self.normalizer = Normalizer()
        self.enricher = Enricher.from_settings(crawler.settings.getdict("GPUPRICES_CLASSIFY"))
        self.dropped: Counter[str] = Counter()
        self.buffer: list[NormalizedListing] = []
        self.store: SqliteStore | None = None
        self.storage_error: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        database = crawler.settings.get("GPUPRICES_DATABASE")
        crawl_id = crawler.settings.getint("GPUPRICES_CRAWL_ID")
        if not database or not crawl_id:
            raise NotConfigured("GPUPRICES_DATABASE and GPUPRICES_CRAWL_ID are not set")
        pipeline = cls(crawler, database, crawl_id, crawler.settings.getint("GPUPRICES_BATCH_SIZE", 200))
        # The close reason ("finished", "shutdown", …) is only known with this signal, after close_spider.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.store = SqliteStore(self.database)

    def process_item(self, item: Any) -> Any:
        if self.store is None or self.storage_error:
            return item  # storage already failed: the crawl is closing
        try:
            self._process(item)
        except StorageError as exc:
            self._storage_failed(exc)
        return item

    def _storage_failed(self, exc: StorageError) -> None:
        """One line, then stop the crawl: fetching pages that cannot be stored helps nobody."""
        if not self.storage_error:
            self.storage_error = str(exc)
            logger.error("crawl stopped: %s", exc)
            engine = self.crawler.engine
            if engine is not None and engine.spider is not None:
                deferred_from_coro(engine.close_spider_async(reason="storage error"))

    def _process(self, item: Any) -> None:
        assert self.store is not None
        stats = self.crawler.stats
        if isinstance(item, PageReport):
            self.store.record_page(self.crawl_id, item)
            if stats is not None:
                stats.inc_value(f"gpuprices/pages/{item.status.value}")
        elif isinstance(item, RawListing):
            try:
                listing = self.normalizer.normalize(item)
            except DroppedListing as exc:
                self.dropped[exc.reason] += 1
                logger.info("dropped %s %s: %s", item.source, item.item_id, exc.detail)
                if stats is not None:
                    stats.inc_value(f"gpuprices/dropped/{exc.reason}")
                return
            self.buffer.append(self.enricher.enrich(listing))
            if stats is not None:
                stats.inc_value("gpuprices/listings")
            if len(self.buffer) >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        if self.buffer and self.store is not None:
            self.store.save_listings(self.crawl_id, self.buffer)
            self.buffer = []

    def close_spider(self) -> None:
        if self.store is not None and not self.storage_error:
            try:
                self.flush()
            except StorageError as exc:
                self._storage_failed(exc)

    def spider_closed(self, reason: str) -> None:
        """Quarantine pass over the crawl, then its status and totals."""
        if self.store is None:
            return
        try:
            if self.storage_error:
                self._finish_failed(self.storage_error)
                return
            self.flush()
            self.enricher.quarantine_crawl(self.store, self.crawl_id)
            pages = self.store.page_statuses(self.crawl_id)
            listings = int(self.store.crawl(self.crawl_id)["listings"] or 0)
            error = None if reason in (None, "finished") else f"spider closed: {reason}"
            status = crawl_status(pages, listings, error)
            self.store.finish_crawl(self.crawl_id, status, dropped=dict(self.dropped), error=error)
            calls = self.crawler.stats.get_value("gpuprices/api_calls", 0) if self.crawler.stats else 0
            if calls:
                self.store.add_api_calls(self.crawler.spider.name if self.crawler.spider else "?", int(calls))
        except StorageError as exc:
            logger.error("crawl not closed cleanly: %s", exc)
            self._finish_failed(str(exc))
        finally:
            self.store.close()
            self.store = None

    def _finish_failed(self, error: str) -> None:
        """Record the crawl as failed with the storage error, if the database still takes one write."""
        assert self.store is not None
        # If even this write fails, the parent records the crawl as failed when it finds it still running.
        with contextlib.suppress(StorageError):
            self.store.finish_crawl(self.crawl_id, "failed", dropped=dict(self.dropped), error=error)
