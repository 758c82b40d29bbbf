"""Parse an eBay search-results or sold/completed-results page into raw listings.

Pure functions, no Scrapy: the spider passes ``response.selector`` to
:func:`parse_search_selector`; tests and tools pass saved HTML to :func:`parse_search_page`,
which builds the one ``Selector`` and takes the same path.

Only direct children of ``ul.srp-results`` are results. The page also holds hidden "Shop on eBay"
template cards (in ``div.s-clipped``, priced $20.00) and ``.s-card`` elements inside carousels,
so no card selector is ever used unscoped.

Status of a page:

* ``BLOCKED``: a bot check or edge error (:func:`spiders.blocks.detect_block`), never "0 listings".
* ``EMPTY``: no result cards, and the page says so ("0 results", "No exact matches found", …).
* ``FAILED``: eBay's own error page ("Error Page | eBay", a 4xx/5xx body): an error, not a layout change.
* ``LAYOUT_CHANGE``: a result list whose cards parse to nothing, no result list and no
  empty-results message, or listings none of which has a price (the price markup moved).
* ``OK``: otherwise.
"""

from __future__ import annotations

import codecs
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import attrs
from lxml import etree
from parsel import Selector

from gpuprices.core.items import PageStatus, RawListing
from gpuprices.spiders.blocks import HEAD_BYTES, detect_block, detect_error_page
from gpuprices.spiders.parsers import ebay_card_text as tx
from gpuprices.spiders.parsers.ebay_search_cards import PageContext, build_listing, read_s_card, read_s_item


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# Document-wide queries name the element first: a class predicate tested on every element of a
# 1 MB page costs milliseconds, one tested on the few <ul>/<a>/<h1> elements costs microseconds.
_RESULT_LISTS = etree.XPath(f"//ul[{_has_class('srp-results')}]")
# Only <a> can be followed; on the last page eBay renders "next" as a disabled <button>.
_NEXT_LINK = etree.XPath(".//a[contains(@class, 'pagination__next')]")
_NEXT_LINK_ANYWHERE = etree.XPath("//a[contains(@class, 'pagination__next')]")
_COUNT_HEADING = etree.XPath(f"//h1[{_has_class('srp-controls__count-heading')}]")
_EMPTY_MARKERS = etree.XPath(
    f"//h1 | //h2 | //h3 | //*[{_has_class('srp-save-null-search__heading')}]"
    f" | //*[{_has_class('s-message__content')}]"
)
_SRP_SKELETON = etree.XPath("//*[starts-with(@class, 'srp-')][1]")
_TITLE = etree.XPath("string((//title)[1])")
_STRING = etree.XPath("string()")

# When the exact search finds nothing (or little), eBay appends "fewer words" / international
# results after a REWRITE_START notice; those listings do not match the query as typed.
_REWRITE = "srp-river-answer--REWRITE_START"

# A page where none of at least this many listings has a price has lost its price markup.
_MIN_LISTINGS_FOR_PRICE_CHECK = 3


@attrs.define(kw_only=True)
class SearchPage:
    """What one results page yielded."""

    listings: list[RawListing] = attrs.Factory(list)
    status: PageStatus = PageStatus.OK
    cards: int = 0
    """Result cards found (``ul.srp-results > li.s-card|li.s-item``)."""
    reason: str = ""
    """One line for blocked, layout-change and empty pages (and expanded-results notes)."""
    next_url: str | None = None
    """Absolute URL of the next results page; ``None`` on the last page."""
    dropped: dict[str, int] = attrs.Factory(dict)
    """Cards skipped, by reason (``no_item_id``, ``no_title``, ``duplicate_id``, ``template_card``)."""
    rewritten: int = 0
    """Listings from eBay's expanded search (after a REWRITE_START notice), flagged ``extra["rewritten"]``."""
    results_text: str | None = None
    """The results-count heading, e.g. ``10,000+ results for lenovo laptop``."""


def parse_search_page(
    html: str | bytes,
    *,
    url: str,
    site: str,
    observed_at: datetime,
    query: str | None = None,
    sold_view: bool = False,
    http_status: int | None = None,
) -> SearchPage:
    """Parse saved or fetched HTML. Bytes are read as UTF-8: saved pages carry no charset."""
    # "utf-8-sig" also drops a byte-order mark; undecodable bytes become U+FFFD rather than failing.
    # Only the head is decoded here (4 bytes per character at most); the page goes to lxml as bytes.
    head = html[: 4 * HEAD_BYTES].decode("utf-8-sig", errors="replace") if isinstance(html, bytes) else html
    # A block page is recognised from its head before paying for a full parse.
    reason = detect_block(head[:HEAD_BYTES], http_status)
    if reason is not None:
        return SearchPage(status=PageStatus.BLOCKED, reason=reason)
    return parse_search_selector(
        page_selector(html),
        url=url,
        site=site,
        observed_at=observed_at,
        query=query,
        sold_view=sold_view,
        http_status=http_status,
    )


def page_selector(html: str | bytes, encoding: str = "utf-8") -> Selector:
    """The page parsed once. Bytes go to lxml as they are (no decoding into a string and encoding
    back): parsel decodes other encodings itself, and re-reads UTF-8 with undecodable bytes as U+FFFD."""
    if isinstance(html, str):
        return Selector(text=html)
    if codecs.lookup(encoding).name == "utf-8":
        html = html.removeprefix(codecs.BOM_UTF8)
    return Selector(body=html, encoding=encoding, type="html")


def parse_search_selector(
    sel: Selector,
    *,
    url: str,
    site: str,
    observed_at: datetime,
    query: str | None = None,
    sold_view: bool = False,
    http_status: int | None = None,
) -> SearchPage:
    """Parse a page already parsed by parsel (e.g. Scrapy's ``response.selector``)."""
    root = sel.root
    lists = _RESULT_LISTS(root)
    if not lists:
        return _page_without_results(root, http_status)

    # Listing URLs use the host the page came from (ebay.de pages link to www.ebay.de/itm/…).
    host = urlsplit(url).netloc or (
        site if site.startswith("www.") else f"www.{site}" if "." in site else "www.ebay.com"
    )
    ctx = PageContext(
        host=host, site=site, observed_at=observed_at, page_url=url, query=query, sold_view=sold_view
    )
    page = SearchPage()
    seen: set[str] = set()
    other_li = 0
    for ul in lists:
        rewritten = any(_REWRITE in (s.get("class") or "") for s in ul.itersiblings(preceding=True))
        for li in ul:
            if not isinstance(li.tag, str):
                continue
            cls = f" {li.get('class') or ''} "
            if " s-card " in cls:
                parts = read_s_card(li)
            elif " s-item " in cls:
                parts = read_s_item(li)
            else:
                if _REWRITE in cls:
                    rewritten = True
                elif "srp-river-answer" not in cls:
                    other_li += 1
                continue
            page.cards += 1
            result = build_listing(parts, ctx)
            if isinstance(result, str):
                page.dropped[result] = page.dropped.get(result, 0) + 1
                continue
            if result.item_id in seen:
                page.dropped["duplicate_id"] = page.dropped.get("duplicate_id", 0) + 1
                continue
            seen.add(result.item_id)
            if rewritten:
                result.extra["rewritten"] = "1"
                page.rewritten += 1
            page.listings.append(result)

    page.next_url = _next_url(lists[-1], root, url)
    heading = _COUNT_HEADING(root)
    if heading:
        page.results_text = tx.collapse(_STRING(heading[0])) or None
    _set_status(page, root, other_li)
    return page


def _set_status(page: SearchPage, root: Any, other_li: int) -> None:
    if page.cards == 0:
        message = _empty_message(root)
        if message is not None:
            page.status, page.reason = PageStatus.EMPTY, message
        elif other_li:
            page.status = PageStatus.LAYOUT_CHANGE
            page.reason = f"ul.srp-results has {other_li} li but none is li.s-card or li.s-item"
        else:
            page.status = PageStatus.LAYOUT_CHANGE
            page.reason = (
                "ul.srp-results holds no li.s-card or li.s-item and the page shows no empty-results message"
            )
    elif not page.listings:
        page.status = PageStatus.LAYOUT_CHANGE
        dropped = ", ".join(f"{k}={v}" for k, v in sorted(page.dropped.items()))
        page.reason = f"{page.cards} result cards but none parsed ({dropped})"
    elif len(page.listings) >= _MIN_LISTINGS_FOR_PRICE_CHECK and all(
        li.price_text is None for li in page.listings
    ):
        page.status = PageStatus.LAYOUT_CHANGE
        page.reason = f"no price in any of {len(page.listings)} listings (.s-card__price / .s-item__price)"
    elif page.rewritten:
        page.reason = f"{page.rewritten} of {len(page.listings)} listings from eBay's expanded search"


def _page_without_results(root: Any, http_status: int | None) -> SearchPage:
    """No ``ul.srp-results``: a block page, a genuine empty result, or markup we no longer know."""
    # Only reached for pages without results, so serializing the head here costs nothing in the
    # normal case; markers like "/splashui/captcha" are in attributes, not in the text.
    head = etree.tostring(root, encoding="unicode")[:HEAD_BYTES]
    title = _TITLE(root)
    reason = detect_block(head, http_status, title=title)
    if reason is not None:
        return SearchPage(status=PageStatus.BLOCKED, reason=reason)
    message = _empty_message(root)
    if message is not None:
        return SearchPage(status=PageStatus.EMPTY, reason=message)
    # eBay's own error page is an error of the fetch (counted as failed), not a changed layout.
    error = detect_error_page(head, http_status, title=title)
    if error is not None:
        return SearchPage(status=PageStatus.FAILED, reason=error)
    return SearchPage(
        status=PageStatus.LAYOUT_CHANGE,
        reason="no ul.srp-results on the page and no empty-results message",
    )


def _empty_message(root: Any) -> str | None:
    """The page's "0 results" / "No exact matches found" text if it is an eBay results page."""
    if not _SRP_SKELETON(root):
        return None
    for el in _EMPTY_MARKERS(root):
        text = tx.collapse(_STRING(el))
        if text and tx.NO_RESULTS_RE.search(text):
            return text if len(text) <= 120 else text[:119] + "…"
    return None


def _next_url(ul: Any, root: Any, page_url: str) -> str | None:
    """The pagination "next" link; eBay disables it (``aria-disabled`` or a button) on the last page."""
    container = ul.getparent()
    found = _NEXT_LINK(container) if container is not None else []
    if not found:
        found = _NEXT_LINK_ANYWHERE(root)
    for el in found:
        href = el.get("href")
        if href and el.get("aria-disabled") != "true":
            return urljoin(page_url, href)
    return None
