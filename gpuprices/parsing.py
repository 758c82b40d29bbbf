"""Offline parsing of saved pages and API responses: the crawl's parsers and normalizer, no network."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import attrs

from gpuprices.core.items import PageStatus, RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.exceptions import BlockedPageError, ErrorPageError, ParseError
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.normalize import Normalizer
from gpuprices.spiders.parsers.ebay_api import load_api_payload, parse_api_response
from gpuprices.spiders.parsers.ebay_item import parse_item_page
from gpuprices.spiders.parsers.ebay_search import parse_search_page
from gpuprices.spiders.parsers.product_page import parse_product_page

PARSE_SOURCES = ("ebay", "ebay-api", "ebay-item", "product-page")
# An item page names its title block or links its canonical /itm/ URL near the top; search pages do neither.
_ITEM_PAGE = re.compile(rb"x-item-title__mainTitle|<link[^>]*canonical[^>]*/itm/\d|<link[^>]*/itm/\d[^>]*canonical")
_EBAY_HOST = re.compile(rb"https?://(?:www\.)?(ebay\.(?:com\.au|com\.sg|com\.my|com\.hk|co\.uk|co\.jp|[a-z]{2,3}))/")


@attrs.define
class ParsedFile:
    """Listings of one file and what the file was."""

    path: Path
    source: str
    status: PageStatus
    listings: list[NormalizedListing]
    reason: str = ""
    dropped: Counter[str] = attrs.Factory(Counter)


def guess_source(data: bytes) -> str:
    """``ebay-api`` for JSON (also in a Markdown fence or a Python literal), ``ebay-item`` for an eBay item
    page, else ``ebay``."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")) or b"```json" in data[:20000] or re.match(rb"^\s*\w+\s*=\s*[{\[]", head):
        return "ebay-api"
    if _ITEM_PAGE.search(data[:400000]):
        return "ebay-item"
    return "ebay"


def guess_site(data: bytes) -> str:
    """The eBay site a saved page came from (its most frequent eBay host), default ``ebay.com``."""
    hosts = Counter(match.group(1).decode() for match in _EBAY_HOST.finditer(data[:400000]))
    return hosts.most_common(1)[0][0] if hosts else "ebay.com"


class FileParser:
    """Parses files with one normalizer and one enricher (exchange rates and catalog loaded once)."""

    def __init__(self, enricher: Enricher | None = None) -> None:
        self.normalizer = Normalizer()
        self.enricher = enricher or Enricher.from_settings(None)

    def raw_listings(self, path: Path, *, source: str | None = None, site: str | None = None,
                     observed_at: datetime | None = None) -> tuple[str, PageStatus, str, list[RawListing]]:
        data = path.read_bytes()
        source = source or guess_source(data)
        when = observed_at or datetime.now(UTC)
        if source == "ebay-api":
            page = parse_api_response(load_api_payload(data.decode("utf-8-sig")), site=site or "EBAY_US",
                                      observed_at=when, page_url=str(path))
            return source, page.status, page.reason, page.listings
        if source == "ebay-item":
            item = parse_item_page(data, url=path.resolve().as_uri(), site=site or guess_site(data), observed_at=when)
            return source, item.status, item.reason, [item.listing] if item.listing is not None else []
        if source == "product-page":
            product = parse_product_page(data, url=path.resolve().as_uri(), observed_at=when)
            return source, product.status, product.reason, product.listings
        if source != "ebay":
            raise ParseError(f"unknown source {source!r}; choose one of {', '.join(PARSE_SOURCES)}")
        result = parse_search_page(data, url=path.resolve().as_uri(), site=site or guess_site(data),
                                   observed_at=when, sold_view=False)
        return source, result.status, result.reason, result.listings

    def parse(self, path: Path, *, source: str | None = None, site: str | None = None,
              observed_at: datetime | None = None) -> ParsedFile:
        """Parse, normalize and classify one file; a blocked page raises :class:`BlockedPageError`."""
        source, status, reason, raws = self.raw_listings(path, source=source, site=site, observed_at=observed_at)
        if status is PageStatus.BLOCKED:
            raise BlockedPageError(f"{path}: blocked page, not results: {reason}")
        if status is PageStatus.FAILED and source in ("ebay", "ebay-item"):
            raise ErrorPageError(f"{path}: error page, not results: {reason}")
        dropped: Counter[str] = Counter()
        listings = [self.enricher.enrich(item) for item in self.normalizer.normalize_all(raws, dropped)]
        return ParsedFile(path=path, source=source, status=status, listings=listings, reason=reason,
                          dropped=dropped)
