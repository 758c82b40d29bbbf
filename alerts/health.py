"""Scraper health, checked after every crawl: is the source blind, blocked or broken?

A degraded source raises an operator alert, and its market alerts are muted for that run: half the
pages being bot checks must not look like a price crash.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from typing import Any

import attrs
from pydantic import BaseModel, ConfigDict, Field


class HealthRules(BaseModel):
    """Thresholds; the config's ``[health]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_listing_fraction: float = Field(0.5, ge=0, le=1)
    """Listings below this fraction of the median of recent healthy crawls → degraded."""
    max_missing_price_fraction: float = Field(0.2, ge=0, le=1)
    """More than this fraction of listings dropped for a missing/unparseable price → degraded."""
    history: int = Field(10, ge=1)
    """How many earlier crawls form the baseline."""


@attrs.frozen
class Health:
    """Verdict on one crawl."""

    source: str
    crawl_id: int
    healthy: bool
    problems: tuple[str, ...]
    """One short line per problem, e.g. ``3 of 4 pages blocked``."""

    @property
    def summary(self) -> str:
        return "healthy" if self.healthy else "; ".join(self.problems)


def check_crawl(crawl: dict[str, Any], history: list[dict[str, Any]], rules: HealthRules,
                unvalued: Mapping[str, int] | None = None) -> Health:
    """Judge ``crawl`` (a ``crawls`` row) against the source's earlier crawls (newest first).

    ``unvalued``: the crawl's listings kept without a USD value, by currency (``Store.unvalued_counts``)."""
    problems: list[str] = []
    pages = int(crawl.get("pages") or 0)
    listings = int(crawl.get("listings") or 0)
    if crawl.get("status") == "failed":
        failed = int(crawl.get("failed_pages") or 0)
        cause = crawl.get("error") or (f"all {failed} pages failed" if failed else "no pages fetched")
        problems.append(f"crawl failed: {cause}")
    if crawl.get("blocked_pages"):
        problems.append(f"{crawl['blocked_pages']} of {pages} pages blocked")
    if crawl.get("layout_change_pages"):
        problems.append(f"layout change: {crawl['layout_change_pages']} of {pages} pages with cards but no listings")
    if crawl.get("failed_pages") and crawl.get("status") != "failed":
        problems.append(f"{crawl['failed_pages']} of {pages} pages failed")
    dropped = json.loads(crawl.get("dropped") or "{}")
    # "unknown_currency:<symbol>": prices in a currency we cannot name are lost rows, always a problem.
    unknown = {k.partition(":")[2] or "?": int(v) for k, v in dropped.items() if k.startswith("unknown_currency")}
    if unknown:
        symbols = ", ".join(f"{sym!r} ({n})" for sym, n in sorted(unknown.items()))
        problems.append(f"{sum(unknown.values())} listings dropped for an unknown currency: {symbols}")
    if unvalued:
        # Kept and exact, but out of every USD statistic until a rate is configured ([fx.rates]).
        currencies = ", ".join(f"{code} ({n})" for code, n in sorted(unvalued.items()))
        problems.append(f"{sum(unvalued.values())} listings kept without a USD rate (no_usd_rate): {currencies}")
    unpriced = (int(dropped.get("missing_price", 0)) + int(dropped.get("unparseable_price", 0))
                + sum(unknown.values()))
    seen = listings + unpriced
    if seen and unpriced / seen > rules.max_missing_price_fraction:
        problems.append(f"price coverage {1 - unpriced / seen:.0%}: {unpriced} of {seen} listings without a price")
    baseline = [int(c["listings"] or 0) for c in history[: rules.history] if c.get("status") in ("ok", "partial")]
    if len(baseline) >= 3:
        median = statistics.median(baseline)
        if median > 0 and listings < median * rules.min_listing_fraction:
            problems.append(f"{listings} listings, below {rules.min_listing_fraction:.0%} of the recent median "
                            f"{median:.0f}")
    return Health(source=str(crawl.get("source")), crawl_id=int(crawl["id"]), healthy=not problems,
                  problems=tuple(problems))
