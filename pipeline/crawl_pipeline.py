"""What every storing item pipeline does: record pages, write items in batches, close the crawl.

Enabled when the crawl runner sets ``GPUPRICES_DATABASE`` and ``GPUPRICES_CRAWL_ID``; otherwise it
raises ``NotConfigured`` (a bare ``scrapy crawl`` then just yields items). A storage error (disk
full, read-only database) is one log line; it stops the crawl, which is then recorded as failed.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Generic, Self, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from gpuprices.core.items import PageReport
from gpuprices.exceptions import StorageError
from gpuprices.storage.base import Store
from gpuprices.storage.factory import open_store

logger = logging.getLogger(__name__)

T = TypeVar("T")


def crawl_status(pages: dict[str, int], listings: int, error: str | None = None) -> str:
    """One word for how a crawl went; ``blocked`` and ``failed`` mean nothing usable was fetched."""
    total = sum(pages.values())
    blocked = pages.get("blocked", 0)
    failed = pages.get("failed", 0)
    layout = pages.get("layout_change", 0)
    if (error and listings == 0) or total == 0:
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


class CrawlStoragePipeline(Generic[T]):
    """Base of the storing pipelines; subclasses say which items they take and how they are written."""

    default_batch_size = 200

    def __init__(self, crawler: Crawler, database: str, crawl_id: int, batch_size: int | None = None) -> None:
        self.crawler = crawler
        self.database = database
        self.crawl_id = crawl_id
        self.batch_size = batch_size or self.default_batch_size
        self.buffer: list[T] = []
        self.store: Store | None = None
        self.storage_error: str | None = None
        self.discarded: str | None = None
        """The status of a crawl closed elsewhere whose late results this pipeline discards."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        database = crawler.settings.get("GPUPRICES_DATABASE")
        crawl_id = crawler.settings.getint("GPUPRICES_CRAWL_ID")
        if not database or not crawl_id:
            raise NotConfigured("GPUPRICES_DATABASE and GPUPRICES_CRAWL_ID are not set")
        pipeline = cls(crawler, database, crawl_id, crawler.settings.getint("GPUPRICES_BATCH_SIZE") or None)
        # The close reason ("finished", "shutdown", …) is only known with this signal, after close_spider.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # -- what subclasses provide ---------------------------------------------------------
    def accept(self, item: Any) -> T | None:
        """The item to buffer (normalized if need be), or ``None`` when it is not ours or was dropped."""
        raise NotImplementedError

    def write(self, store: Store, batch: list[T]) -> None:
        raise NotImplementedError

    def dropped(self) -> dict[str, int]:
        """Items left out, by reason, for the crawl's ``dropped`` column."""
        return {}

    def before_finish(self, store: Store) -> None:
        """Runs once everything is written, before the crawl's status is decided."""

    def after_finish(self, store: Store) -> None:
        """Runs once the crawl is closed."""

    # -- Scrapy hooks ----------------------------------------------------------------------
    def open_spider(self) -> None:
        self.store = open_store(self.database)

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
        if self.discarded is not None:
            return
        if isinstance(item, PageReport):
            if self._closed_elsewhere():  # checked once a page, not once a listing
                return
            self.store.record_page(self.crawl_id, item)
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value(f"gpuprices/pages/{item.status.value}")
            return
        accepted = self.accept(item)
        if accepted is not None:
            self.buffer.append(accepted)
            if len(self.buffer) >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        if self.buffer and self.store is not None:
            if not self._closed_elsewhere():
                self.write(self.store, self.buffer)
            self.buffer = []

    def _closed_elsewhere(self) -> bool:
        """True once the crawl was closed outside this process (its parent gave it up as failed):
        what it still produces is discarded, logged once, and the spider stops."""
        assert self.store is not None
        if self.discarded is None and not self.store.crawl_is_running(self.crawl_id):
            self.discarded = self.store.crawl(self.crawl_id)["status"]
            # Critical: the crawl child logs nothing milder unless -v, and this is data thrown away.
            logger.critical("crawl %d was already closed as %s: its late results are discarded", self.crawl_id,
                         self.discarded)
            self._close_spider("crawl closed elsewhere")
        return self.discarded is not None

    def close_spider(self) -> None:
        if self.store is not None and not self.storage_error:
            try:
                self.flush()
            except StorageError as exc:
                self._storage_failed(exc)

    def spider_closed(self, reason: str) -> None:
        """The crawl's status and totals, from the pages and items recorded."""
        if self.store is None:
            return
        try:
            if self.storage_error:
                self._finish_failed(self.storage_error)
                return
            self.flush()
            if self.discarded is not None:
                return
            self.before_finish(self.store)
            pages = self.store.page_statuses(self.crawl_id)
            items = int(self.store.crawl(self.crawl_id)["listings"] or 0)
            error = None if reason in (None, "finished") else f"spider closed: {reason}"
            # "shutdown": SIGTERM/SIGINT asked the crawl to stop (daemon stopping, Ctrl-C).
            status = "aborted" if reason == "shutdown" else crawl_status(pages, items, error)
            self.store.finish_crawl(self.crawl_id, status, dropped=self.dropped(), error=error)
            self.after_finish(self.store)
        except StorageError as exc:
            logger.error("crawl not closed cleanly: %s", exc)
            self._finish_failed(str(exc))
        finally:
            self.store.close()
            self.store = None

    # -- failures --------------------------------------------------------------------------
    def _storage_failed(self, exc: StorageError) -> None:
        """One line, then stop the crawl: fetching pages that cannot be stored helps nobody."""
        if not self.storage_error:
            self.storage_error = str(exc)
            logger.error("crawl stopped: %s", exc)
            self._close_spider("storage error")

    def _close_spider(self, reason: str) -> None:
        try:
            engine = self.crawler.engine
        except RuntimeError:  # no engine outside a running crawl (direct use, tests)
            return
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=reason))

    def _finish_failed(self, error: str) -> None:
        """Record the crawl as failed with the storage error, if the database still takes one write."""
        assert self.store is not None
        # If even this write fails, the parent records the crawl as failed when it finds it still running.
        with contextlib.suppress(StorageError):
            self.store.finish_crawl(self.crawl_id, "failed", dropped=self.dropped(), error=error)
