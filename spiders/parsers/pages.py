"""The offline page parsers of the built-in sources: a captured page in, its report and listings out.

The same reading serves ``gpuprices parse`` and ``import`` (saved files), ``reparse`` and ``crawl
--replay`` (archived pages); the spiders call the underlying parsers on live responses. Nothing here
needs Scrapy.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

from gpuprices.core.items import CapturedPage, PageReport, PageStatus, ParsedPage, RawListing
from gpuprices.exceptions import ParseError
from gpuprices.spiders.blocks import detect_block_in_body

_EBAY_HOST = re.compile(rb"https?://(?:www\.)?(ebay\.(?:com\.au|com\.sg|com\.my|com\.hk|co\.uk|co\.jp|[a-z]{2,3}))/")


def site_of(url: str) -> str:
    """``https://www.ebay.de/sch/…`` → ``ebay.de`` (the parsers' currency/locale hint)."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def guess_site(data: bytes) -> str:
    """The eBay site a saved page came from (its most frequent eBay host), default ``ebay.com``."""
    hosts = Counter(match.group(1).decode() for match in _EBAY_HOST.finditer(data[:400000]))
    return hosts.most_common(1)[0][0] if hosts else "ebay.com"


def page_site(page: CapturedPage) -> str:
    """The eBay site of a page: as the request knew it, from its URL, or (saved files) from its links."""
    if page.meta.get("site"):
        return str(page.meta["site"])
    return site_of(page.url) if page.url.startswith(("http://", "https://")) else guess_site(page.body)


def http_error_report(url: str, status: int, body: bytes, *, after_retries: bool = False) -> PageReport:
    """The page report of an HTTP error answer: a bot check or edge error is blocked, and so are 403
    and 429 (the site refuses us); anything else failed."""
    reason = detect_block_in_body(body, status)
    if reason is None:
        reason = f"HTTP {status} after retries" if after_retries else f"HTTP {status}"
        blocked = status in (403, 429)
    else:
        blocked = True
    return PageReport(url=url, status=PageStatus.BLOCKED if blocked else PageStatus.FAILED, reason=reason,
                      http_status=status)


def _report(page: CapturedPage, status: PageStatus, reason: str, listings: list[RawListing],
            cards: int | None = None) -> ParsedPage:
    return (PageReport(url=page.url, status=status, listings=len(listings),
                       cards=len(listings) if cards is None else cards, reason=reason, http_status=page.status),
            listings)


def ebay_search(page: CapturedPage) -> ParsedPage:
    from gpuprices.spiders.parsers.ebay_search import parse_search_page

    result = parse_search_page(page.body, url=page.url, site=page_site(page), observed_at=page.fetched_at,
                               query=page.meta.get("query"), sold_view=bool(page.meta.get("sold")),
                               http_status=page.status)
    return _report(page, result.status, result.reason, result.listings, result.cards)


def ebay_api(page: CapturedPage) -> ParsedPage:
    from gpuprices.spiders.parsers.ebay_api import load_api_payload, parse_api_response

    try:
        payload = load_api_payload(page.body.decode("utf-8-sig"))
        result = parse_api_response(payload, site=page.meta.get("site") or "EBAY_US", observed_at=page.fetched_at,
                                    page_url=page.url, query=page.meta.get("query"))
    except (ValueError, ParseError) as exc:  # unreadable input (RecursionError …) is the caller's failed page
        reason = str(exc) if isinstance(exc, ParseError) else f"{exc.__class__.__name__}: {str(exc)[:200]}"
        return _report(page, PageStatus.LAYOUT_CHANGE, f"unexpected API response: {reason}", [])
    return _report(page, result.status, result.reason, result.listings, result.cards)


def ebay_item(page: CapturedPage) -> ParsedPage:
    from gpuprices.spiders.parsers.ebay_item import parse_item_page

    result = parse_item_page(page.body, url=page.url, site=page_site(page), observed_at=page.fetched_at,
                             http_status=page.status)
    return _report(page, result.status, result.reason, [result.listing] if result.listing is not None else [])


def product_page(page: CapturedPage) -> ParsedPage:
    from gpuprices.spiders.parsers.product_page import parse_product_page

    result = parse_product_page(page.body, url=page.url, observed_at=page.fetched_at,
                                selectors=page.meta.get("selectors"), http_status=page.status)
    return _report(page, result.status, result.reason, result.listings)


def looks_like_json(data: bytes) -> bool:
    """JSON, also in a Markdown ```json fence or as a Python literal (``name = {...}``)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((b"{", b"[")) or b"```json" in data[:20000] or \
        re.match(rb"^\s*\w+\s*=\s*[{\[]", head) is not None


# An item page names its title block or links its canonical /itm/ URL near the top; search pages do neither.
_ITEM_PAGE = re.compile(rb"x-item-title__mainTitle|<link[^>]*canonical[^>]*/itm/\d|<link[^>]*/itm/\d[^>]*canonical")


def looks_like_item_page(data: bytes) -> bool:
    return _ITEM_PAGE.search(data[:400000]) is not None


__all__ = ["ebay_api", "ebay_item", "ebay_search", "guess_site", "http_error_report", "looks_like_item_page",
           "looks_like_json", "page_site", "product_page", "site_of"]
