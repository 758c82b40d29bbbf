"""vast.ai offer search JSON (``/api/v0/bundles/``) → rental offers.

``{"offers": [{"id": 1, "gpu_name": "H100 SXM", "num_gpus": 8, "dph_total": 17.6, "gpu_ram": 81559,
"geolocation": "Texas, US", "min_bid": 9.1}, ...]}``. ``dph_total`` is the on-demand USD per hour
for the whole offer (all its GPUs) → divided by ``num_gpus``; ``min_bid``, when present, is the
lowest interruptible bid for the whole offer and becomes the spot price the same way. ``gpu_ram`` is
per-GPU memory in MB (it tells an A100 40GB from an 80GB).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

from gpuprices.core.items import PageStatus
from gpuprices.spiders.parsers.rental_items import ParsedFeed, RentalOffer, decimal_or_none, make_offer

__all__ = ["parse_vast_json"]


def parse_vast_json(text: str, *, url: str, observed_at: datetime) -> ParsedFeed:
    """Offers of one search answer (also a bare list of offers); ``layout_change`` for another shape."""
    try:
        payload: Any = json.loads(text, parse_float=Decimal)  # exact prices, as written
    except ValueError as exc:
        return ParsedFeed(PageStatus.LAYOUT_CHANGE, reason=f"not JSON: {str(exc)[:120]}")
    items = payload.get("offers") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return ParsedFeed(PageStatus.LAYOUT_CHANGE, reason="vast.ai answer without an 'offers' list")
    offers: list[RentalOffer] = []
    dropped: Counter[str] = Counter()
    for item in items:
        if not isinstance(item, dict) or not str(item.get("gpu_name") or "").strip():
            dropped["no_gpu_name"] += 1
            continue
        count = decimal_or_none(item.get("num_gpus"))
        if count is None or count <= 0:
            dropped["bad_gpu_count"] += 1
            continue
        price = decimal_or_none(item.get("dph_total"))
        bid = decimal_or_none(item.get("min_bid"))
        ram = decimal_or_none(item.get("gpu_ram"))
        offer_id = item.get("id") if item.get("id") is not None else item.get("ask_contract_id")
        offer = make_offer(provider="vast", accelerator=str(item["gpu_name"]).strip(), gpu_count=count,
                           on_demand=price if price is not None and price > 0 else None,
                           spot=bid if bid is not None and bid > 0 else None, observed_at=observed_at,
                           feed="vast", feed_url=url, region=str(item.get("geolocation") or "").strip() or None,
                           instance_type=f"offer {offer_id}" if offer_id is not None else None,
                           memory_gb=float(ram) / 1024 if ram else None, label="offer")
        if offer is None:
            dropped["no_price"] += 1
            continue
        offers.append(offer)
    if offers:
        return ParsedFeed(PageStatus.OK, offers=offers, rows=len(items), dropped=dropped)
    if items:
        return ParsedFeed(PageStatus.LAYOUT_CHANGE, rows=len(items), dropped=dropped,
                          reason=f"{len(items)} offers but none with a GPU name, count and price")
    return ParsedFeed(PageStatus.EMPTY, reason="no offers")
