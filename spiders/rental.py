"""``rental`` spider: public, key-less cloud GPU rental price feeds, one request per feed.

Feeds are ``{"kind": "skypilot" | "vast" | "tracker", "url": ..., "cloud": ...}`` (see
``[sources.rental]``). Every response yields one :class:`PageReport` (``ok``, ``empty``,
``layout_change`` or ``blocked`` with a reason) and its :class:`RentalOffer` items; rows a parser
could not use are counted in the crawl stats as ``gpuprices/dropped/<reason>``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from gpuprices.core.items import PageReport, PageStatus
from gpuprices.exceptions import ParseError
from gpuprices.spiders.base import GpupricesSpider, utc_now
from gpuprices.spiders.parsers.rental import FEED_KINDS, RentalOffer, parse_feed

# What each feed serves; a server that ignores Accept is fine, the parsers read the body either way.
_ACCEPT = {"skypilot": "text/csv, text/plain;q=0.9, */*;q=0.5", "vast": "application/json",
           "tracker": "application/x-ndjson, application/json;q=0.9, text/plain;q=0.9, */*;q=0.5"}


class RentalSpider(GpupricesSpider):
    name = "rental"

    def __init__(self, *, feeds: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.feeds = [dict(feed) for feed in feeds or []]
        for feed in self.feeds:
            if feed.get("kind") not in FEED_KINDS or not feed.get("url"):
                raise ValueError(f"rental feed needs a kind ({', '.join(FEED_KINDS)}) and a url: {feed!r}")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for feed in self.feeds:
            yield scrapy.Request(feed["url"], headers={"Accept": _ACCEPT[feed["kind"]]}, callback=self.parse_feed,
                                 errback=self.on_error, cb_kwargs={"feed": feed}, dont_filter=True)

    def parse_feed(self, response: Response, feed: dict[str, Any]) -> Iterator[PageReport | RentalOffer]:
        try:
            parsed = parse_feed(feed["kind"], response.body, url=response.url, observed_at=utc_now(),
                                cloud=feed.get("cloud"), http_status=response.status)
        except (ParseError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            reason = f"unreadable {feed['kind']} feed: {str(exc)[:200]}"
            self.logger.error("rental: %s at %s", reason, response.url)
            yield PageReport(url=response.url, status=PageStatus.LAYOUT_CHANGE, reason=reason,
                             http_status=response.status)
            return
        if parsed.status in (PageStatus.BLOCKED, PageStatus.LAYOUT_CHANGE):
            self.logger.error("rental: %s at %s: %s", parsed.status.value, response.url, parsed.reason)
        stats = self.crawler.stats if self.crawler is not None else None
        if stats is not None:
            for why, count in parsed.dropped.items():
                stats.inc_value(f"gpuprices/dropped/{why}", count)
        yield PageReport(url=response.url, status=parsed.status, listings=len(parsed.offers), cards=parsed.rows,
                         reason=parsed.reason, http_status=response.status)
        yield from parsed.offers
