"""Downloader middleware: archive every fetched page (after retries and redirects) in the database.

Disabled (``NotConfigured``) unless the crawl runner sets ``GPUPRICES_ARCHIVE``. robots.txt and
requests marked ``gpuprices_no_archive`` (the OAuth token call: its answer is a credential) are
never archived.

Compressing and writing a 1–2.5 MB page takes a while; a writer thread does it with its own database
connection (SQLite connections stay in the thread that opened them; WAL and the busy timeout let it
write next to the item pipeline), so the crawl goes on parsing meanwhile. Pages are written in the
order they were fetched; a few wait in a bounded queue at most, and the spider's close waits for the
last one.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from gpuprices.exceptions import StorageError
from gpuprices.storage.factory import open_store

logger = logging.getLogger(__name__)
ARCHIVED_META = ("query", "page", "sold")
_QUEUED_PAGES = 4
"""Pages waiting for the writer at most (their bodies are in memory); the crawl waits beyond that."""


class ArchiveMiddleware:
    def __init__(self, crawler: Crawler, database: str, crawl_id: int) -> None:
        self.crawler = crawler
        self.crawl_id = crawl_id
        self._pages: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=_QUEUED_PAGES)
        opened: Future[None] = Future()
        self._writer = threading.Thread(target=self._write_pages, args=(database, opened), name="page-archive",
                                        daemon=True)
        self._writer.start()
        opened.result()  # a database that cannot be opened fails the crawl's start, as before

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveMiddleware:
        settings = crawler.settings
        if not settings.getbool("GPUPRICES_ARCHIVE") or not settings.get("GPUPRICES_DATABASE"):
            raise NotConfigured("page archive disabled")
        middleware = cls(crawler, settings["GPUPRICES_DATABASE"], settings.getint("GPUPRICES_CRAWL_ID"))
        crawler.signals.connect(middleware.close, signal=signals.spider_closed)
        return middleware

    def _write_pages(self, database: str, opened: Future[None]) -> None:
        try:
            store = open_store(database)
        except BaseException as exc:
            opened.set_exception(exc)
            return
        opened.set_result(None)
        try:
            while (page := self._pages.get()) is not None:
                try:
                    store.archive_page(**page)
                except StorageError as exc:  # archiving must never cost us the page itself
                    logger.error("page not archived: %s", exc)
                except Exception as exc:  # nor stop the writer: the crawl would wait on a full queue
                    logger.error("page not archived: %s: %s", exc.__class__.__name__, exc)
        finally:
            store.close()

    def close(self) -> None:
        """The last pages written, the writer's connection closed."""
        if self._writer.is_alive():
            self._pages.put(None)
            self._writer.join()

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
        if not self._writer.is_alive():  # closed already (a late response) or gone
            logger.error("page not archived: the archive writer has stopped")
            return response
        self._pages.put({"crawl_id": self.crawl_id, "source": spider.name if spider else "?", "url": response.url,
                         "status": response.status, "body": response.body,
                         "content_type": content_type.decode("latin-1") if content_type else None,
                         "encoding": response.encoding if isinstance(response, TextResponse) else None,
                         "meta": meta,
                         # stamped here: the writer may store it a moment later
                         "fetched_at": datetime.now(UTC).isoformat(timespec="seconds")})
        return response
