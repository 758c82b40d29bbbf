"""Middlewares: Scrapy's retry plus ``Retry-After`` and no retrying of block pages; parser errors as page reports."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError
from scrapy.http import Response
from twisted.internet.error import ConnectionRefusedError as TwistedConnectionRefused
from twisted.internet.error import DNSLookupError

from gpuprices.core.items import UNREADABLE_PAGE, PageReport, PageStatus
from gpuprices.spiders.blocks import detect_block_in_body

logger = logging.getLogger(__name__)

UNREACHABLE = (CannotResolveHostError, DownloadConnectionRefusedError, DNSLookupError, TwistedConnectionRefused)
"""A host that cannot be resolved or refuses connections: retrying in a few seconds changes nothing."""


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent/invalid."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class PoliteRetryMiddleware(RetryMiddleware):
    """Retries like Scrapy's ``RetryMiddleware`` but

    * waits what ``Retry-After`` asks on 429/503 (up to ``GPUPRICES_MAX_RETRY_AFTER`` seconds;
      a longer wait ends the retries for that page: we do not hammer a site that asked us to stop);
    * never retries a bot-check or edge-error page: a block is reported, not fought;
    * fails fast on a host that cannot be resolved or refuses connections: one retry, then every
      further request to that host fails at once (no download delay, no retries), so a crawl
      without network ends in seconds. Timeouts and 5xx keep their polite retries.
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.max_retry_after = settings.getfloat("GPUPRICES_MAX_RETRY_AFTER", 120.0)
        self.unreachable: dict[str, Exception] = {}

    def process_request(self, request: Request, spider: object = None) -> None:
        error = self.unreachable.get(urlsplit(request.url).netloc)
        if error is not None:
            raise error

    def process_exception(
        self, request: Request, exception: Exception, spider: object = None
    ) -> Request | Response | None:
        if not isinstance(exception, UNREACHABLE):
            return super().process_exception(request, exception)
        host = urlsplit(request.url).netloc
        if host in self.unreachable or request.meta.get("dont_retry", False):
            return None
        if request.meta.get("retry_times", 0) >= min(1, self.max_retry_times):
            self.unreachable[host] = exception
            return None
        return self._retry(request, exception)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: object = None
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        if detect_block_in_body(response.body, response.status) is not None:
            return response
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if delay is not None and response.status in (429, 503):
            if delay > self.max_retry_after:
                logger.warning("%s asked to retry after %.0f s (more than %.0f s): not retrying",
                               request.url, delay, self.max_retry_after)
                return response
            if delay > 0:
                await asyncio.sleep(delay)
        return self._retry(request, f"HTTP {response.status}") or response



class ParserErrorMiddleware:
    """Spider middleware: a callback that fails on a page's content (absurdly nested JSON, a CSV
    field over the size limit, bytes that are not text…) becomes one log line, a ``failed`` page
    report and a counted drop, never a traceback."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParserErrorMiddleware:
        return cls(crawler)

    def process_spider_exception(self, response: Response, exception: Exception,
                                 spider: object = None) -> list[PageReport]:
        reason = f"unreadable page: {exception.__class__.__name__}: {str(exception)[:200]}".rstrip(": ")
        name = getattr(spider or self.crawler.spider, "name", "spider")
        logger.error("%s: %s at %s", name, reason, response.url)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"gpuprices/dropped/{UNREADABLE_PAGE}")
        return [PageReport(url=response.url, status=PageStatus.FAILED, reason=reason, http_status=response.status)]
