"""What every gpuprices spider shares: page reports for failures and the site name."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import CannotResolveHostError, DownloadTimeoutError, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from gpuprices.core.items import PageReport, PageStatus
from gpuprices.spiders.parsers.pages import http_error_report

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def failure_reason(error: BaseException | None, url: str) -> str:
    """A network failure in words a person can act on: ``cannot resolve host example.com``."""
    from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError

    from gpuprices.spiders.middlewares import UNREACHABLE

    host = urlsplit(url).netloc or "?"
    causes = [error, getattr(error, "__cause__", None)]
    if any(isinstance(cause, DNSLookupError | CannotResolveHostError) for cause in causes):
        return f"cannot resolve host {host}"
    if any(isinstance(cause, (*UNREACHABLE, ConnectionRefusedError)) for cause in causes):
        return f"connection refused by {host}"
    if any(isinstance(cause, TimeoutError | TCPTimedOutError | DownloadTimeoutError) for cause in causes):
        return f"timed out: {host} ({str(error)[:120]})"
    return f"{error.__class__.__name__}: {str(error)[:200]}".rstrip(": ")


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
        reason = failure_reason(error, url)
        self.logger.error("%s: request failed: %s: %s", self.name, url, reason)
        yield PageReport(url=url, status=PageStatus.FAILED, reason=reason)
