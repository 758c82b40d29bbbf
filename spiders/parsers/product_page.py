"""Parse a retailer's product page into raw listings: schema.org offers first, per-domain CSS second.

Retailers publish their offers as schema.org ``Product`` data (JSON-LD, sometimes microdata) far
more stably than their markup, so that is read first, with extruct restricted to those two
syntaxes (the others cost a multiple of the time and never carry offers). The HTML is parsed once
(parsel); extruct works on that tree. Every offer of the page becomes its own listing: a
marketplace-style page with three sellers is three prices, not one.

Money stays text: ``price_value`` + ``currency_raw`` when the offer gives a plain number, else
``price_text`` (ranges, "1.299,00", "Call for price") for the normalizer, which drops what it
cannot read with a reason. A missing price is never 0.

Status: ``BLOCKED`` for a bot check, ``OK`` with listings, ``LAYOUT_CHANGE`` (reason names the
host) when neither structured offers nor a configured CSS price are found.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

import attrs
import extruct
from lxml import etree
from parsel import Selector

from gpuprices.core.items import PageStatus, RawListing
from gpuprices.spiders.blocks import HEAD_BYTES, detect_block

SOURCE = "product-page"
_PRODUCT_TYPES = frozenset({"Product", "ProductGroup", "ProductModel", "IndividualProduct", "SomeProducts"})
_GTIN_KEYS = ("gtin", "gtin13", "gtin12", "gtin14", "gtin8")
_PLAIN_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_ISO_LIKE = re.compile(r"^[A-Za-z]{3}$")
# extruct's own JSON-LD XPath matches this exact type; scripts are read one by one so that one
# malformed block (common) does not hide the Product block next to it.
_JSONLD_SCRIPTS = etree.XPath("//script[@type='application/ld+json']")
_CANONICAL = etree.XPath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content")
_FALLBACK_TITLE = etree.XPath("string((//meta[@property='og:title']/@content | //h1 | //title)[1])")
_WS = re.compile(r"\s+")

# schema.org ItemAvailability (last URL segment, lower case) → our states.
_SCHEMA_AVAILABILITY = {"instock": "in_stock", "instoreonly": "in_stock", "onlineonly": "in_stock",
                        "outofstock": "out_of_stock", "soldout": "out_of_stock", "preorder": "preorder",
                        "presale": "preorder", "backorder": "preorder", "limitedavailability": "limited",
                        "discontinued": "discontinued"}
# Shop texts, checked in this order: "not in stock" must not read as "in stock".
_TEXT_AVAILABILITY = (
    ("out_of_stock", re.compile(r"out of stock|sold out|not (?:in stock|available)|unavailable|ausverkauft"
                                r"|nicht (?:auf lager|verfügbar|lieferbar|vorrätig)|épuisé|rupture", re.I)),
    ("discontinued", re.compile(r"discontinued|end of life|nicht mehr erhältlich", re.I)),
    ("preorder", re.compile(r"pre-?order|back-?order|vorbestell|presale", re.I)),
    ("limited", re.compile(r"limited|only \d+ left|last one|nur noch|letzte", re.I)),
    ("in_stock", re.compile(r"in stock|auf lager|lieferbar|vorrätig|en stock|disponible|available", re.I)),
)


@attrs.define(kw_only=True)
class ProductPage:
    """What one product page yielded."""

    listings: list[RawListing] = attrs.Factory(list)
    status: PageStatus = PageStatus.OK
    reason: str = ""
    method: str = ""
    """Where the offers came from: ``json-ld``, ``microdata`` or ``css`` (empty when none)."""


@attrs.define(kw_only=True)
class _Context:
    site: str
    page_url: str
    canonical: str
    observed_at: datetime
    title: str
    """og:title, h1 or <title>: for a Product without a name."""


# --- small value readers (schema.org values are str, number, dict or list) ----------------------------
def types_of(node: Mapping[str, Any]) -> set[str]:
    """``@type`` as bare names: "http://schema.org/Product" and "schema:Product" → "Product"."""
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/:#]", name)[-1] for name in names if isinstance(name, str)}


def text_of(value: Any) -> str | None:
    """A scalar as text: a dict gives its name/value/@id, a list its first usable entry."""
    if isinstance(value, list):
        return next((t for t in (text_of(v) for v in value) if t), None)
    if isinstance(value, dict):
        return next((t for t in (text_of(value.get(k)) for k in ("name", "value", "@value", "@id")) if t), None)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        value = format(Decimal(repr(value)), "f")  # 3971.45, not 3971.4500000000003
    text = _WS.sub(" ", str(value)).strip()
    return text or None


def availability_state(value: str | None) -> str | None:
    """schema.org availability URL/name or a shop's stock text → ``in_stock``/``out_of_stock``/…"""
    if not value:
        return None
    key = re.sub(r"[^a-z]", "", re.split(r"[/:#]", value.strip())[-1].lower())
    if key in _SCHEMA_AVAILABILITY:
        return _SCHEMA_AVAILABILITY[key]
    return next((state for state, pattern in _TEXT_AVAILABILITY if pattern.search(value)), None)


def _condition(value: Any) -> str | None:
    text = text_of(value)
    if text is None:
        return None
    name = re.split(r"[/:#]", text)[-1]
    return (name[: -len("Condition")] or None) if name.endswith("Condition") else text


def _plain(text: str) -> str:
    """A canonical decimal string; "12.125" gets a 4th digit so no locale reads it as 12125."""
    number = format(Decimal(text).normalize(), "f")
    int_part, _, frac = number.partition(".")
    return number + "0" if len(frac) == 3 and len(int_part) <= 3 and int_part != "0" else number


# --- structured data ----------------------------------------------------------------------------------
def jsonld_items(root: Any) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page; a script that does not parse is skipped."""
    items: list[dict[str, Any]] = []
    for script in _JSONLD_SCRIPTS(root):
        data = extruct.extract(script, syntaxes=["json-ld"], errors="ignore")
        items.extend(item for item in data.get("json-ld", []) if isinstance(item, dict))
    return items


def find_products(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Product nodes anywhere (``@graph``, ``mainEntity``, ``Offer.itemOffered``); variants expanded."""
    found: list[dict[str, Any]] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 10:
            return
        if isinstance(node, list):
            for child in node:
                walk(child, depth + 1)
            return
        if not isinstance(node, dict):
            return
        types = types_of(node)
        if types & _PRODUCT_TYPES:
            found.extend(_expand_variants(node))
        elif "Offer" in types and isinstance(node.get("itemOffered"), dict):
            offer = {k: v for k, v in node.items() if k != "itemOffered"}
            found.append({**node["itemOffered"], "offers": offer})
        else:
            for key, value in node.items():
                if key != "@context":
                    walk(value, depth + 1)

    walk(list(items), 0)
    return found


def _expand_variants(product: dict[str, Any]) -> list[dict[str, Any]]:
    variants = product.get("hasVariant")
    if not isinstance(variants, list | dict):
        return [product]
    inherited = {k: product[k] for k in ("name", "brand", "url", "offers") if k in product}
    expanded = [{**inherited, **v} for v in (variants if isinstance(variants, list) else [variants])
                if isinstance(v, dict)]
    return expanded or [product]


def offers_of(product: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = product.get("offers")
    return [o for o in (raw if isinstance(raw, list) else [raw]) if isinstance(o, dict)]


def offer_price(offer: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(price_value, price_text, currency) of an Offer or AggregateOffer: exactly one of the first two."""
    spec = offer.get("priceSpecification")
    specs = [s for s in (spec if isinstance(spec, list) else [spec]) if isinstance(s, dict)]
    # A list price / strikethrough price is not what the shop asks.
    spec = next((s for s in specs if "list" not in (text_of(s.get("priceType")) or "").lower()
                 and "strikethrough" not in (text_of(s.get("priceType")) or "").lower()), None)
    currency = text_of(offer.get("priceCurrency")) or (text_of(spec.get("priceCurrency")) if spec else None)
    low = text_of(offer.get("lowPrice")) if "AggregateOffer" in types_of(offer) else None
    high = text_of(offer.get("highPrice")) if low else None
    single = low or text_of(offer.get("price")) or (text_of(spec.get("price")) if spec else None)
    if single is None:
        return None, None, currency
    iso = currency is not None and bool(_ISO_LIKE.match(currency))
    if high and _PLAIN_NUMBER.match(single) and _PLAIN_NUMBER.match(high) and Decimal(high) > Decimal(single):
        prefix = f"{currency.upper()} " if currency and iso else ""
        return None, f"{prefix}{_plain(single)} to {_plain(high)}", currency
    if _PLAIN_NUMBER.match(single) and iso:
        return single, None, currency
    return None, single, currency  # "1.299,00", "$1,299", "Call for price": the normalizer decides


def _first(nodes: Iterable[Mapping[str, Any]], keys: tuple[str, ...]) -> str | None:
    return next((t for node in nodes for key in keys if (t := text_of(node.get(key)))), None)


def _structured_listings(products: list[dict[str, Any]], ctx: _Context) -> Iterator[RawListing]:
    unnamed = 0
    seen: set[tuple[str, str | None]] = set()  # pages often repeat their Product block
    for product in products:
        offers = offers_of(product)
        if not offers:
            continue
        # A shop's SKU, else the GTIN or MPN; a lone offer may carry them instead of the product.
        key = _first([product, *offers[:1]] if len(offers) == 1 else [product], ("sku", *_GTIN_KEYS, "mpn"))
        if key is None:
            key = _url_key(ctx.canonical) + (f"-{unnamed}" if unnamed else "")
            unnamed += 1
        labels = _variation_labels(offers)
        for index, offer in enumerate(offers):
            variation = labels[index] if labels else None
            if (key, variation) in seen:
                continue
            seen.add((key, variation))
            value, text, currency = offer_price(offer)
            extra = {k: v for k, v in (
                ("sku", _first([offer, product], ("sku",))), ("gtin", _first([offer, product], _GTIN_KEYS)),
                ("mpn", _first([offer, product], ("mpn",))), ("brand", _first([product], ("brand",))),
            ) if v}
            availability_raw = text_of(offer.get("availability"))
            availability = availability_state(availability_raw)
            if availability_raw and availability is None:
                extra["availability_raw"] = availability_raw
            shipping = offer.get("shippingDetails")
            rate = (shipping[0] if isinstance(shipping, list) and shipping else shipping) or {}
            rate = rate.get("shippingRate") if isinstance(rate, dict) else None
            offer_url = text_of(offer.get("url"))
            yield RawListing(
                source=SOURCE, site=ctx.site, item_id=f"{ctx.site}:{key}",
                variation_id=variation,
                title=text_of(product.get("name")) or ctx.title,
                url=urljoin(ctx.page_url, offer_url) if offer_url else ctx.canonical,
                price_value=value, price_text=text, currency_raw=currency,
                shipping_value=text_of(rate.get("value")) if isinstance(rate, dict) else None,
                shipping_currency_raw=text_of(rate.get("currency")) if isinstance(rate, dict) else None,
                condition_raw=_condition(offer.get("itemCondition") or product.get("itemCondition")),
                seller=text_of(offer.get("seller")), availability=availability,
                observed_at=ctx.observed_at, page_url=ctx.page_url, extra=extra,
            )


def _variation_labels(offers: list[dict[str, Any]]) -> list[str] | None:
    """One label per offer of a multi-offer product: their SKUs or sellers when distinct, else indexes."""
    if len(offers) < 2:
        return None
    for key in ("sku", "seller"):
        labels = [text_of(o.get(key)) for o in offers]
        if all(labels) and len(set(labels)) == len(labels):
            return [str(label) for label in labels]
    return [str(i) for i in range(len(offers))]


def _url_key(url: str) -> str:
    return "url-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


# --- CSS fallback ---------------------------------------------------------------------------------------
def _css_text(sel: Selector, css: str | None) -> str | None:
    if not css:
        return None
    try:
        found = sel.css(css)
    except (SyntaxError, ValueError):  # cssselect's SelectorSyntaxError is a SyntaxError
        return None
    if not found:
        return None
    node = found[0]
    if "::" in css:  # ::text / ::attr(...) already name the value
        return text_of(node.get())
    # string() keeps "$<b>145</b><sup>.99</sup>" as "$145.99"; a meta tag carries its value in content.
    return text_of(node.attrib.get("content")) or text_of(node.xpath("string()").get())


def _css_listing(sel: Selector, conf: Mapping[str, Any], ctx: _Context) -> RawListing | str:
    price = _css_text(sel, conf.get("price"))
    if price is None:
        return f"CSS price selector {conf.get('price')!r} matched nothing (or is not valid CSS)"
    # Markup like "<strong>14,899</strong>\n<sup>.99</sup>" leaves a gap that would split the number.
    price = re.sub(r"(?<=\d)\s+(?=[.,]\d)", "", price)
    currency = conf.get("currency")
    currency = currency if currency and re.fullmatch(r"[A-Z]{3}", currency) else _css_text(sel, currency)
    extra = {k: v for k in ("gtin", "mpn") if (v := _css_text(sel, conf.get(k)))}
    availability_raw = _css_text(sel, conf.get("availability"))
    availability = availability_state(availability_raw)
    if availability_raw and availability is None:
        extra["availability_raw"] = availability_raw
    key = extra.get("gtin") or extra.get("mpn") or _url_key(ctx.canonical)
    title = _css_text(sel, conf.get("title")) or ctx.title
    return RawListing(source=SOURCE, site=ctx.site, item_id=f"{ctx.site}:{key}", title=title, url=ctx.canonical,
                      price_text=price, currency_raw=currency, availability=availability,
                      observed_at=ctx.observed_at, page_url=ctx.page_url, extra=extra)


# --- entry points ---------------------------------------------------------------------------------------
def parse_product_page(html: str | bytes, *, url: str, observed_at: datetime,
                       selectors: Mapping[str, Any] | None = None, http_status: int | None = None) -> ProductPage:
    """Parse saved or fetched HTML (bytes are UTF-8: saved pages carry no charset)."""
    text = html.decode("utf-8-sig", errors="replace") if isinstance(html, bytes) else html
    reason = detect_block(text[:HEAD_BYTES], http_status)
    if reason is not None:
        return ProductPage(status=PageStatus.BLOCKED, reason=reason)
    return parse_product_selector(Selector(text=text, base_url=url), url=url, observed_at=observed_at,
                                  selectors=selectors, http_status=http_status)


def parse_product_selector(sel: Selector, *, url: str, observed_at: datetime,
                           selectors: Mapping[str, Any] | None = None, http_status: int | None = None) -> ProductPage:
    """Parse a page already parsed by parsel (Scrapy's ``response.selector``)."""
    root = sel.root
    canonical = next((urljoin(url, c) for c in _CANONICAL(root) if c.strip()), url.split("#")[0])
    host = (urlsplit(url).hostname or urlsplit(canonical).hostname or "").lower()
    site = host[4:] if host.startswith("www.") else host
    ctx = _Context(site=site, page_url=url, canonical=canonical, observed_at=observed_at,
                   title=text_of(_FALLBACK_TITLE(root)) or "")
    conf: Any = next((c for h in (host, site, f"www.{site}") if (c := (selectors or {}).get(h)) is not None), None)
    if conf is not None and not isinstance(conf, Mapping):  # a DomainSelectors model passed directly
        conf = conf.model_dump()

    products = find_products(jsonld_items(root))
    method = "json-ld"
    if not any(offers_of(p) for p in products):
        micro = extruct.extract(root, base_url=url, syntaxes=["microdata"], uniform=True, errors="ignore")
        products, method = find_products(micro.get("microdata", [])) or products, "microdata"
    listings = list(_structured_listings(products, ctx))
    priced = any(li.price_value or li.price_text for li in listings)
    if listings and (priced or conf is None):
        return ProductPage(listings=listings, method=method)
    if not listings:
        # Only a page without offers can be a bot check; serializing its head costs nothing then.
        blocked = detect_block(etree.tostring(root, encoding="unicode")[:HEAD_BYTES], http_status)
        if blocked is not None:
            return ProductPage(status=PageStatus.BLOCKED, reason=blocked)
    if conf is not None:
        result = _css_listing(sel, conf, ctx)
        if isinstance(result, RawListing):
            return ProductPage(listings=[result], method="css")
        if listings:  # unpriced structured offers: the normalizer drops and counts them
            return ProductPage(listings=listings, method=method)
        return ProductPage(status=PageStatus.LAYOUT_CHANGE, reason=f"{host}: no schema.org offer and {result}")
    what = f"{len(products)} schema.org Product(s) without offers" if products else "no JSON-LD/microdata Product offer"
    return ProductPage(status=PageStatus.LAYOUT_CHANGE,
                       reason=f"{what} on {host or url} and no CSS selectors configured for it")

