"""``gpuprices import``: saved pages, API responses and rental feeds into the database.

Files go through the same parsers (the source registry's offline parsers, the rental feed parsers),
the same normalization and classification (:class:`~gpuprices.pipeline.processing.ListingProcessor`),
the same store, quarantine pass, index and alert rules as a crawl. Each run is one crawl of kind
``import`` per source it touched; every file's name, sha256, source and capture date is recorded in
``imported_files``, and a file whose content was imported before adds nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from gpuprices import sources as registry
from gpuprices.config import Settings
from gpuprices.core.items import PageReport, PageStatus
from gpuprices.cycle import CycleReport, analyse_and_alert
from gpuprices.exceptions import ConfigError, ParseError
from gpuprices.parsing import captured_file, page_date, parse_captured, saved_page_body, wrong_kind
from gpuprices.pipeline.crawl_pipeline import crawl_status
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.processing import ListingProcessor
from gpuprices.spiders.parsers.rental import RENTAL_PARSE_SOURCES, guess_feed_kind, parse_feed
from gpuprices.spiders.parsers.rental_skypilot import cloud_of
from gpuprices.storage.base import Store
from gpuprices.storage.factory import open_store

__all__ = ["IMPORT_SOURCES", "ImportReport", "ImportedFile", "import_paths", "source_files"]

IMPORT_SOURCES = (*registry.parseable(), *RENTAL_PARSE_SOURCES)
"""``--source`` values: the parseable registry sources and the rental feed kinds."""
DUPLICATE = "duplicate"
SKIPPED = "wrong_kind"


@attrs.define
class ImportedFile:
    """What became of one file."""

    path: Path
    source: str
    status: str
    """A page status (``ok``, ``empty``, ``blocked``, ``layout_change``, ``failed``), ``duplicate`` (imported
    before) or ``wrong_kind`` (not what ``--source`` reads; nothing stored)."""
    listings: int = 0
    new: int = 0
    reason: str = ""
    captured_at: datetime | None = None
    captured_from: str = ""


@attrs.define
class ImportReport:
    files: list[ImportedFile] = attrs.Factory(list)
    crawls: list[dict[str, Any]] = attrs.Factory(list)
    """The finished ``crawls`` rows, one per source that had new files."""
    cycle: CycleReport | None = None

    @property
    def stored(self) -> int:
        return sum(f.listings for f in self.files if f.status not in (DUPLICATE, SKIPPED))


def source_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and the files under folders (recursively, sorted, hidden ones left out)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file()
                              and not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            yield path


class _Importer:
    def __init__(self, store: Store, enricher: Enricher, *, site: str | None, captured: datetime | None,
                 now: datetime) -> None:
        self.store, self.enricher, self.site, self.captured, self.now = store, enricher, site, captured, now
        self.crawl_ids: dict[str, int] = {}
        self.dropped: dict[str, Counter[str]] = {}
        self.processors: dict[str, ListingProcessor] = {}

    def crawl_for(self, source: str, name: str) -> int:
        if source not in self.crawl_ids:
            self.crawl_ids[source] = self.store.start_crawl(source, kind="import")
            self.dropped[source] = Counter()
        crawl_id = self.crawl_ids[source]
        self.store.add_crawl_query(crawl_id, name)
        return crawl_id

    def one(self, path: Path, source: str | None) -> ImportedFile:
        stored = path.read_bytes()
        sha256 = hashlib.sha256(stored).hexdigest()  # of the file as saved: the same file is the same import
        data = saved_page_body(stored)
        earlier = self.store.imported_file(sha256)
        if earlier is not None:
            when = earlier["imported_at"][:10]
            return ImportedFile(path, earlier["source"], DUPLICATE,
                                reason=f"already imported on {when} (crawl {earlier['crawl_id']})")
        if source is not None and (problem := wrong_kind(path, data, source)):
            return ImportedFile(path, source, SKIPPED, reason=problem)  # not recorded: import it again as what it is
        if source is None:
            feed = guess_feed_kind(data)
            source = f"rental-{feed}" if feed else registry.guess_source(data)
        stated = page_date(stored)
        when, origin = ((self.captured, "--date") if self.captured else (stated, "the page") if stated
                        else (self.now, "import time"))
        if source in RENTAL_PARSE_SOURCES:
            result = self._rentals(path, data, source, when)
        else:
            result = self._listings(path, data, source, when)
        result.captured_at, result.captured_from = when, origin
        self.store.record_imported_file(crawl_id=self.crawl_ids[_crawl_source(source)], name=path.name,
                             path=str(path.resolve()), sha256=sha256, source=source,
                             captured_at=when.isoformat(timespec="seconds"), captured_from=origin,
                             status=result.status, listings=result.listings, reason=result.reason or None)
        return result

    def _listings(self, path: Path, data: bytes, source: str, when: datetime) -> ImportedFile:
        crawl_id = self.crawl_for(source, path.name)
        page = captured_file(path, data, site=self.site, observed_at=when)
        report, raws = parse_captured(source, page)
        for raw in raws:
            raw.page_url = raw.page_url or page.url
        self.store.record_page(crawl_id, report)
        if source not in self.processors:
            self.processors[source] = ListingProcessor(self.enricher, registry.family_of(source))
        listings = self.processors[source].all(raws, self.dropped[source])
        saved = self.store.save_listings(crawl_id, listings)
        return ImportedFile(path, source, report.status.value, len(listings), saved.new, report.reason)

    def _rentals(self, path: Path, data: bytes, source: str, when: datetime) -> ImportedFile:
        crawl_id = self.crawl_for("rental", path.name)
        kind = source.removeprefix("rental-")
        uri = path.resolve().as_uri()
        cloud = cloud_of(str(path.resolve())) if kind == "skypilot" else None
        try:
            parsed = parse_feed(kind, data, url=uri, observed_at=when, cloud=cloud)
        except (ParseError, RecursionError) as exc:
            parsed = None
            reason = f"unreadable {kind} feed: {str(exc)[:200]}"
        if parsed is None:
            self.store.record_page(crawl_id, PageReport(url=uri, status=PageStatus.LAYOUT_CHANGE, reason=reason))
            return ImportedFile(path, source, PageStatus.LAYOUT_CHANGE.value, reason=reason)
        self.store.record_page(crawl_id, PageReport(url=uri, status=parsed.status, listings=len(parsed.offers),
                                                    cards=parsed.rows, reason=parsed.reason))
        self.dropped["rental"].update(parsed.dropped)
        saved = self.store.save_rentals(crawl_id, parsed.offers)
        return ImportedFile(path, source, parsed.status.value, len(parsed.offers), saved.new, parsed.reason)

    def finish(self) -> list[dict[str, Any]]:
        rows = []
        for source, crawl_id in self.crawl_ids.items():
            if source != "rental":
                self.enricher.quarantine_crawl(self.store, crawl_id)
            listings = int(self.store.crawl(crawl_id)["listings"] or 0)
            status = crawl_status(self.store.page_statuses(crawl_id), listings)
            rows.append(self.store.finish_crawl(crawl_id, status, dropped=dict(self.dropped[source])))
        return rows


def _crawl_source(source: str) -> str:
    return "rental" if source in RENTAL_PARSE_SOURCES else source


def import_paths(settings: Settings, paths: Iterable[Path], *, source: str | None = None, site: str | None = None,
                 captured: datetime | None = None, now: datetime | None = None,
                 on_file: Any = None) -> ImportReport:
    """Import files (and folders) into the database, then the index and alert rules as after a crawl.

    ``captured`` dates every file (``--date``); otherwise a file's own date (an MHTML ``Date:``) or the
    import time. ``on_file(ImportedFile)`` is called as each file is done.
    """
    if source is not None and source not in IMPORT_SOURCES:
        raise ConfigError(f"unknown import source {source!r}; choose one of {', '.join(IMPORT_SOURCES)}")
    now = now or datetime.now(UTC)
    report = ImportReport()
    with open_store(settings.storage.database) as store:
        importer = _Importer(store, Enricher.from_settings(settings.classify_options), site=site, captured=captured,
                             now=now)
        try:
            for path in source_files(paths):
                result = importer.one(path, source)
                report.files.append(result)
                if on_file is not None:
                    on_file(result)
        finally:
            report.crawls = importer.finish()
        if report.crawls:
            report.cycle = analyse_and_alert(settings, store, report.crawls, now=now)
    return report
