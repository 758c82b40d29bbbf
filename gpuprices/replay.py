"""Re-parse archived pages: repair history after a parser fix, or replay a crawl offline.

``reparse`` runs the current parsers over archived pages and replaces the observations each page
produced (idempotent: running it twice changes nothing). ``replay`` builds a new crawl entirely
from the archive of a source's latest crawl, without touching the network.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from gpuprices import sources as registry
from gpuprices.core.items import ParsedPage
from gpuprices.exceptions import CrawlError
from gpuprices.pipeline.crawl_pipeline import crawl_status
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.processing import ListingProcessor
from gpuprices.spiders.parsers.pages import http_error_report
from gpuprices.storage.archive import ArchivedPage, archived_pages, latest_archived_crawl
from gpuprices.storage.sqlite import SqliteStore


def parse_archived(page: ArchivedPage) -> ParsedPage:
    """The current parser's reading of an archived page (an HTTP error page is blocked or failed)."""
    if page.status >= 400:
        return http_error_report(page.url, page.status, page.body), []
    source = registry.get(page.source) if page.source in registry.parseable() else None
    if source is None:
        raise CrawlError(f"no parser for archived {page.source!r} pages")
    return source.load_parser()(page)


def _processor(enricher: Enricher, source: str) -> ListingProcessor:
    return ListingProcessor(enricher, registry.family_of(source))


@attrs.define
class ReparseReport:
    pages: int = 0
    listings: int = 0
    dropped: Counter[str] = attrs.Factory(Counter)
    quarantine_changed: int = 0


def reparse(store: SqliteStore, enricher: Enricher, *, since: str | None = None,
            source: str | None = None) -> ReparseReport:
    """Re-run the parsers over archived pages and replace what each page produced."""
    report = ReparseReport()
    parseable = registry.parseable()
    processors: dict[str, ListingProcessor] = {}
    for page in archived_pages(store, source=source, since=since):
        if page.source not in parseable:
            continue
        _, raws = parse_archived(page)
        processor = processors.setdefault(page.source, _processor(enricher, page.source))
        listings = processor.all(raws, report.dropped)
        store.save_listings(page.crawl_id, listings, replace_page=page.url)
        report.pages += 1
        report.listings += len(listings)
    report.quarantine_changed = enricher.quarantine_crawl(store, None)
    return report


def replay(store: SqliteStore, enricher: Enricher, source: str) -> dict[str, Any]:
    """A new crawl of ``source`` built from the archive of its latest crawl; no network."""
    original = latest_archived_crawl(store, source)
    if original is None:
        raise CrawlError(f"nothing archived for {source}: run a crawl with [storage] archive = true first")
    crawl_id = store.start_crawl(f"{source}")
    processor = _processor(enricher, source)
    dropped: Counter[str] = Counter()
    for page in archived_pages(store, crawl_id=original):
        report, raws = parse_archived(page)
        store.record_page(crawl_id, report)
        for item in raws:
            item.page_url = page.url
        store.save_listings(crawl_id, processor.all(raws, dropped))
    enricher.quarantine_crawl(store, crawl_id)
    listings = int(store.crawl(crawl_id)["listings"] or 0)
    status = crawl_status(store.page_statuses(crawl_id), listings)
    row = store.finish_crawl(crawl_id, status, dropped=dict(dropped))
    return {**row, "replayed_from": original}
