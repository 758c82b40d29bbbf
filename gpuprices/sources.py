"""Which sources can run, and what each still needs (keys, watch lists)."""

from __future__ import annotations

from typing import Any

import attrs

from gpuprices.config import ScheduleSettings, Settings

ALL_SOURCES = ("ebay-api", "ebay", "ebay-item", "product-page", "rental")


@attrs.frozen
class SourceState:
    name: str
    enabled: bool
    """Switched on in the config."""
    ready: bool
    """Enabled and has everything it needs to run."""
    needs: str
    """What is missing, empty when ready."""
    description: str


def schedule_of(settings: Settings, source: str) -> ScheduleSettings:
    sources = settings.sources
    return {
        "ebay": sources.ebay.schedule, "ebay-api": sources.ebay_api.schedule, "ebay-item": sources.ebay_item.schedule,
        "product-page": sources.product_page.schedule, "rental": sources.rental.schedule,
    }[source]


def source_states(settings: Settings, watched: dict[str, list[str]] | None = None) -> list[SourceState]:
    """The state of every source; ``watched`` holds the watch lists stored in the database."""
    watched = watched or {}
    sources = settings.sources
    api, item, pages, rental = sources.ebay_api, sources.ebay_item, sources.product_page, sources.rental
    items = len(item.items) + len(watched.get("ebay-item", []))
    urls = len(pages.urls) + len(watched.get("product-page", []))
    return [
        SourceState("ebay-api", api.enabled, api.enabled and api.has_credentials,
                    "" if api.has_credentials else "EBAY_CLIENT_ID and EBAY_CLIENT_SECRET",
                    f"eBay Browse API, {api.marketplace}, {len(settings.api_queries)} queries"),
        SourceState("ebay", sources.ebay.enabled, sources.ebay.enabled, "",
                    f"search pages on {sources.ebay.base_url} (robots.txt obeyed), "
                    f"{len(sources.ebay.queries)} queries"),
        SourceState("ebay-item", item.enabled, item.enabled and items > 0,
                    "" if items else "watched items (gpuprices watch add URL)", f"{items} watched eBay item pages"),
        SourceState("product-page", pages.enabled, pages.enabled and urls > 0,
                    "" if urls else "watched product URLs (gpuprices watch add URL)",
                    f"{urls} watched retailer product pages"),
        SourceState("rental", rental.enabled, rental.enabled and bool(rental.feeds),
                    "" if rental.feeds else "rental feeds", f"{len(rental.feeds)} public cloud price feeds"),
    ]


def runnable_sources(settings: Settings, watched: dict[str, list[str]] | None = None) -> list[str]:
    return [state.name for state in source_states(settings, watched) if state.ready]


def watch_target(url: str) -> tuple[str, str]:
    """``(source, target)`` for ``gpuprices watch add``: eBay /itm/ URLs or ids → ebay-item, else product-page."""
    import re

    text = url.strip()
    if re.fullmatch(r"\d{9,15}", text):
        return "ebay-item", text
    match = re.match(r"https?://(?:www\.)?ebay\.[a-z.]+/itm/(?:[^/?#]+/)?(\d{9,15})", text)
    if match:
        return "ebay-item", match.group(1)
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"not a URL or eBay item id: {text!r}")
    return "product-page", text


def describe(state: SourceState, last: dict[str, Any] | None) -> dict[str, Any]:
    return {"source": state.name, "enabled": state.enabled, "ready": state.ready, "needs": state.needs or None,
            "what": state.description, "last_crawl": last["started_at"] if last else None,
            "last_status": last["status"] if last else None, "last_listings": last["listings"] if last else None}
