"""Scrapy item pipeline of the listing sources: normalize, classify and store every listing.

Pages, batching, storage errors and closing the crawl are :class:`CrawlStoragePipeline`'s; this
adds normalization (dropped rows counted by reason), classification, the quarantine pass over the
crawl and the daily API call count.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scrapy.crawler import Crawler

from gpuprices.core.items import UNREADABLE_PAGE, RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.pipeline.crawl_pipeline import CrawlStoragePipeline, crawl_status
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.processing import DroppedListing, ListingProcessor
from gpuprices.storage.base import Store

__all__ = ["StoragePipeline", "crawl_status"]

logger = logging.getLogger(__name__)


class StoragePipeline(CrawlStoragePipeline[NormalizedListing]):
    """Normalizes raw listings, classifies them, and writes them in batches."""

    def __init__(self, crawler: Crawler, database: str, crawl_id: int, batch_size: int | None = None) -> None:
        super().__init__(crawler, database, crawl_id, batch_size)
        self.enricher = Enricher.from_settings(crawler.settings.getdict("GPUPRICES_CLASSIFY"))
        self.processor = ListingProcessor(self.enricher, crawler.settings.get("GPUPRICES_FAMILY") or "")
        self.drops: Counter[str] = Counter()

    def accept(self, item: Any) -> NormalizedListing | None:
        if not isinstance(item, RawListing):
            return None
        stats = self.crawler.stats
        try:
            listing = self.processor.one(item)
        except DroppedListing as exc:
            self.drops[exc.reason] += 1
            logger.info("dropped %s %s: %s", item.source, item.item_id, exc.detail)
            if stats is not None:
                stats.inc_value(f"gpuprices/dropped/{exc.reason}")
            return None
        if stats is not None:
            stats.inc_value("gpuprices/listings")
        return listing

    def write(self, store: Store, batch: list[NormalizedListing]) -> None:
        store.save_listings(self.crawl_id, batch)

    def dropped(self) -> dict[str, int]:
        # Pages a parser could not read are counted by the spider middleware, in the stats.
        stats = self.crawler.stats
        unreadable = int(stats.get_value(f"gpuprices/dropped/{UNREADABLE_PAGE}", 0)) if stats is not None else 0
        return {**self.drops, **({UNREADABLE_PAGE: unreadable} if unreadable else {})}

    def before_finish(self, store: Store) -> None:
        # The centre of each SKU includes this crawl's listings: even the first crawl is protected.
        self.enricher.quarantine_crawl(store, self.crawl_id)

    def after_finish(self, store: Store) -> None:
        calls = self.crawler.stats.get_value("gpuprices/api_calls", 0) if self.crawler.stats else 0
        if calls:
            store.add_api_calls(self.crawler.spider.name if self.crawler.spider else "?", int(calls))
