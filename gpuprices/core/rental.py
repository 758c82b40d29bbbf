"""A rental offer: one rentable GPU priced per GPU-hour in USD, and its flat row.

Shared by the rental parsers (which make offers), the storing pipeline and the rental store.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from gpuprices.core.items import PageStatus

__all__ = ["ON_DEMAND", "RENTAL_ROW_COLUMNS", "SPOT", "ParsedFeed", "RentalOffer", "plain", "rental_row"]

ON_DEMAND = "on_demand"
SPOT = "spot"


@attrs.define(kw_only=True)
class RentalOffer:
    """One rentable GPU offer (or a feed's per-provider summary), priced per GPU-hour in USD."""

    provider: str
    """Who rents it out: the cloud (``aws``, ``lambda``), ``vast``, or the tracker's provider key."""
    sku: str | None
    """Catalog SKU id; ``None`` for accelerators outside the catalog (kept, never indexed)."""
    accelerator_raw: str
    """The accelerator as the feed names it: ``H100``, ``A100-80GB``, ``H100 SXM``, ``H100_80GB_SXM5``."""
    gpu_count: Decimal | None
    """GPUs in the instance or offer (``0.125`` for a fractional share); ``None`` for summaries."""
    region: str | None
    """Region (``us-east-1``, with ``/zone`` when the feed lists zones) or location; ``None`` when not given."""
    instance_type: str | None
    """Instance type (``p5.48xlarge``, ``gpu_8x_h100_sxm5``) or ``offer <id>`` on vast.ai."""
    price_usd_per_gpu_hour: Decimal
    """The price of ``kind`` per GPU-hour: on-demand when the feed has it, else the spot price."""
    spot_usd_per_gpu_hour: Decimal | None = None
    """Spot / interruptible price per GPU-hour, ``None`` when the feed gives none."""
    instance_price_usd: Decimal | None = None
    """The feed's price for the whole instance or offer per hour (of ``kind``), before division."""
    spot_instance_price_usd: Decimal | None = None
    """The whole instance's spot price per hour, before division."""
    kind: str = ON_DEMAND
    """What ``price_usd_per_gpu_hour`` is: ``on_demand``, or ``spot`` when only a spot price exists."""
    note: str = ""
    """How the price was derived (``instance $98.32/h ÷ 8 GPUs``) and any SKU assumption."""
    observed_at: datetime
    """When the price was valid: the fetch time, or the feed's snapshot time (tracker)."""
    feed: str
    """Feed kind: ``skypilot``, ``vast`` or ``tracker``."""
    feed_url: str
    """URL (or file) the offer was read from."""


RENTAL_ROW_COLUMNS = ("provider", "sku", "accelerator_raw", "gpu_count", "region", "instance_type", "kind",
                      "price_usd_per_gpu_hour", "spot_usd_per_gpu_hour", "instance_price_usd",
                      "spot_instance_price_usd", "note", "observed_at", "feed", "feed_url")
"""Keys (in order) of :func:`rental_row`, for a CSV header."""


@attrs.define
class ParsedFeed:
    """What one feed response held."""

    status: PageStatus
    offers: list[RentalOffer] = attrs.Factory(list)
    rows: int = 0
    """GPU rows / offers / provider summaries seen (priced or not): the page's ``cards``."""
    reason: str = ""
    dropped: Counter[str] = attrs.Factory(Counter)
    """Rows seen but not usable, by reason (``no_price``, ``bad_gpu_count`` …)."""


def plain(value: Decimal | None) -> str | None:
    """A decimal as plain text without exponent or trailing zeros: ``8``, ``0.125``, ``2.99``."""
    if value is None:
        return None
    return format(value.normalize(), "f")



def rental_row(offer: RentalOffer) -> dict[str, Any]:
    """One flat row (keys :data:`RENTAL_ROW_COLUMNS`): decimals as plain strings, the time in ISO 8601."""
    return {
        "provider": offer.provider,
        "sku": offer.sku,
        "accelerator_raw": offer.accelerator_raw,
        "gpu_count": plain(offer.gpu_count),
        "region": offer.region,
        "instance_type": offer.instance_type,
        "kind": offer.kind,
        "price_usd_per_gpu_hour": plain(offer.price_usd_per_gpu_hour),
        "spot_usd_per_gpu_hour": plain(offer.spot_usd_per_gpu_hour),
        "instance_price_usd": plain(offer.instance_price_usd),
        "spot_instance_price_usd": plain(offer.spot_instance_price_usd),
        "note": offer.note,
        "observed_at": offer.observed_at.isoformat(),
        "feed": offer.feed,
        "feed_url": offer.feed_url,
    }
