"""Offline parsing of saved pages and API responses: each source's own parser and the crawl's
processing, no network, no database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import attrs

from gpuprices import sources as registry
from gpuprices.core.items import CapturedPage, PageStatus, ParsedPage
from gpuprices.core.listing import NormalizedListing
from gpuprices.exceptions import BlockedPageError, ConfigError, ParseError
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.processing import ListingProcessor


@attrs.define
class ParsedFile:
    """Listings of one file and what the file was."""

    path: Path
    source: str
    status: PageStatus
    listings: list[NormalizedListing]
    reason: str = ""
    dropped: Counter[str] = attrs.Factory(Counter)


def captured_file(path: Path, data: bytes, *, site: str | None, observed_at: datetime) -> CapturedPage:
    """A saved file as a captured page: its ``file://`` URI, status 200, the site when given."""
    return CapturedPage(url=path.resolve().as_uri(), body=data, fetched_at=observed_at,
                        meta={"site": site} if site else {})


def parse_captured(source: str, page: CapturedPage) -> ParsedPage:
    """``source``'s offline parser on one captured page."""
    try:
        parser = registry.get(source).load_parser()
    except ConfigError as exc:
        raise ParseError(str(exc)) from None
    report, raws = parser(page)
    return report, raws


class FileParser:
    """Parses files with one enricher (exchange rates and catalog loaded once)."""

    def __init__(self, enricher: Enricher | None = None) -> None:
        self.enricher = enricher or Enricher.from_settings(None)
        self._processors: dict[str, ListingProcessor] = {}

    def _processor(self, source: str) -> ListingProcessor:
        if source not in self._processors:
            self._processors[source] = ListingProcessor(self.enricher, registry.family_of(source))
        return self._processors[source]

    def parse(self, path: Path, *, source: str | None = None, site: str | None = None,
              observed_at: datetime | None = None) -> ParsedFile:
        """Parse, normalize and classify one file; a blocked page raises :class:`BlockedPageError`."""
        data = path.read_bytes()
        source = source or registry.guess_source(data)
        page = captured_file(path, data, site=site, observed_at=observed_at or datetime.now(UTC))
        report, raws = parse_captured(source, page)
        if report.status is PageStatus.BLOCKED:
            raise BlockedPageError(f"{path}: blocked page, not results: {report.reason}")
        dropped: Counter[str] = Counter()
        listings = self._processor(source).all(raws, dropped)
        return ParsedFile(path=path, source=source, status=report.status, listings=listings, reason=report.reason,
                          dropped=dropped)
