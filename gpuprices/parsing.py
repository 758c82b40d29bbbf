"""Offline parsing of saved pages and API responses: each source's own parser and the crawl's
processing, no network, no database."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import attrs

from gpuprices import sources as registry
from gpuprices.core.items import CapturedPage, PageReport, PageStatus, ParsedPage
from gpuprices.core.listing import NormalizedListing
from gpuprices.exceptions import BlockedPageError, ConfigError, ErrorPageError, ParseError
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.processing import ListingProcessor
from gpuprices.spiders.middlewares import UNREADABLE_PAGE

_UNREADABLE = "unreadable page"


@attrs.define
class ParsedFile:
    """Listings of one file and what the file was."""

    path: Path
    source: str
    status: PageStatus
    listings: list[NormalizedListing]
    reason: str = ""
    dropped: Counter[str] = attrs.Factory(Counter)


_LOOKS = {"html": "an HTML page", "json": "a JSON file", "other": "neither HTML nor JSON"}
"""How a file kind no single source claims is described."""

_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|div|meta)\b", re.IGNORECASE)


def file_kind(data: bytes) -> str:
    """What a saved file looks like: ``rental-<feed>`` (a rental feed), ``json``, ``item-page`` (an eBay
    item page), ``html`` or ``other``."""
    from gpuprices.spiders.parsers.pages import looks_like_item_page, looks_like_json
    from gpuprices.spiders.parsers.rental import guess_feed_kind

    feed = guess_feed_kind(data)
    if feed is not None:
        return f"rental-{feed}"
    if looks_like_json(data):
        return "json"
    if looks_like_item_page(data):
        return "item-page"
    return "html" if _HTML.search(data[:65536]) else "other"


def wrong_kind(path: Path, data: bytes, source: str) -> str | None:
    """One line when ``data`` is plainly not what ``source`` reads (its registry entry's
    :class:`~gpuprices.sources.SavedFile`: a JSON answer given as a page, a page given as an API
    response, one feed for another), else ``None``: the parser judges the rest."""
    saved = registry.saved_files()
    expected = saved.get(source)
    if expected is None:
        return None
    kind = file_kind(data)
    if kind in expected.reads:
        return None
    claims = [name for name, other in saved.items() if other.kind == kind]
    if len(claims) == 1:
        return f"{path}: not {expected.what}; it looks like {saved[claims[0]].what} (try --source {claims[0]})"
    return f"{path}: not {expected.what}; it looks like {_LOOKS.get(kind, kind)}"


_DATE_HEADER = re.compile(rb"^Date:[ \t]*([^\r\n]+)", re.MULTILINE)


def page_date(data: bytes) -> datetime | None:
    """The capture time a saved file states: the ``Date:`` header of a browser's MHTML archive
    ("Save as… Webpage, single file"); ``None`` for files that do not say."""
    match = _DATE_HEADER.search(data[:4096])
    if match is None:
        return None
    try:
        when = parsedate_to_datetime(match.group(1).decode("latin-1").strip())
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def saved_page_body(data: bytes) -> bytes:
    """The page in a saved file: the HTML part of a browser's MHTML archive ("Webpage, single file",
    quoted-printable decoded), else the file as it is."""
    head = data[:4096]
    if b"MIME-Version:" not in head or b"multipart/related" not in head:
        return data
    import email
    from email.message import Message

    message = email.message_from_bytes(data)
    for part in message.walk():
        if isinstance(part, Message) and part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    return data


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
    try:
        report, raws = parser(page)
    except BlockedPageError:
        raise
    except Exception as exc:  # any input a parser cannot read (nesting, encodings, sizes): a failed page
        reason = f"{_UNREADABLE}: {exc.__class__.__name__}: {str(exc)[:200]}".rstrip(": ")
        return PageReport(url=page.url, status=PageStatus.FAILED, reason=reason, http_status=page.status), []
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
        stored = path.read_bytes()
        data = saved_page_body(stored)
        if source is not None and (problem := wrong_kind(path, data, source)):
            raise ParseError(problem)
        source = source or registry.guess_source(data)
        page = captured_file(path, data, site=site, observed_at=observed_at or page_date(stored) or datetime.now(UTC))
        report, raws = parse_captured(source, page)
        if report.status is PageStatus.BLOCKED:
            raise BlockedPageError(f"{path}: blocked page, not results: {report.reason}")
        dropped: Counter[str] = Counter()
        if report.status is PageStatus.FAILED and report.reason.startswith(_UNREADABLE):
            dropped[UNREADABLE_PAGE] += 1  # input no parser can read: a failed file and a counted drop
        elif report.status is PageStatus.FAILED:  # a saved file was fetched: failed means the site's error page
            raise ErrorPageError(f"{path}: error page, not results: {report.reason}")
        listings = self._processor(source).all(raws, dropped)
        return ParsedFile(path=path, source=source, status=report.status, listings=listings, reason=report.reason,
                          dropped=dropped)
