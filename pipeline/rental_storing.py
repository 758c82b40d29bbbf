"""Scrapy item pipeline of the ``rental`` source: offers go to ``rental_observations``.

Offers come already normalized from their parsers (USD per GPU-hour); pages, batching, storage
errors and closing the crawl are :class:`CrawlStoragePipeline`'s.
"""

from __future__ import annotations

from typing import Any

from gpuprices.core.rental import RentalOffer
from gpuprices.pipeline.crawl_pipeline import CrawlStoragePipeline
from gpuprices.storage.base import Store

_DROPPED_PREFIX = "gpuprices/dropped/"


class RentalStoragePipeline(CrawlStoragePipeline[RentalOffer]):
    """Writes rental offers in batches and every page report as it comes."""

    default_batch_size = 500

    def accept(self, item: Any) -> RentalOffer | None:
        if not isinstance(item, RentalOffer):
            return None
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("gpuprices/rental_offers")
        return item

    def write(self, store: Store, batch: list[RentalOffer]) -> None:
        store.save_rentals(self.crawl_id, batch)

    def dropped(self) -> dict[str, int]:
        # The spider counts feed rows its parsers could not use in the stats (items are usable offers).
        values = self.crawler.stats.get_stats() if self.crawler.stats is not None else {}
        return {key.removeprefix(_DROPPED_PREFIX): int(value) for key, value in values.items()
                if key.startswith(_DROPPED_PREFIX) and value}
