"""What every gpuprices spider shares: page reports for failures and the site name."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from spiders.blocks import detect_block
from spiders.items import PageReport, PageStatus

logger = logging.getLogger(__name__)


def site_of(url: str) -> str:
    """``https://www.ebay.de/sch/…`` → ``ebay.de`` (the parsers' currency/locale hint)."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def utc_now() -> datetime:
    return datetime.now(UTC)


class GpupricesSpider(scrapy.Spider):
    """Base class: turns failed requests into :class:`PageReport` items so nothing fails silently."""

    robots_hint = ""
    """Appended to the one-line message when robots.txt forbids a page."""

    def on_error(self, failure: Failure) -> Iterator[PageReport]:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        error = failure.value
        if isinstance(error, IgnoreRequest) and "robots.txt" in str(error):
            reason = f"robots.txt of {urlsplit(url).netloc} disallows {urlsplit(url).path}{self.robots_hint}"
            self.logger.error("%s: %s", self.name, reason)
            yield PageReport(url=url, status=PageStatus.BLOCKED, reason=reason)
            return
        if isinstance(error, HttpError):
            response = error.response
            blocked = detect_block(response.body[:20000].decode("utf-8", errors="replace"), response.status)
            if blocked:
                self.logger.error("%s: blocked at %s: %s", self.name, url, blocked)
                yield PageReport(url=url, status=PageStatus.BLOCKED, reason=blocked, http_status=response.status)
                return
            # 403 and 429 mean the site refuses us: that is a block, reported as such.
            status = PageStatus.BLOCKED if response.status in (403, 429) else PageStatus.FAILED
            reason = f"HTTP {response.status} after retries"
            self.logger.error("%s: %s at %s", self.name, reason, url)
            yield PageReport(url=url, status=status, reason=reason, http_status=response.status)
            return
        reason = f"{error.__class__.__name__}: {str(error)[:200]}".rstrip(": ")
        self.logger.error("%s: request failed: %s: %s", self.name, url, reason)
        yield PageReport(url=url, status=PageStatus.FAILED, reason=reason)
