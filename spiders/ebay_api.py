"""``ebay-api`` spider: eBay's official Browse API (``item_summary/search``).

OAuth client-credentials token (kept until shortly before it expires, then renewed), one search
per query paged through ``next`` up to ``max_items``, the marketplace header, and a daily call
budget shared by all crawls of the day (the runner passes what is left of it).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import scrapy
from pydantic import SecretStr
from scrapy.crawler import Crawler
from scrapy.http import Response

from gpuprices.core.items import PageReport, PageStatus, RawListing
from gpuprices.exceptions import ParseError
from gpuprices.spiders.base import GpupricesSpider, utc_now
from gpuprices.spiders.parsers.ebay_api import parse_api_response

SCOPE = "https://api.ebay.com/oauth/api_scope"
_EXPIRY_MARGIN = 120  # renew a token this many seconds before eBay says it expires


class EbayApiSpider(GpupricesSpider):
    name = "ebay-api"

    def __init__(self, *, base_url: str = "https://api.ebay.com", marketplace: str = "EBAY_US",
                 queries: list[str] | None = None, client_id: SecretStr | str | None = None,
                 client_secret: SecretStr | str | None = None, page_size: int = 200, max_items: int = 1000,
                 calls_remaining: int = 5000, category_ids: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.marketplace = marketplace
        self.queries = list(queries or [])
        self._client_id = client_id if isinstance(client_id, SecretStr) else SecretStr(client_id or "")
        self._client_secret = (client_secret if isinstance(client_secret, SecretStr)
                               else SecretStr(client_secret or ""))
        self.page_size = int(page_size)
        self.max_items = int(max_items)
        self.calls_remaining = int(calls_remaining)
        self.calls_made = 0
        self.category_ids = category_ids or None
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._budget_reported = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> EbayApiSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, EbayApiSpider)
        return spider

    # -- requests ------------------------------------------------------------------------
    def _spend(self) -> bool:
        """Count one API call against the daily budget; False when the budget is used up."""
        if self.calls_remaining <= 0:
            return False
        self.calls_remaining -= 1
        self.calls_made += 1
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value("gpuprices/api_calls")
        return True

    def _budget_exhausted(self, url: str) -> Iterator[PageReport]:
        if not self._budget_reported:
            self._budget_reported = True
            reason = "daily eBay API call budget exhausted; the next crawl tomorrow continues"
            self.logger.error("ebay-api: %s", reason)
            yield PageReport(url=url, status=PageStatus.FAILED, reason=reason)

    def _token_request(self, pending: list[dict[str, Any]]) -> scrapy.Request | None:
        if not self._spend():
            return None
        credentials = f"{self._client_id.get_secret_value()}:{self._client_secret.get_secret_value()}"
        return scrapy.Request(
            f"{self.base_url}/identity/v1/oauth2/token",
            method="POST",
            body=urlencode({"grant_type": "client_credentials", "scope": SCOPE}),
            headers={
                "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
                "Content-Type": "application/x-www-form-urlencoded",
            },
            callback=self.parse_token,
            errback=self.on_error,
            cb_kwargs={"pending": pending},
            meta={"gpuprices_no_archive": True},  # the answer is a credential
            dont_filter=True,
        )

    def _search_request(self, query: str, url: str | None = None, seen: int = 0) -> scrapy.Request | None:
        if self._token is None or time.monotonic() > self._token_expires_at:
            return self._token_request([{"query": query, "url": url, "seen": seen}])
        if not self._spend():
            return None
        if url is None:
            params: dict[str, Any] = {"q": query, "limit": min(self.page_size, self.max_items)}
            if self.category_ids:
                params["category_ids"] = self.category_ids
            url = f"{self.base_url}/buy/browse/v1/item_summary/search?{urlencode(params)}"
        return scrapy.Request(
            url,
            headers={
                "Authorization": f"Bearer {self._token}",
                "X-EBAY-C-MARKETPLACE-ID": self.marketplace,
                "Accept": "application/json",
            },
            callback=self.parse_search,
            errback=self.on_error,
            cb_kwargs={"query": query, "seen": seen},
        )

    async def start(self) -> AsyncIterator[scrapy.Request | PageReport]:
        request = self._token_request([{"query": q, "url": None, "seen": 0} for q in self.queries])
        if request is None:
            for report in self._budget_exhausted(f"{self.base_url}/identity/v1/oauth2/token"):
                yield report
            return
        yield request

    # -- callbacks -----------------------------------------------------------------------
    def parse_token(self, response: Response, pending: list[dict[str, Any]]
                    ) -> Iterator[scrapy.Request | PageReport]:
        try:
            payload = json.loads(response.text)
            token = str(payload["access_token"])
            lifetime = float(payload.get("expires_in", 7200))
        except (ValueError, KeyError, TypeError):
            reason = "token endpoint answered without an access_token (check EBAY_CLIENT_ID/SECRET)"
            self.logger.error("ebay-api: %s", reason)
            yield PageReport(url=response.url, status=PageStatus.FAILED, reason=reason,
                             http_status=response.status)
            return
        self._token = token
        self._token_expires_at = time.monotonic() + max(0.0, lifetime - _EXPIRY_MARGIN)
        for item in pending:
            request = self._search_request(item["query"], item["url"], item["seen"])
            if request is None:
                yield from self._budget_exhausted(response.url)
                return
            yield request

    def parse_search(self, response: Response, query: str, seen: int
                     ) -> Iterator[scrapy.Request | PageReport | RawListing]:
        try:
            page = parse_api_response(json.loads(response.text), site=self.marketplace,
                                      observed_at=utc_now(), page_url=response.url, query=query)
        except (ValueError, ParseError) as exc:
            reason = f"unexpected API response: {str(exc)[:200]}"
            self.logger.error("ebay-api: %s at %s", reason, response.url)
            yield PageReport(url=response.url, status=PageStatus.LAYOUT_CHANGE, reason=reason,
                             http_status=response.status)
            return
        room = self.max_items - seen
        listings = page.listings[:max(room, 0)]
        yield PageReport(url=response.url, status=page.status, listings=len(listings), cards=page.cards,
                         reason=page.reason, http_status=response.status)
        yield from listings
        seen += page.cards
        if page.next_url and page.cards and seen < self.max_items:
            request = self._search_request(query, self._on_base(page.next_url), seen)
            if request is None:
                yield from self._budget_exhausted(response.url)
            else:
                yield request

    def _on_base(self, url: str) -> str:
        """Follow ``next`` on the configured API host (keeps tests and proxies on their host)."""
        parts = urlsplit(url)
        return f"{self.base_url}{parts.path}?{parts.query}" if parts.query else f"{self.base_url}{parts.path}"
