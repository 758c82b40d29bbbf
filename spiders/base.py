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

from gpuprices.core.items import PageReport, PageStatus
from gpuprices.spiders.parsers.pages import http_error_report

logger = logging.getLogger(__name__)


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
            report = http_error_report(url, error.response.status, error.response.body, after_retries=True)
            self.logger.error("%s: %s at %s: %s", self.name, report.status.value, url, report.reason)
            yield report
            return
        reason = f"{error.__class__.__name__}: {str(error)[:200]}".rstrip(": ")
        self.logger.error("%s: request failed: %s: %s", self.name, url, reason)
        yield PageReport(url=url, status=PageStatus.FAILED, reason=reason)
