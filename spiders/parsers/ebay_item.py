"""Parse an eBay item (``/itm/<id>``) page into one raw listing.

Pure functions, no Scrapy: the spider passes ``response.selector`` to :func:`parse_item_selector`;
tests and ``gpuprices parse`` pass saved HTML to :func:`parse_item_page`.

The displayed price (``.x-price-primary``) is the listing's price in the seller's currency. The
page's JSON-LD ``Product`` offer is kept for audit only: eBay fills it with the price converted
to the visitor's currency (GT-7: "EUR 3,500.00" on the page, ``USD 3971.45`` in JSON-LD), so it is
never used as the price; ``extra["jsonld_converted"]`` marks a currency that differs.

Status: ``BLOCKED`` for a bot check, ``LAYOUT_CHANGE`` when the title or the price is missing
(reason says which), else ``OK``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import attrs
from lxml import etree
from parsel import Selector

from gpuprices.core.items import ListingType, PageStatus, RawListing
from gpuprices.core.money import parse_price
from gpuprices.exceptions import PriceParseError
from gpuprices.spiders.blocks import HEAD_BYTES, detect_block, detect_error_page
from gpuprices.spiders.parsers import ebay_card_text as tx
from gpuprices.spiders.parsers.product_page import (
    availability_state,
    find_products,
    jsonld_items,
    offer_price,
    offers_of,
)


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# Document-wide queries name the element first (see spiders.parsers.ebay_search): cheap on 700 KB pages.
_ITEM_NUMBER = etree.XPath(f"//div[{_has_class('ux-layout-section__textual-display--itemId')}]"
                           f" | //span[{_has_class('ux-layout-section__textual-display--itemId')}]")
_CANONICAL = etree.XPath("//link[@rel='canonical']/@href")
_TITLE = etree.XPath(f"//h1[{_has_class('x-item-title__mainTitle')}] | //h1[@id='itemTitle']")
_BID_BLOCK = etree.XPath(f"//div[{_has_class('x-bid-price')}]")
_BIN_BLOCK = etree.XPath(f"//div[{_has_class('x-bin-price')}]")
_PRICE_PRIMARY = etree.XPath(f".//div[{_has_class('x-price-primary')}]")
_PRICE_APPROX = etree.XPath(f".//div[{_has_class('x-price-approx')}]")
_OR_BEST_OFFER = etree.XPath(f".//span[{_has_class('x-price-primary__orBestOffer')}]")
_OFFER_BUTTON = etree.XPath(f"//div[{_has_class('x-offer-action')}]")
_BID_COUNT = etree.XPath(f"//div[{_has_class('x-bid-count')} or @data-testid='x-bid-count']")
_CONDITION = etree.XPath(f"//div[{_has_class('x-item-condition-text')}]")
_CONDITION_ROW = etree.XPath(f"//dl[{_has_class('ux-labels-values--condition')}]"
                             f"//*[{_has_class('ux-labels-values__values')}]")
_SHIPPING = etree.XPath(f"//div[{_has_class('ux-labels-values--shipping')}]"
                        f"//div[{_has_class('ux-labels-values__values-content')}]/div")
_VALUE_SPANS = etree.XPath(f"//div[{_has_class('ux-labels-values__values')}]//span[{_has_class('ux-textspans')}]")
_SELLER_INFO = etree.XPath(f"//div[{_has_class('x-sellercard-atf__info__about-seller')}]")
_SELLER_ITEMS = etree.XPath(f".//div[{_has_class('x-sellercard-atf__about-seller-item')}]")
_SELLER_DATA = etree.XPath(f"//div[{_has_class('x-sellercard-atf__data-item')}]")
_OLD_SELLER = etree.XPath(f"//div[{_has_class('ux-seller-section__item--seller')}]")
_SPECIFICS = etree.XPath(f"//div[{_has_class('ux-layout-section-evo__item')}]//*[{_has_class('ux-labels-values')}]")
_LABEL = etree.XPath(f".//*[{_has_class('ux-labels-values__labels')}]")
_VALUE = etree.XPath(f".//*[{_has_class('ux-labels-values__values')}]")
_STATUS = etree.XPath(f"//div[@data-testid='d-statusmessage' or {_has_class('d-statusmessage')}"
                      f" or {_has_class('ux-message')} or @id='msgPanel']")
_TITLE_TAG = etree.XPath("string((//title)[1])")

# Subtrees whose text is not what the visitor reads: screen-reader copies, tooltips, buttons.
_HIDDEN_TAGS = frozenset({"script", "style", "button", "svg", "noscript"})
_HIDDEN_CLASSES = ("clipped", "tooltip__overlay", "infotip", "ux-bubble-help", "x-item-title__seeOriginalTitle",
                   "x-price-primary__orBestOffer")
_ITM_ID = re.compile(r"/itm/(?:[^/?#]+/)?([0-9]{9,15})(?:[/?#]|$)")  # [0-9]: \d is any Unicode digit
_DIGITS = re.compile(r"\b(\d{9,15})\b")
_APPROX_USD = re.compile(r"US\s?\$\s?(\d[\d,]*(?:\.\d+)?)")
_FEEDBACK = re.compile(r"^\(\s*(\d[\d.,\u00a0 ]*[KkMm]?)\s*\)$")
_PERCENT = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s*%")
_LOCATION = re.compile(
    r"^(?:Located in|Item location|Standort|Artikelstandort|Situé à|Lieu où se trouve l['’]objet|Si trova a"
    r"|Ubicado en|Ubicación del artículo|Locatie)\s*:\s*(?P<place>\S.*)$", re.IGNORECASE)
# "sold on <date>", never a bare "sold": "This item is sold out" is a stock state, not a sale.
_SOLD = re.compile(r"\bsold on\b|wurde verkauft|verkauft am|a été vendu|è stato venduto|se vendió",
                   re.IGNORECASE)
_ENDED = re.compile(r"listing (?:has |was )?ended|ended on|bidding (?:has )?ended|auction (?:has )?ended"
                    r"|wurde beendet|ist beendet|est terminée|è terminata|ha finalizado", re.IGNORECASE)
_OUT_OF_STOCK = re.compile(r"out of stock|sold out|ausverkauft|nicht (?:mehr )?vorrätig|épuisé|esaurito|agotado",
                           re.IGNORECASE)
_MPN_LABELS = ("mpn", "manufacturer part number", "herstellernummer", "numéro de pièce fabricant",
               "numero parte produttore", "número de pieza del fabricante")
_GTIN_LABELS = ("upc", "ean", "gtin", "isbn")
_BRAND_LABELS = ("brand", "marke", "marque", "marca", "merk")


@attrs.define(kw_only=True)
class ItemPage:
    """What one item page yielded."""

    listing: RawListing | None = None
    status: PageStatus = PageStatus.OK
    reason: str = ""
    jsonld: dict[str, Any] | None = None
    """The page's JSON-LD ``Product`` (audit only: its offer price may be converted)."""


def _visible(el: Any) -> str:
    """Text a visitor sees in ``el``, one line; hidden copies, tooltips and buttons are skipped."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node.tag, str):
            cls = node.get("class") or ""
            if node.tag in _HIDDEN_TAGS or any(c in cls for c in _HIDDEN_CLASSES):
                return
            if node.text:
                parts.append(node.text)
            for child in node:
                walk(child)
                if child.tail:
                    parts.append(child.tail)

    walk(el)
    # Spans are joined with a space; a space left before punctuation ("DHL .") is closed up.
    return re.sub(r"\s+([.,;:)])", r"\1", tx.collapse(" ".join(parts)))


def item_id_from(text: str) -> str | None:
    """The numeric id of an item id or any ``/itm/`` URL (``/itm/<slug>/<id>`` too)."""
    text = text.strip()
    if re.fullmatch(r"[0-9]{9,15}", text):
        return text
    m = _ITM_ID.search(text)
    return m.group(1) if m else None


def parse_item_page(html: str | bytes, *, url: str, site: str, observed_at: datetime,
                    http_status: int | None = None) -> ItemPage:
    """Parse saved or fetched HTML. Bytes are decoded as UTF-8: saved pages carry no charset."""
    text = html.decode("utf-8-sig", errors="replace") if isinstance(html, bytes) else html
    reason = detect_block(text[:HEAD_BYTES], http_status)
    if reason is not None:
        return ItemPage(status=PageStatus.BLOCKED, reason=reason)
    return parse_item_selector(Selector(text=text), url=url, site=site, observed_at=observed_at,
                               http_status=http_status)


def parse_item_selector(sel: Selector, *, url: str, site: str, observed_at: datetime,
                        http_status: int | None = None) -> ItemPage:
    """Parse a page already parsed by parsel (e.g. Scrapy's ``response.selector``)."""
    root = sel.root
    titles = _TITLE(root)
    title = re.sub(r"\s+[-–—|:]+$", "", _visible(titles[0])) if titles else ""
    bid_block, bin_block = _BID_BLOCK(root), _BIN_BLOCK(root)
    price_block = (bid_block or bin_block or [root])[0]
    primaries = _PRICE_PRIMARY(price_block)
    price_text = _price_text(primaries[0]) if primaries else None
    if not title or not price_text:
        head = etree.tostring(root, encoding="unicode")[:HEAD_BYTES]
        blocked = detect_block(head, http_status, title=_TITLE_TAG(root))
        if blocked is not None:
            return ItemPage(status=PageStatus.BLOCKED, reason=blocked)
        error = detect_error_page(head, http_status, title=_TITLE_TAG(root))
        if error is not None:  # a removed listing or an eBay outage: failed, not a changed layout
            return ItemPage(status=PageStatus.FAILED, reason=error)
        missing = " and ".join(w for w, ok in (("title (h1.x-item-title__mainTitle)", title),
                                               ("price (.x-price-primary)", price_text)) if not ok)
        return ItemPage(status=PageStatus.LAYOUT_CHANGE, reason=f"item page without {missing}")

    canonical = next((c for c in _CANONICAL(root) if "/itm/" in c), None)
    item_id = _item_id(root, canonical, url)
    if item_id is None:
        return ItemPage(status=PageStatus.LAYOUT_CHANGE, reason="no item number, canonical /itm/ link or URL id")
    host = urlsplit(url).netloc if urlsplit(url).scheme in ("http", "https") else f"www.{site}"
    extra: dict[str, str] = {}
    listing = RawListing(source="ebay-item", site=site, item_id=item_id, title=title,
                         url=canonical or f"https://{host}/itm/{item_id}", price_text=price_text,
                         observed_at=observed_at, page_url=url, extra=extra)
    _format(listing, root, bid_block, bin_block, primaries[0])
    approx = _PRICE_APPROX(price_block) or _PRICE_APPROX(root)
    if approx:
        extra["price_approx_text"] = _visible(approx[0])
        m = _APPROX_USD.search(extra["price_approx_text"])
        if m:
            extra["price_approx_usd"] = m.group(1).replace(",", "")
    conditions = _CONDITION(root) or _CONDITION_ROW(root)
    if conditions:
        listing.condition_raw = _visible(conditions[0]).split(":")[0].strip() or None
    _shipping_and_location(listing, root)
    _seller(listing, root)
    specifics = _specifics(root)
    if specifics:
        extra["specifics"] = json.dumps(specifics, ensure_ascii=False)
        for key, labels in (("mpn", _MPN_LABELS), ("gtin", _GTIN_LABELS), ("brand", _BRAND_LABELS)):
            value = next((v for k, v in specifics.items() if k.lower() in labels), None)
            if value:
                extra[key] = value
    _status_message(listing, root)
    product = next(iter(find_products(jsonld_items(root))), None)
    if product is not None:
        _jsonld_offer(listing, product)
    if listing.ended and listing.availability == "in_stock":
        listing.availability = None  # the ended banner outranks a stale offer
    return ItemPage(listing=listing, jsonld=product)


def _price_text(primary: Any) -> str | None:
    text = tx.BEST_OFFER_RE.sub("", _visible(primary)).strip()
    return text or None


def _item_id(root: Any, canonical: str | None, url: str) -> str | None:
    for el in _ITEM_NUMBER(root):
        m = _DIGITS.search(_visible(el))
        if m:
            return m.group(1)
    return item_id_from(canonical or "") or item_id_from(url)


def _format(listing: RawListing, root: Any, bid_block: list[Any], bin_block: list[Any], primary: Any) -> None:
    """Auction (bid block, bid count), Buy It Now, Best Offer ("or Best Offer" in the price block or a
    Make-offer button)."""
    best_offer = bool(_OR_BEST_OFFER(primary) or tx.BEST_OFFER_RE.search(_visible(primary)) or _OFFER_BUTTON(root))
    options: list[str] = []
    if bid_block:
        options.append("AUCTION")
        listing.listing_type = ListingType.AUCTION
        counts = _BID_COUNT(root)
        listing.bids = tx.parse_bids(_visible(counts[0])) if counts else None
        bin_prices = _PRICE_PRIMARY(bin_block[0]) if bin_block else []
        if bin_prices:
            listing.bin_price_text = _price_text(bin_prices[0])
    if bin_block:
        options.append("FIXED_PRICE")
    if best_offer:
        options.append("BEST_OFFER")
    if not bid_block:
        listing.listing_type = ListingType.BEST_OFFER if best_offer else ListingType.BUY_IT_NOW if bin_block else None
    listing.buying_options = tuple(options)


def _shipping_and_location(listing: RawListing, root: Any) -> None:
    rows = [_visible(div) for div in _SHIPPING(root)]
    rows = [row for row in rows if row]
    if rows and not _LOCATION.match(rows[0]):
        listing.shipping_text = rows[0].rstrip(". ")
    for span in _VALUE_SPANS(root):
        m = _LOCATION.match(tx.collapse(span.xpath("string()")))
        if m:
            listing.location = m.group("place")
            return


def _seller(listing: RawListing, root: Any) -> None:
    info = _SELLER_INFO(root) or _OLD_SELLER(root)
    if not info:
        return
    links = info[0].xpath(".//a")
    listing.seller = (_visible(links[0]) if links else None) or None
    for item in _SELLER_ITEMS(info[0]):
        text = _visible(item)
        m = _FEEDBACK.match(text)
        if m and listing.seller_feedback is None:
            listing.seller_feedback = tx.parse_feedback(m.group(1))
        elif text.split(" ")[0].lower() in tx.SELLER_TYPES:
            listing.extra["seller_type"] = text.split(" ")[0]
    for item in _SELLER_DATA(root):
        m = _PERCENT.search(item.xpath("string()"))  # "100% positive" sits inside a button
        if m:
            listing.seller_feedback_pct = m.group(1).replace(",", ".")
            break


def _specifics(root: Any) -> dict[str, str]:
    """Item specifics, label → value (first wins: ebay.de repeats them in a product section)."""
    found: dict[str, str] = {}
    for row in _SPECIFICS(root):
        if "ux-labels-values--condition" in (row.get("class") or ""):
            continue  # the condition has its own field; its value here is eBay's long definition
        labels, values = _LABEL(row), _VALUE(row)
        label = _visible(labels[0]).rstrip(":").strip() if labels else ""
        value = _visible(values[0]) if values else ""
        if label and value and label not in found:
            found[label] = value[:300]
    return found


def _status_message(listing: RawListing, root: Any) -> None:
    """The banner of an ended, sold or out-of-stock listing."""
    for box in _STATUS(root):
        text = _visible(box)
        if _SOLD.search(text):
            listing.sold = listing.ended = True
        elif _ENDED.search(text):
            listing.ended = True
        elif _OUT_OF_STOCK.search(text):
            listing.availability = "out_of_stock"
            continue
        else:
            continue
        listing.sold_at_text = text[:200]
        listing.extra["status_message"] = text[:200]
        return


def _jsonld_offer(listing: RawListing, product: dict[str, Any]) -> None:
    offers = offers_of(product)
    if not offers:
        return
    value, text, currency = offer_price(offers[0])
    state = availability_state(str(offers[0].get("availability") or ""))
    if listing.availability is None:
        listing.availability = state
    price = value or text
    if price:
        listing.extra["jsonld_price"] = price
    if currency:
        listing.extra["jsonld_currency"] = currency
    if not (value and currency and listing.price_text):
        return
    try:
        shown = parse_price(listing.price_text, site=listing.site)
    except PriceParseError:
        return
    if shown.currency != currency.upper():
        listing.extra["jsonld_converted"] = "1"  # eBay's conversion to the visitor's currency
    elif shown.amount != Decimal(value):
        listing.extra["jsonld_price_differs"] = "1"
