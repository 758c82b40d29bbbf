"""Scrapy item pipeline of the ``rental`` source: store offers in batches, record pages, close the crawl.

The same contract as :class:`pipeline.storing.StoragePipeline` (enabled by ``GPUPRICES_DATABASE`` and
``GPUPRICES_CRAWL_ID``, the crawl's status decided in the ``spider_closed`` handler), but offers are
already normalized by their parsers and go to ``rental_observations``, not to ``listings``.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from gpuprices.exceptions import StorageError
from pipeline.storing import crawl_status
from spiders.items import PageReport
from spiders.parsers.rental_items import RentalOffer
from storage.rentals import save_rentals
from storage.sqlite import SqliteStore

logger = logging.getLogger(__name__)

_DROPPED_PREFIX = "gpuprices/dropped/"


class RentalStoragePipeline:
    """Writes rental offers in batches of ``batch_size`` and every page report as it comes."""

    def __init__(self, crawler: Crawler, database: str, crawl_id: int, batch_size: int = 500) -> None:
        self.crawler = crawler
        self.database = database
        self.crawl_id = crawl_id
        self.batch_size = batch_size
        self.buffer: list[RentalOffer] = []
        self.store: SqliteStore | None = None
        self.storage_error: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RentalStoragePipeline:
        database = crawler.settings.get("GPUPRICES_DATABASE")
        crawl_id = crawler.settings.getint("GPUPRICES_CRAWL_ID")
        if not database or not crawl_id:
            raise NotConfigured("GPUPRICES_DATABASE and GPUPRICES_CRAWL_ID are not set")
        pipeline = cls(crawler, database, crawl_id, crawler.settings.getint("GPUPRICES_BATCH_SIZE", 500))
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

    def _process(self, item: Any) -> None:
        assert self.store is not None
        stats = self.crawler.stats
        if isinstance(item, PageReport):
            self.store.record_page(self.crawl_id, item)
            if stats is not None:
                stats.inc_value(f"gpuprices/pages/{item.status.value}")
        elif isinstance(item, RentalOffer):
            self.buffer.append(item)
            if stats is not None:
                stats.inc_value("gpuprices/rental_offers")
            if len(self.buffer) >= self.batch_size:
                self.flush()

    def _storage_failed(self, exc: StorageError) -> None:
        """One line, then stop the crawl: fetching feeds that cannot be stored helps nobody."""
        if not self.storage_error:
            self.storage_error = str(exc)
            logger.error("crawl stopped: %s", exc)
            try:
                engine = self.crawler.engine
            except RuntimeError:  # no engine outside a running crawl (direct use, tests): nothing to stop
                return
            if engine is not None and engine.spider is not None:
                deferred_from_coro(engine.close_spider_async(reason="storage error"))

    def flush(self) -> None:
        if self.buffer and self.store is not None:
            save_rentals(self.store, self.crawl_id, self.buffer)
            self.buffer = []

    def close_spider(self) -> None:
        if self.store is not None and not self.storage_error:
            try:
                self.flush()
            except StorageError as exc:
                self._storage_failed(exc)

    def _dropped(self) -> dict[str, int]:
        # The spider counts rows its parsers could not use in the stats (items are only usable offers).
        values = self.crawler.stats.get_stats() if self.crawler.stats is not None else {}
        return {key.removeprefix(_DROPPED_PREFIX): int(value) for key, value in values.items()
                if key.startswith(_DROPPED_PREFIX) and value}

    def spider_closed(self, reason: str) -> None:
        """The crawl's status and totals, from the pages and offers recorded."""
        if self.store is None:
            return
        try:
            if self.storage_error:
                self._finish_failed(self.storage_error)
                return
            self.flush()
            pages = self.store.page_statuses(self.crawl_id)
            offers = int(self.store.crawl(self.crawl_id)["listings"] or 0)
            error = None if reason in (None, "finished") else f"spider closed: {reason}"
            status = crawl_status(pages, offers, error)
            self.store.finish_crawl(self.crawl_id, status, dropped=self._dropped(), error=error)
        except StorageError as exc:
            logger.error("crawl not closed cleanly: %s", exc)
            self._finish_failed(str(exc))
        finally:
            self.store.close()
            self.store = None

    def _finish_failed(self, error: str) -> None:
        """Record the crawl as failed with the storage error, if the database still takes one write."""
        assert self.store is not None
        try:
            self.store.finish_crawl(self.crawl_id, "failed", dropped=self._dropped(), error=error)
        except StorageError:
            logger.error("crawl %s left running: the parent marks it failed", self.crawl_id)
