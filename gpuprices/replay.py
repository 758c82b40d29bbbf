"""Re-parse archived pages: repair history after a parser fix, or replay a crawl offline.

``reparse`` runs the current parsers over archived pages and replaces the observations each page
produced (idempotent: running it twice changes nothing). ``replay`` builds a new crawl entirely
from the archive of a source's latest crawl, without touching the network.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs

from gpuprices.core.items import PageReport, PageStatus, RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.exceptions import CrawlError, ParseError
from gpuprices.pipeline.crawl_pipeline import crawl_status
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.normalize import Normalizer
from gpuprices.spiders.base import http_error_report, site_of
from gpuprices.spiders.parsers.ebay_api import parse_api_response
from gpuprices.spiders.parsers.ebay_item import parse_item_page
from gpuprices.spiders.parsers.ebay_search import parse_search_page
from gpuprices.spiders.parsers.product_page import parse_product_page
from gpuprices.storage.archive import ArchivedPage
from gpuprices.storage.base import Store

Parsed = tuple[PageReport, list[RawListing]]


def _ebay_search(page: ArchivedPage) -> Parsed:
    result = parse_search_page(page.body, url=page.url, site=page.meta.get("site") or site_of(page.url),
                               observed_at=page.fetched_at, query=page.meta.get("query"),
                               sold_view=bool(page.meta.get("sold")), http_status=page.status)
    return (PageReport(url=page.url, status=result.status, listings=len(result.listings), cards=result.cards,
                       reason=result.reason, http_status=page.status), result.listings)


def _ebay_api(page: ArchivedPage) -> Parsed:
    try:
        result = parse_api_response(json.loads(page.body), site=page.meta.get("site") or "EBAY_US",
                                    observed_at=page.fetched_at, page_url=page.url, query=page.meta.get("query"))
    except (ValueError, ParseError) as exc:
        return PageReport(url=page.url, status=PageStatus.LAYOUT_CHANGE, reason=f"unexpected API response: {exc}",
                          http_status=page.status), []
    return (PageReport(url=page.url, status=result.status, listings=len(result.listings), cards=result.cards,
                       reason=result.reason, http_status=page.status), result.listings)


def _ebay_item(page: ArchivedPage) -> Parsed:
    result = parse_item_page(page.body, url=page.url, site=page.meta.get("site") or site_of(page.url),
                             observed_at=page.fetched_at, http_status=page.status)
    listings = [result.listing] if result.listing is not None else []
    return (PageReport(url=page.url, status=result.status, listings=len(listings), cards=len(listings),
                       reason=result.reason, http_status=page.status), listings)


def _product_page(page: ArchivedPage) -> Parsed:
    result = parse_product_page(page.body, url=page.url, observed_at=page.fetched_at,
                                selectors=page.meta.get("selectors"), http_status=page.status)
    return (PageReport(url=page.url, status=result.status, listings=len(result.listings),
                       cards=len(result.listings), reason=result.reason, http_status=page.status), result.listings)


PARSERS: dict[str, Callable[[ArchivedPage], Parsed]] = {
    "ebay": _ebay_search, "ebay-api": _ebay_api, "ebay-item": _ebay_item, "product-page": _product_page}
"""Archived sources that can be re-parsed (rental feeds are re-fetched: they are small and public)."""


def parse_archived(page: ArchivedPage) -> Parsed:
    """The current parser's reading of an archived page (an HTTP error page is blocked or failed)."""
    if page.status >= 400:
        return http_error_report(page.url, page.status, page.body), []
    parser = PARSERS.get(page.source)
    if parser is None:
        raise CrawlError(f"no parser for archived {page.source!r} pages")
    return parser(page)


@attrs.define
class ReparseReport:
    pages: int = 0
    listings: int = 0
    dropped: Counter[str] = attrs.Factory(Counter)
    quarantine_changed: int = 0


def _normalize(raws: list[RawListing], normalizer: Normalizer, enricher: Enricher,
               dropped: Counter[str]) -> list[NormalizedListing]:
    return [enricher.enrich(item) for item in normalizer.normalize_all(raws, dropped)]


def reparse(store: Store, enricher: Enricher, *, since: str | None = None,
            source: str | None = None) -> ReparseReport:
    """Re-run the parsers over archived pages and replace what each page produced."""
    report = ReparseReport()
    normalizer = Normalizer()
    for page in store.archived_pages(source=source, since=since):
        if page.source not in PARSERS:
            continue
        _, raws = parse_archived(page)
        listings = _normalize(raws, normalizer, enricher, report.dropped)
        store.save_listings(page.crawl_id, listings, replace_page=page.url)
        report.pages += 1
        report.listings += len(listings)
    report.quarantine_changed = enricher.quarantine_crawl(store, None)
    return report


def replay(store: Store, enricher: Enricher, source: str) -> dict[str, Any]:
    """A new crawl of ``source`` built from the archive of its latest crawl; no network."""
    original = store.latest_archived_crawl(source)
    if original is None:
        raise CrawlError(f"nothing archived for {source}: run a crawl with [storage] archive = true first")
    crawl_id = store.start_crawl(f"{source}")
    normalizer = Normalizer()
    dropped: Counter[str] = Counter()
    for page in store.archived_pages(crawl_id=original):
        report, raws = parse_archived(page)
        store.record_page(crawl_id, report)
        for item in raws:
            item.page_url = page.url
        store.save_listings(crawl_id, _normalize(raws, normalizer, enricher, dropped))
    enricher.quarantine_crawl(store, crawl_id)
    listings = int(store.crawl(crawl_id)["listings"] or 0)
    status = crawl_status(store.page_statuses(crawl_id), listings)
    row = store.finish_crawl(crawl_id, status, dropped=dict(dropped))
    return {**row, "replayed_from": original}
