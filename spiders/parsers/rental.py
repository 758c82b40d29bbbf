"""Cloud rental price feeds → :class:`RentalOffer` items, per GPU-hour in USD.

Three public, key-less feeds (see ``rental_skypilot``, ``rental_vast``, ``rental_tracker``):
SkyPilot's catalog CSVs, vast.ai's offer search JSON, and gpu-price-tracker's per-provider JSONL
summaries. :func:`parse_feed` is what the spider calls on a response, :func:`parse_rental_file` what
``gpuprices parse --source rental-…`` calls on a saved file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gpuprices.core.items import PageStatus
from gpuprices.exceptions import BlockedPageError, ParseError
from gpuprices.spiders.blocks import detect_block
from gpuprices.spiders.parsers.rental_items import (
    FEED_KINDS,
    RENTAL_ROW_COLUMNS,
    ParsedFeed,
    RentalOffer,
    rental_row,
)
from gpuprices.spiders.parsers.rental_skypilot import parse_skypilot_csv
from gpuprices.spiders.parsers.rental_tracker import parse_tracker_jsonl
from gpuprices.spiders.parsers.rental_vast import parse_vast_json

__all__ = ["FEED_KINDS", "RENTAL_PARSE_SOURCES", "RENTAL_ROW_COLUMNS", "ParsedFeed", "RentalOffer", "guess_feed_kind",
           "parse_feed", "parse_rental_file", "rental_row"]

RENTAL_PARSE_SOURCES = tuple(f"rental-{kind}" for kind in FEED_KINDS)
"""``gpuprices parse --source`` values: ``rental-skypilot``, ``rental-vast``, ``rental-tracker``."""


def guess_feed_kind(data: bytes) -> str | None:
    """The rental feed a saved file is, when its first line says so: a SkyPilot catalog header, a
    gpu-price-tracker snapshot line, or a vast.ai offer search answer; else ``None``."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    first = head.split(b"\n", 1)[0]
    if b"InstanceType" in first and b"AcceleratorName" in first:
        return "skypilot"
    if first.startswith(b"{") and b'"price_stats"' in first and b'"by_provider"' in first:
        return "tracker"
    if head.startswith(b"{") and b'"offers"' in head[:200] and b'"dph_total"' in data[:20000]:
        return "vast"
    return None


def parse_feed(kind: str, body: bytes, *, url: str, observed_at: datetime, cloud: str | None = None,
               http_status: int | None = None) -> ParsedFeed:
    """Parse one feed response of ``kind``; an HTML page where data was expected is a block or a layout change."""
    text = body.decode("utf-8-sig", errors="replace")
    if text.lstrip()[:1] == "<":  # CSV and JSON never start with a tag: a bot check, an error or a login page
        blocked = detect_block(text, http_status)
        if blocked:
            return ParsedFeed(PageStatus.BLOCKED, reason=blocked)
        return ParsedFeed(PageStatus.LAYOUT_CHANGE, reason=f"an HTML page instead of the {kind} feed")
    if kind not in FEED_KINDS:
        raise ParseError(f"unknown rental feed kind {kind!r}; choose one of {', '.join(FEED_KINDS)}")
    try:
        if kind == "skypilot":
            return parse_skypilot_csv(text, url=url, observed_at=observed_at, cloud=cloud)
        if kind == "vast":
            return parse_vast_json(text, url=url, observed_at=observed_at)
        return parse_tracker_jsonl(text, url=url)
    except ParseError:
        raise
    except Exception as exc:  # nesting too deep, a CSV field over the size limit…: not the feed it should be
        return ParsedFeed(PageStatus.LAYOUT_CHANGE,
                          reason=f"unreadable {kind} feed: {exc.__class__.__name__}: {str(exc)[:200]}")


def parse_rental_file(path: Path, kind: str, *, observed_at: datetime | None = None,
                      cloud: str | None = None) -> list[RentalOffer]:
    """Offers of a saved feed file, offline. ``kind`` is ``skypilot``/``vast``/``tracker`` (or the
    ``rental-…`` source name). SkyPilot's provider is ``cloud``, else the file's folder
    (``…/lambda/vms.csv`` → ``lambda``); ``observed_at`` (default now) dates SkyPilot and vast offers,
    tracker offers keep their snapshot times.

    Raises :class:`BlockedPageError` for a bot-check page and :class:`ParseError` when the file is
    not the feed it should be (a layout change); an empty feed gives ``[]``.
    """
    name = kind.removeprefix("rental-")
    parsed = parse_feed(name, Path(path).read_bytes(), url=str(path), observed_at=observed_at or datetime.now(UTC),
                        cloud=cloud)
    if parsed.status is PageStatus.BLOCKED:
        raise BlockedPageError(f"{path}: blocked page, not a feed: {parsed.reason}")
    if parsed.status in (PageStatus.LAYOUT_CHANGE, PageStatus.FAILED):
        raise ParseError(f"{path}: {parsed.status.value}: {parsed.reason}")
    return parsed.offers
