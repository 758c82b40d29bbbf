"""Raw listings to stored ones: normalize, then classify, unit-price and quarantine-check.

The one path every listing takes, whether a crawl, an import, a re-parse or a replay produced it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from gpuprices.core.items import RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.normalize import DroppedListing, Normalizer

__all__ = ["DroppedListing", "ListingProcessor"]


class ListingProcessor:
    """Normalizes and enriches listings of one source; ``family`` (from the source registry) names whose
    item ids they are, so a listing seen by two sources of one marketplace is one listing."""

    def __init__(self, enricher: Enricher, family: str = "") -> None:
        self.normalizer = Normalizer(converter=enricher.converter)
        self.enricher = enricher
        self.family = family

    def one(self, raw: RawListing) -> NormalizedListing:
        """One listing; raises :class:`DroppedListing` with a countable reason."""
        if self.family and not raw.family:
            raw.family = self.family
        return self.enricher.enrich(self.normalizer.normalize(raw))

    def all(self, raws: Iterable[RawListing], dropped: Counter[str]) -> list[NormalizedListing]:
        """Many listings; dropped ones are counted by reason in ``dropped``."""
        listings = []
        for raw in raws:
            try:
                listings.append(self.one(raw))
            except DroppedListing as exc:
                dropped[exc.reason] += 1
        return listings
