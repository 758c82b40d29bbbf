"""What the spiders hand to the pipeline: listings exactly as the source showed them.

Parsers never interpret money, dates or conditions; they keep the texts the page or API
returned so the pipeline can normalize them (and re-normalize them later) in one place.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs


class ListingType(enum.StrEnum):
    """How the listing is sold."""

    BUY_IT_NOW = "buy_it_now"
    AUCTION = "auction"
    BEST_OFFER = "best_offer"


class PageStatus(enum.StrEnum):
    """What a fetched page turned out to be."""

    OK = "ok"
    """Result cards were found and parsed."""
    EMPTY = "empty"
    """A genuine results page without results."""
    BLOCKED = "blocked"
    """A bot check or an edge error page instead of results."""
    LAYOUT_CHANGE = "layout_change"
    """A results page whose cards parse to nothing: our selectors no longer fit."""
    FAILED = "failed"
    """The page could not be fetched (network error, HTTP error after retries, budget exhausted)."""


UNREADABLE_PAGE = "unreadable_page"
"""``dropped`` reason of a page whose parser failed on its content."""


@attrs.define(kw_only=True)
class RawListing:
    """One listing as a source showed it, before normalization."""

    source: str
    """Source that produced it (a registry name): ``ebay`` (search pages), ``ebay-api`` (Browse API) …"""
    family: str = ""
    """Whose item ids these are (``ebay`` for every eBay source): a listing is one row per family, item id
    and variation, whichever source saw it. Empty means the source name."""
    site: str
    """Marketplace host or id, e.g. ``ebay.com``, ``ebay.de``, ``EBAY_US``; gives currency hints."""
    item_id: str
    """The marketplace's listing id (eBay's legacy numeric id)."""
    title: str
    """Listing title with layout noise ("Opens in a new window or tab") removed."""
    url: str | None = None
    """Canonical listing URL."""
    variation_id: str | None = None
    """Variation id of a multi-variation listing (API ``v1|item|variation``); ``None`` otherwise."""
    price_text: str | None = None
    """Price exactly as displayed (search pages), e.g. ``$10.44 to $15.96`` or ``EUR 17,72 bis EUR 18,66``."""
    price_value: str | None = None
    """Price amount as a decimal string when the source gives one (API ``price.value``)."""
    currency_raw: str | None = None
    """Currency as the source wrote it (API ``price.currency``); parsers of pages leave it to the normalizer."""
    bin_price_text: str | None = None
    """An auction's Buy It Now price as displayed."""
    shipping_text: str | None = None
    """Shipping/delivery text as displayed, e.g. ``+$32.51 delivery`` or ``Free International Shipping``."""
    shipping_value: str | None = None
    """Shipping amount when the source gives a number (API ``shippingCost.value``)."""
    shipping_currency_raw: str | None = None
    """Currency of ``shipping_value`` as the source wrote it."""
    condition_raw: str | None = None
    """Condition text as displayed (``Pre-Owned``, ``Neu``, ``真新しい新品``)."""
    condition_id: str | None = None
    """eBay's numeric condition id when known (API ``conditionId``)."""
    listing_type: ListingType | None = None
    """Main selling format."""
    buying_options: tuple[str, ...] = ()
    """All formats offered (API ``buyingOptions`` or what the card shows), e.g. ``("FIXED_PRICE", "BEST_OFFER")``."""
    bids: int | None = None
    """Number of bids of an auction."""
    seller: str | None = None
    """Seller user name when shown."""
    seller_feedback: int | None = None
    """Seller feedback score when shown."""
    seller_feedback_pct: str | None = None
    """Seller positive feedback percentage as a decimal string when shown."""
    location: str | None = None
    """Item location (country code or text) when shown."""
    availability: str | None = None
    """Stock state when the page says (``in_stock``, ``out_of_stock``, ``preorder``, ``limited``); out of
    stock is a state, the price is still kept."""
    sold: bool = False
    """On a sold/completed page: the listing sold."""
    ended: bool = False
    """On a completed page: the listing ended (sold or not)."""
    sold_at_text: str | None = None
    """The sold/ended date text, e.g. ``Oct 27, 2025`` or ``販売済み  Jan 9, 2026``."""
    best_offer_accepted: bool = False
    """A "Best offer accepted" sale: the price shown is the struck-through asking price, not the sale price."""
    created_at: str | None = None
    """When the listing was created (API ``itemCreationDate``), ISO 8601 text."""
    observed_at: datetime
    """When we saw it (UTC)."""
    page_url: str | None = None
    """URL of the page or API call the listing came from."""
    query: str | None = None
    """Search query that found it."""
    extra: dict[str, str] = attrs.Factory(dict)
    """Source-specific texts kept for audit (e.g. the italic flag of a converted price)."""


@attrs.define(kw_only=True)
class PageReport:
    """What one fetched page yielded; the crawl statistics are built from these."""

    url: str
    """The URL of the page or API call."""
    status: PageStatus
    """What the page was."""
    listings: int = 0
    """Listings parsed from it."""
    cards: int = 0
    """Result cards seen in it (a layout change shows cards but parses none)."""
    reason: str = ""
    """One line saying why, for blocked and layout-change pages."""
    http_status: int | None = None
    """HTTP status of the response."""


@attrs.define(kw_only=True)
class CapturedPage:
    """A page or API response as fetched or saved: what an offline parser reads (``parse``, ``import``,
    ``reparse``, ``crawl --replay``)."""

    url: str
    """Where it came from: the request URL, or the file's ``file://`` URI."""
    body: bytes
    """The bytes as received (archived pages are decompressed)."""
    fetched_at: datetime
    """When it was fetched or captured (UTC)."""
    status: int = 200
    """HTTP status of the response (200 for a saved file)."""
    meta: dict[str, Any] = attrs.Factory(dict)
    """What the request knew: ``site``, ``query``, ``sold`` view, per-domain ``selectors`` …"""


ParsedPage = tuple[PageReport, list[RawListing]]
"""What an offline page parser returns: the page's report and the listings it showed."""
