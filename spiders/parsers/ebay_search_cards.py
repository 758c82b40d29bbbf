"""Read one eBay result card (``li.s-card`` or ``li.s-item``) into a :class:`RawListing`.

Speed: the page is parsed once (by the caller's parsel ``Selector``); here every query is a
precompiled lxml XPath evaluated relative to the card's element, and a card costs one query for
its parts plus one per text block. No HTML is serialized or re-parsed.

The two layouts are read into the same intermediate :class:`CardParts` (texts only), and one
function turns that into a listing, so the format/sold/seller rules exist once for both.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lxml import etree

from gpuprices.core.items import ListingType, RawListing
from gpuprices.spiders.parsers import ebay_card_text as tx

# Per-card queries use a cheap substring test on @class; the exact class token is then checked in
# Python. (A token-exact XPath predicate on every element made a card ~6x slower to read.)
_SC_PARTS = etree.XPath(".//*[contains(@class, 's-card__')]")
_SC_LINK = etree.XPath(".//a[contains(@href, '/itm/')]/@href")
_SI_PARTS = etree.XPath(".//*[contains(@class, 's-item__')]")
# Old s-item sold pages put "Sold  Oct 3, 2020" in a POSITIVE span of the title tag block.
_SI_POSITIVE = etree.XPath(".//*[contains(@class, 'POSITIVE')]")
_SI_CONDITION = etree.XPath(".//*[contains(@class, 'SECONDARY_INFO')]")
_STRING = etree.XPath("string()")
# Text nodes, to be joined with spaces: adjacent spans ("3 bids", "Time left") carry no space.
_TEXT_NODES = etree.XPath(".//text()", smart_strings=False)

# /itm/123456789012 and the 2021 form /itm/Some-Title-Slug/123456789012.
# [0-9], not \d: \d also matches full-width and Arabic-Indic digits, which are no eBay id.
_ITM_ID = re.compile(r"/itm/(?:[^/?#]+/)?([0-9]{9,19})(?=[/?#]|$)")
_LISTING_ID = re.compile(r"[0-9]{9,19}")
_TEMPLATE_TITLE = "Shop on eBay"
# Direct children of a title or timer that hold no title text: visually hidden helper text
# ("Opens in a new window or tab", "Time left"), the s-card "New Listing" badge and sponsored
# tag blocks (their letters are scrambled, so they cannot be cut out of the text afterwards).
_SKIP_CHILD = ("clipped", "new-listing", "tagblock", "SPONSORED")


class CardParts:
    """Texts of one card, as displayed; layout-independent."""

    __slots__ = (
        "bids",
        "caption",
        "condition",
        "item_id",
        "location",
        "price_rows",
        "rows",
        "seller_text",
        "shipping",
        "subtitles",
        "time_left",
        "title",
    )

    def __init__(self) -> None:
        self.item_id: str | None = None
        self.title = ""
        # Each price row: (text of all price spans joined, class tokens of those spans).
        self.price_rows: list[tuple[str, frozenset[str]]] = []
        self.rows: list[str] = []  # other attribute rows, one line each
        self.subtitles: list[list[str]] = []
        self.caption: str | None = None
        self.time_left: str | None = None
        # Set from layout classes when the layout has them (s-item); else found by text.
        self.condition: str | None = None
        self.shipping: str | None = None
        self.location: str | None = None
        self.bids: int | None = None
        self.seller_text: str | None = None


def _text(el: Any) -> str:
    """Text as displayed: text nodes concatenated (a price split by comments stays "$28.12")."""
    return tx.collapse(_STRING(el))


def _row_text(el: Any) -> str:
    """Text of a row of separate spans, joined with spaces ("3 bids" + "Time left" + "2d left")."""
    return tx.collapse(" ".join(_TEXT_NODES(el)))


def _own_text(el: Any) -> str:
    """Text of ``el`` without direct children that are hidden helper text or badges."""
    parts = [el.text or ""]
    for ch in el:
        if isinstance(ch.tag, str):
            cls = ch.get("class") or ""
            if not any(s in cls for s in _SKIP_CHILD):
                parts.append(_STRING(ch))
        parts.append(ch.tail or "")
    return tx.collapse(" ".join(parts))


def _child_texts(el: Any) -> list[str]:
    """Texts of an element's child elements (the subtitle aspects), or its own text if it has none."""
    parts = [_STRING(ch) for ch in el if isinstance(ch.tag, str)]
    return parts or [_STRING(el)]


def _enclosing(el: Any, candidates: dict[Any, Any], stop: Any) -> Any:
    """The nearest ancestor of ``el`` (below ``stop``) that is a key of ``candidates``, or None."""
    parent = el.getparent()
    while parent is not None and parent is not stop:
        if parent in candidates:
            return parent
        parent = parent.getparent()
    return None


def read_s_card(card: Any) -> CardParts:
    """Parts of a ``li.s-card`` (mid-2025 on)."""
    p = CardParts()
    lid = card.get("data-listingid") or ""
    if _LISTING_ID.fullmatch(lid):
        p.item_id = lid
    else:
        for href in _SC_LINK(card):
            m = _ITM_ID.search(href)
            if m:
                p.item_id = m.group(1)
                break
    # Price spans grouped by the attribute row that holds them; rows in document order.
    row_prices: dict[Any, list[Any]] = {}
    for el in _SC_PARTS(card):
        cls = f" {el.get('class')} "
        if " s-card__attribute-row " in cls:
            row_prices[el] = []
        elif " s-card__price " in cls:
            row = _enclosing(el, row_prices, card)
            if row is None:  # a price outside any row: keep it as its own row rather than lose it
                row_prices[el] = [el]
            else:
                row_prices[row].append(el)
        elif " s-card__title " in cls:
            p.title = _own_text(el)
        elif " s-card__subtitle " in cls:
            p.subtitles.append(tx.segments(_child_texts(el)))
        elif " s-card__caption " in cls:
            p.caption = p.caption or _text(el) or None
        elif " s-card__time " in cls:
            p.time_left = _own_text(el) or None
    for row, prices in row_prices.items():  # dicts keep insertion (= document) order
        if prices:
            text = tx.collapse(" ".join(_STRING(pr) for pr in prices))
            tokens = frozenset(t for pr in prices for t in (pr.get("class") or "").split())
            p.price_rows.append((text, tokens))
        else:
            text = _row_text(row)
            if text:
                p.rows.append(text)
    return p


# s-item classes read directly, and the CardParts field each fills.
_SI_FIELDS = (
    (" s-item__shipping ", "shipping"),
    (" s-item__logisticsCost ", "shipping"),
    (" s-item__freeXDays ", "shipping"),
    (" s-item__location ", "location"),
    (" s-item__itemLocation ", "location"),
    (" s-item__bids ", "bids"),
    (" s-item__bidCount ", "bids"),
    (" s-item__seller-info-text ", "seller_text"),
    (" s-item__time-left ", "time_left"),
)
_SI_CAPTIONS = (
    " s-item__caption ",
    " s-item__caption--signal ",
    " s-item__ended-date ",
    " s-item__endedDate ",
)


def read_s_item(card: Any) -> CardParts:
    """Parts of a ``li.s-item`` (2021 to mid-2025)."""
    p = CardParts()
    details: dict[Any, bool] = {}  # detail row -> already read through a class-named field
    for el in _SI_PARTS(card):
        cls = f" {el.get('class')} "
        if " s-item__detail " in cls:
            details[el] = False
        elif " s-item__link " in cls:
            if p.item_id is None and (m := _ITM_ID.search(el.get("href") or "")):
                p.item_id = m.group(1)
        elif " s-item__title " in cls:
            p.title = p.title or _own_text(el)
        elif " s-item__subtitle " in cls:
            info = _SI_CONDITION(el)
            if info and p.condition is None:
                p.condition = _text(info[0]) or None
            p.subtitles.append(tx.segments(_child_texts(el)))
        elif " s-item__price " in cls:
            strike = any(
                "STRIKETHROUGH" in (d.get("class") or "").upper() for d in el.iter() if isinstance(d.tag, str)
            )
            p.price_rows.append((_text(el), frozenset({"strikethrough"} if strike else ())))
            _mark_read(el, details, card)
        elif " s-item__title--tagblock " in cls:
            if p.caption is None and (pos := _SI_POSITIVE(el)):
                p.caption = _text(pos[0]) or None
        elif any(c in cls for c in _SI_CAPTIONS):
            p.caption = p.caption or _text(el) or None
        else:
            for token, field in _SI_FIELDS:
                if token in cls:
                    if getattr(p, field) is None:
                        _set_field(p, field, _row_text(el))
                    _mark_read(el, details, card)
                    break
    for row, read in details.items():
        if not read and (text := _row_text(row)):
            p.rows.append(text)
    return p


def _mark_read(el: Any, details: dict[Any, bool], card: Any) -> None:
    row = _enclosing(el, details, card)
    if row is not None:
        details[row] = True


def _set_field(p: CardParts, field: str, text: str) -> None:
    if not text:
        return
    if field == "bids":
        p.bids = tx.parse_bids(text)
    elif field == "location":
        m = tx.LOCATION_RE.match(text)
        p.location = m["place"] if m else text
    else:
        setattr(p, field, text)


class PageContext:
    """Per-page values every listing of the page shares."""

    __slots__ = ("host", "observed_at", "page_url", "query", "site", "sold_view")

    def __init__(
        self,
        *,
        host: str,
        site: str,
        observed_at: datetime,
        page_url: str,
        query: str | None,
        sold_view: bool,
    ) -> None:
        self.host = host
        self.site = site
        self.observed_at = observed_at
        self.page_url = page_url
        self.query = query
        self.sold_view = sold_view


def build_listing(p: CardParts, ctx: PageContext) -> RawListing | str:
    """The listing of a card, or the reason (a ``dropped`` key) it has to be skipped."""
    if p.item_id is None:
        return "no_item_id"
    title = tx.clean_title(p.title)
    if not title:
        return "no_title"
    if title == _TEMPLATE_TITLE:
        return "template_card"
    extra: dict[str, str] = {}

    bids = p.bids
    time_left = p.time_left
    best_offer = accepted = bin_row = False
    shipping, location = p.shipping, p.location
    seller: tuple[str, int | None, str] | None = None
    if p.seller_text:
        seller = tx.parse_seller(p.seller_text)
    # Rows are told apart by their text; user names are matched first so that a seller called
    # "fastshipping" is not read as a shipping row.
    for row in p.rows:
        if seller is None and (found := tx.parse_seller(row)) is not None:
            seller = found
        elif tx.BEST_OFFER_ACCEPTED_RE.search(row):
            accepted = True
        elif (n := tx.parse_bids(row)) is not None:
            bids = n if bids is None else bids
            if time_left is None and (m := tx.TIME_LEFT_RE.search(row)):
                time_left = row[m.end() :].strip(" ·") or None
        elif tx.TIME_LEFT_RE.search(row):
            time_left = time_left or tx.TIME_LEFT_RE.sub("", row).strip(" ·") or None
        elif tx.BEST_OFFER_RE.search(row):
            best_offer = True
        elif tx.BUY_IT_NOW_RE.match(row):
            bin_row = True
        elif location is None and (m := tx.LOCATION_RE.match(row)):
            location = m["place"]
        elif shipping is None and tx.SHIPPING_RE.search(row):
            shipping = row

    price_text = bin_price_text = None
    price_cls: frozenset[str] = frozenset()
    if p.price_rows:
        price_text, price_cls = p.price_rows[0]
        price_text = price_text or None
    auction = bids is not None or time_left is not None
    if len(p.price_rows) > 1:
        # Auction + Buy It Now cards show the current bid, then the BIN price, in separate rows.
        if auction:
            bin_price_text = p.price_rows[1][0] or None
        else:
            extra["second_price"] = p.price_rows[1][0]

    sold = ended = False
    sold_at_text = None
    if p.caption:
        if tx.SOLD_RE.match(p.caption):
            sold = ended = True
            sold_at_text = p.caption
        elif tx.ENDED_RE.match(p.caption):
            ended = True
            sold_at_text = p.caption
        else:
            extra["caption"] = p.caption  # e.g. "NEW LOW PRICE"
    elif ctx.sold_view and price_cls:
        # No caption on a sold/completed page: eBay colours sold prices green ("positive").
        ended = True
        sold = "positive" in price_cls
    strike = "strikethrough" in price_cls
    if strike:
        extra["price_strikethrough"] = "1"
        # On sold pages a struck .s-card__price is the asking price of a "best offer accepted" sale.
        accepted = accepted or ended or ctx.sold_view
    if "italic" in price_cls:
        extra["price_italic"] = "1"
    if time_left:
        extra["time_left"] = time_left

    options: list[str] = []
    if auction:
        options.append("AUCTION")
    if bin_price_text is not None or bin_row or not auction:
        options.append("FIXED_PRICE")
    if best_offer or accepted:
        options.append("BEST_OFFER")
    if auction:
        listing_type = ListingType.AUCTION
    elif best_offer or accepted:
        listing_type = ListingType.BEST_OFFER
    else:
        listing_type = ListingType.BUY_IT_NOW

    condition = p.condition
    for sub in p.subtitles:
        for seg in sub:
            if seg.lower() in tx.SELLER_TYPES:
                extra["seller_type"] = seg
    if condition is None:
        condition = tx.pick_condition(p.subtitles)
        if condition is None and p.subtitles:
            extra["subtitle"] = " / ".join(" · ".join(r) for r in p.subtitles)

    return RawListing(
        source="ebay",
        site=ctx.site,
        item_id=p.item_id,
        title=title,
        url=f"https://{ctx.host}/itm/{p.item_id}",
        price_text=price_text,
        bin_price_text=bin_price_text,
        shipping_text=shipping,
        condition_raw=condition,
        listing_type=listing_type,
        buying_options=tuple(options),
        bids=bids,
        seller=seller[0] if seller else None,
        seller_feedback=seller[1] if seller else None,
        seller_feedback_pct=seller[2] if seller else None,
        location=location,
        sold=sold,
        ended=ended,
        sold_at_text=sold_at_text,
        best_offer_accepted=accepted,
        observed_at=ctx.observed_at,
        page_url=ctx.page_url,
        query=ctx.query,
        extra=extra,
    )
