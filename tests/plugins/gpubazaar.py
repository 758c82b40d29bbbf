"""A whole new marketplace in one file, as the README's "Adding a marketplace" describes.

"GPU Bazaar" is a made-up shop that publishes its listings as JSON: ``{"listings": [{"id", "title",
"price", "currency", "condition", "seller"}]}``. Its settings, its offline parser, its spider and its
registry entry are all that gpuprices needs to crawl it, parse saved files of it and store it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from pydantic import Field
from scrapy.http import Response

from gpuprices import sources as registry
from gpuprices.config import SourceSettings
from gpuprices.core.items import CapturedPage, PageReport, PageStatus, ParsedPage, RawListing
from gpuprices.spiders.base import GpupricesSpider, utc_now

NAME = "gpubazaar"


class BazaarSettings(SourceSettings):
    """``[sources.gpubazaar]``: the listing feeds to read."""

    urls: list[str] = Field(default_factory=list)


def parse_page(page: CapturedPage) -> ParsedPage:
    """The offline parser: one captured feed → its report and raw listings."""
    try:
        entries = json.loads(page.body)["listings"]
    except (ValueError, KeyError, TypeError) as exc:
        return PageReport(url=page.url, status=PageStatus.LAYOUT_CHANGE, reason=f"not a bazaar feed: {exc}"), []
    listings = [RawListing(source=NAME, site="gpubazaar.test", item_id=str(entry["id"]), title=entry["title"],
                           price_value=str(entry["price"]), currency_raw=entry["currency"],
                           condition_raw=entry.get("condition"), seller=entry.get("seller"),
                           observed_at=page.fetched_at, page_url=page.url) for entry in entries]
    status = PageStatus.OK if listings else PageStatus.EMPTY
    return PageReport(url=page.url, status=status, listings=len(listings), cards=len(entries),
                      http_status=page.status), listings


class BazaarSpider(GpupricesSpider):
    name = NAME

    def __init__(self, *, urls: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = list(urls or [])

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.on_error)

    def parse_feed(self, response: Response) -> Iterator[PageReport | RawListing]:
        report, listings = parse_page(CapturedPage(url=response.url, body=response.body, fetched_at=utc_now(),
                                                   status=response.status))
        yield report
        yield from listings


def _plan(request: registry.PlanRequest) -> tuple[dict[str, Any], list[str]]:
    return {"urls": list(request.section.urls)}, list(request.section.urls)


SOURCE = registry.Source(
    name=NAME, family="gpubazaar", spider=f"{__name__}.BazaarSpider", settings_model=BazaarSettings,
    plan=_plan, parser=f"{__name__}.parse_page", saved=registry.SavedFile("a GPU Bazaar feed (JSON)", reads=("json",)),
    needs=lambda section, _settings, _watched: "" if section.urls else "feed URLs",
    describe=lambda section, _settings, _watched: f"{len(section.urls)} GPU Bazaar feeds",
)
