"""eBay Browse API ``item_summary/search`` responses → raw listings.

Accepts the envelope (``{"href", "total", "next", "itemSummaries": [...]}``), a bare list of
item summaries (as some tools save them), and saved copies wrapped in a Markdown ```json fence
or a Python literal (``response = {...}``).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from gpuprices.core.items import ListingType, PageStatus, RawListing
from gpuprices.exceptions import ParseError

_JSON_FENCE = re.compile(r"```json\s*\n(.*?)\n```", re.DOTALL)
_ITEM_ID = re.compile(r"[0-9]{6,19}")
_PY_ASSIGNMENT = re.compile(r"^\s*[A-Za-z_]\w*\s*=\s*", re.MULTILINE)


@attrs.define
class ApiPage:
    """One parsed API response."""

    listings: list[RawListing]
    status: PageStatus
    cards: int
    """Item summaries in the response."""
    total: int | None = None
    """The API's total match count, when the envelope is present."""
    next_url: str | None = None
    """The ``next`` page URL, when the envelope has one."""
    reason: str = ""
    dropped: dict[str, int] = attrs.Factory(dict)


def load_api_payload(text: str) -> Any:
    """The JSON document in ``text``: plain JSON, a Markdown ```json block or ``name = {...}``."""
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ParseError(f"API response is not valid JSON: {exc}") from None
    fence = _JSON_FENCE.search(text)
    if fence:
        try:
            return json.loads(fence.group(1))
        except json.JSONDecodeError as exc:
            raise ParseError(f"JSON block is not valid JSON: {exc}") from None
    assignment = _PY_ASSIGNMENT.search(text)
    if assignment:
        try:
            return ast.literal_eval(text[assignment.end():].strip())
        except (ValueError, SyntaxError) as exc:
            raise ParseError(f"Python literal could not be read: {exc.__class__.__name__}") from None
    raise ParseError("not an API response: no JSON object, ```json block or Python literal found")


def _list(value: Any) -> list[Any]:
    """A JSON array, or nothing: a field of the wrong type is ignored, never a crash."""
    return value if isinstance(value, list) else []


def _amount(block: Any) -> tuple[str | None, str | None]:
    if isinstance(block, dict) and block.get("value") is not None:
        return str(block["value"]), (str(block["currency"]) if block.get("currency") else None)
    return None, None


def _ids(summary: dict[str, Any]) -> tuple[str | None, str | None]:
    """``v1|285373475507|587268924382`` → (``285373475507``, ``587268924382``); variation 0 means none."""
    parts = str(summary.get("itemId") or "").split("|")
    legacy = summary.get("legacyItemId") or (parts[1] if len(parts) >= 2 else None)
    if legacy is not None and not _ITEM_ID.fullmatch(str(legacy)):
        legacy = parts[1] if len(parts) >= 2 and _ITEM_ID.fullmatch(parts[1]) else None
    variation = parts[2] if len(parts) >= 3 and parts[2] not in ("", "0") else None
    return (str(legacy) if legacy else None), variation


def _canonical_url(web_url: Any, item_id: str, variation_id: str | None) -> str | None:
    if not isinstance(web_url, str) or not web_url:
        return None
    try:
        parts = urlsplit(web_url)
    except ValueError:  # a malformed URL loses the link, not the listing
        return None
    query = f"var={variation_id}" if variation_id else ""
    return urlunsplit((parts.scheme, parts.netloc, f"/itm/{item_id}", query, ""))


def _listing_type(options: tuple[str, ...]) -> ListingType | None:
    if "AUCTION" in options:
        return ListingType.AUCTION
    if "BEST_OFFER" in options:
        return ListingType.BEST_OFFER
    if "FIXED_PRICE" in options:
        return ListingType.BUY_IT_NOW
    return None


def _shipping(summary: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Cheapest fixed shipping option; CALCULATED/pickup-only stays unknown (never 0)."""
    best: tuple[str, str | None] | None = None
    kinds = []
    for option in _list(summary.get("shippingOptions")):
        if not isinstance(option, dict):
            continue
        kinds.append(str(option.get("shippingCostType") or ""))
        value, currency = _amount(option.get("shippingCost"))
        if value is None:
            continue
        try:
            if best is None or float(value) < float(best[0]):
                best = (value, currency)
        except ValueError:
            continue
    text = ",".join(k for k in kinds if k) or None
    if best is None:
        return None, None, text
    return best[0], best[1], text


def parse_summary(summary: dict[str, Any], *, site: str, observed_at: datetime, page_url: str | None = None,
                  query: str | None = None) -> RawListing | None:
    """One ``itemSummaries`` entry; ``None`` when it has no id or title."""
    item_id, variation_id = _ids(summary)
    title = " ".join(str(summary.get("title") or "").split())
    if not item_id or not title:
        return None
    price_value, currency = _amount(summary.get("price"))
    options = tuple(str(o) for o in _list(summary.get("buyingOptions")))
    shipping_value, shipping_currency, shipping_kind = _shipping(summary)
    seller: dict[str, Any] = summary["seller"] if isinstance(summary.get("seller"), dict) else {}
    location: dict[str, Any] = summary["itemLocation"] if isinstance(summary.get("itemLocation"), dict) else {}
    extra: dict[str, str] = {}
    bid_value, bid_currency = _amount(summary.get("currentBidPrice"))
    if bid_value is not None:
        extra["current_bid"] = f"{bid_value} {bid_currency or ''}".strip()
    if summary.get("itemEndDate"):
        extra["end_date"] = str(summary["itemEndDate"])
    if summary.get("listingMarketplaceId"):
        extra["listing_marketplace"] = str(summary["listingMarketplaceId"])
    feedback = seller.get("feedbackScore")
    return RawListing(
        source="ebay-api",
        site=site,
        item_id=item_id,
        variation_id=variation_id,
        title=title,
        url=_canonical_url(summary.get("itemWebUrl"), item_id, variation_id),
        price_value=price_value,
        currency_raw=currency,
        shipping_value=shipping_value,
        shipping_currency_raw=shipping_currency,
        shipping_text=shipping_kind,
        condition_raw=str(summary["condition"]) if summary.get("condition") else None,
        condition_id=str(summary["conditionId"]) if summary.get("conditionId") else None,
        listing_type=_listing_type(options),
        buying_options=options,
        bids=int(summary["bidCount"]) if isinstance(summary.get("bidCount"), int) else None,
        seller=str(seller["username"]) if seller.get("username") else None,
        seller_feedback=int(feedback) if isinstance(feedback, int) else None,
        seller_feedback_pct=str(seller["feedbackPercentage"]) if seller.get("feedbackPercentage") else None,
        location=str(location["country"]) if location.get("country") else None,
        created_at=str(summary["itemCreationDate"]) if summary.get("itemCreationDate") else None,
        observed_at=observed_at,
        page_url=page_url,
        query=query,
        extra=extra,
    )


def _summaries(payload: Any) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(payload, list):
        return payload, {}
    if isinstance(payload, dict):
        if "errors" in payload and "itemSummaries" not in payload:
            first = (payload.get("errors") or [{}])[0]
            message = first.get("message") if isinstance(first, dict) else None
            raise ParseError(f"eBay API error: {message or 'unknown error'}")
        if "itemSummaries" in payload:
            return _list(payload["itemSummaries"]), payload
        if "total" in payload and "href" in payload:  # a search with no results has no itemSummaries
            return [], payload
        if "itemId" in payload:  # a single getItem response
            return [payload], {}
    raise ParseError("not a Browse API search response (no itemSummaries)")


def parse_api_response(payload: Any, *, site: str, observed_at: datetime, page_url: str | None = None,
                       query: str | None = None) -> ApiPage:
    """Parse a decoded response; duplicate entries (same id and variation) are kept once."""
    summaries, envelope = _summaries(payload)
    listings: list[RawListing] = []
    seen: set[tuple[str, str | None]] = set()
    dropped: dict[str, int] = {}
    for summary in summaries:
        listing = parse_summary(summary, site=site, observed_at=observed_at, page_url=page_url, query=query) \
            if isinstance(summary, dict) else None
        if listing is None:
            dropped["no_item_id_or_title"] = dropped.get("no_item_id_or_title", 0) + 1
            continue
        key = (listing.item_id, listing.variation_id)
        if key in seen:
            dropped["duplicate_in_response"] = dropped.get("duplicate_in_response", 0) + 1
            continue
        seen.add(key)
        listings.append(listing)
    total = envelope.get("total")
    if listings:
        status, reason = PageStatus.OK, ""
    elif summaries:
        status, reason = PageStatus.LAYOUT_CHANGE, f"{len(summaries)} item summaries but none had an id and title"
    else:
        status, reason = PageStatus.EMPTY, "no items matched"
    return ApiPage(
        listings=listings,
        status=status,
        cards=len(summaries),
        total=int(total) if isinstance(total, int) else None,
        next_url=str(envelope["next"]) if envelope.get("next") else None,
        reason=reason,
        dropped=dropped,
    )


def iter_api_listings(text: str, **kwargs: Any) -> Iterator[RawListing]:
    """Convenience for saved files: load and parse in one go."""
    yield from parse_api_response(load_api_payload(text), **kwargs).listings
