"""Scrapy components that a crawl switches off are left out before Scrapy sees them.

Scrapy resolves every key of ``EXTENSIONS`` / ``DOWNLOADER_MIDDLEWARES`` / ``SPIDER_MIDDLEWARES`` by
importing it, even one set to ``None`` to switch it off: the remote-control extension alone imports
aiohttp, the cookies middleware tldextract (together about half a second of a crawl child's CPU). Taking
them out of the ``_BASE`` setting instead (derived from Scrapy's own defaults, so new defaults stay)
gives the same components without those imports.
"""

from __future__ import annotations

from typing import Any

COMPONENT_SETTINGS = ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES")


def without_switched_off(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with each component set to ``None`` removed from its setting and from the base."""
    from scrapy.settings import default_settings

    result = dict(options)
    for name in COMPONENT_SETTINGS:
        components = options.get(name) or {}
        off = {key for key, order in components.items() if order is None}
        if not off:
            continue
        base = options.get(f"{name}_BASE", getattr(default_settings, f"{name}_BASE"))
        result[f"{name}_BASE"] = {key: order for key, order in base.items() if key not in off}
        result[name] = {key: order for key, order in components.items() if order is not None}
    return result
