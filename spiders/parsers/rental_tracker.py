"""gpu-price-tracker summaries (``data/summary/<GPU>.jsonl``) → one offer per snapshot × provider.

Each line is one snapshot (about every 30 minutes) of a marketplace aggregate, already in USD per
GPU-hour: ``{"timestamp", "gpu_type": "H100_80GB", "socket_type": "SXM5", "price_stats": {...},
"by_provider": {"runpod": {"count": 4, "min": 2.69, "avg": 2.7}, ...}, "by_config": {...}}``.

Price choice: the provider's ``median`` when a line has one, else its ``min``. The published files
give only ``min`` and ``avg`` per provider, so in practice it is the **min**: the cheapest GPU-hour
that provider actually offered at that moment. The mean is kept out on purpose: it averages
configurations (1x … 8x, other regions) into a price nobody quotes, and one odd offer moves it. The
note keeps the count and the average for audit. The GPU comes from ``gpu_type`` + ``socket_type``
(``H100_80GB`` + ``SXM5``), else from the file name (``H100_80GB_SXM5.jsonl``). Snapshots carry no
spot prices; they count as on-demand.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from gpuprices.core.items import PageStatus
from gpuprices.spiders.parsers.rental_items import ParsedFeed, RentalOffer, decimal_or_none, make_offer, plain

__all__ = ["gpu_of_file", "parse_tracker_jsonl"]


def gpu_of_file(url: str) -> str:
    """``…/data/summary/H100_80GB_SXM5.jsonl`` → ``H100_80GB_SXM5``."""
    name = (urlsplit(url).path if "://" in url else url.replace("\\", "/")).rsplit("/", 1)[-1]
    return name.split(".", 1)[0]


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _provider_offer(name: str, stats: dict[str, Any], *, gpu: str, at: datetime, url: str) -> RentalOffer | None:
    median = decimal_or_none(stats.get("median"))
    cheapest = decimal_or_none(stats.get("min"))
    count = stats.get("count")
    average = decimal_or_none(stats.get("avg"))
    offers = f" of {count} offers" if isinstance(count, int) else ""
    if median is not None:
        price, note = median, f"{name}: median{offers}"
    elif cheapest is not None:
        price = cheapest
        note = f"{name}: min{offers} (the feed has no per-provider median"
        note += f"; avg ${plain(average)}/GPU-h)" if average is not None else ")"
    else:
        return None
    if price <= 0:
        return None
    return make_offer(provider=name, accelerator=gpu, gpu_count=None, on_demand=price, spot=None, observed_at=at,
                      feed="tracker", feed_url=url, note=note + ", via gpu-price-tracker")


def parse_tracker_jsonl(text: str, *, url: str) -> ParsedFeed:
    """Offers of every snapshot line; ``layout_change`` when lines exist but none has ``by_provider``."""
    offers: list[RentalOffer] = []
    dropped: Counter[str] = Counter()
    rows = lines = 0
    fallback_gpu = gpu_of_file(url)
    for line in text.lstrip("\ufeff").splitlines():
        if not line.strip():
            continue
        lines += 1
        try:
            snapshot = json.loads(line, parse_float=Decimal)
        except ValueError:
            dropped["bad_line"] += 1
            continue
        providers = snapshot.get("by_provider") if isinstance(snapshot, dict) else None
        if not isinstance(providers, dict):
            dropped["no_by_provider"] += 1
            continue
        at = _timestamp(snapshot.get("timestamp"))
        if at is None:
            dropped["no_timestamp"] += len(providers) or 1
            continue
        gpu_type, socket = snapshot.get("gpu_type"), snapshot.get("socket_type")
        gpu = f"{gpu_type}_{socket}" if gpu_type and socket else str(gpu_type or fallback_gpu)
        for name, stats in providers.items():
            rows += 1
            offer = _provider_offer(str(name), stats, gpu=gpu, at=at, url=url) if isinstance(stats, dict) else None
            if offer is None:
                dropped["no_price"] += 1
            else:
                offers.append(offer)
    if offers:
        return ParsedFeed(PageStatus.OK, offers=offers, rows=rows, dropped=dropped)
    if lines:
        return ParsedFeed(PageStatus.LAYOUT_CHANGE, rows=rows, dropped=dropped,
                          reason=f"{lines} lines but no per-provider price in any")
    return ParsedFeed(PageStatus.EMPTY, reason="no snapshots")
