"""Outlier and seller quarantine: keep suspicious listings out of statistics, with the reason.

A listing is quarantined when its per-GPU price is far below the robust centre of its SKU
(median and MAD over a trailing window that includes the current crawl), or, when the SKU has too
few prices for a robust centre, far below the SKU's list price; or when its seller shows very low
feedback. Quarantined rows stay stored and exported; only statistics and alerts skip them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from decimal import Decimal

import attrs
from pydantic import BaseModel, ConfigDict, Field


class QuarantineRules(BaseModel):
    """Thresholds; the config's ``[quarantine]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(30, ge=1)
    """Trailing window of prices that defines a SKU's centre."""
    min_samples: int = Field(5, ge=2)
    """Fewer distinct listings than this: compare with the list price instead."""
    mad_k: float = Field(4.0, gt=0)
    """Quarantine below median − k × 1.4826 × MAD …"""
    max_fraction_of_median: float = Field(0.5, gt=0, le=1)
    """… and below this fraction of the median (both must hold: a tight market has a tiny MAD)."""
    min_fraction_of_list: float = Field(0.15, ge=0, le=1)
    """Few samples: quarantine below this fraction of the list price."""
    min_seller_feedback: int = Field(5, ge=0)
    """A seller whose shown feedback score is below this is quarantined (0 = off)."""


@attrs.frozen
class Centre:
    """Robust centre of one SKU's per-GPU prices."""

    median: float
    mad: float
    n: int


def robust_centre(prices: Sequence[float]) -> Centre | None:
    """Median and median absolute deviation; ``None`` for no prices."""
    if not prices:
        return None
    median = statistics.median(prices)
    mad = statistics.median(abs(p - median) for p in prices)
    return Centre(median=median, mad=mad, n=len(prices))


def outlier_reason(unit_price: Decimal, sku: str, centre: Centre | None, list_price: Decimal | None,
                   rules: QuarantineRules) -> str | None:
    """Why ``unit_price`` is implausibly low for ``sku``, or ``None`` if it is plausible."""
    price = float(unit_price)
    if centre is not None and centre.n >= rules.min_samples:
        floor = centre.median - rules.mad_k * 1.4826 * centre.mad
        if price < floor and price < centre.median * rules.max_fraction_of_median:
            below = 1 - price / centre.median
            return (f"unit price ${price:,.0f} is {below:.0%} below the {sku} median ${centre.median:,.0f}"
                    f" (n={centre.n}, MAD ${centre.mad:,.0f})")
        return None
    if list_price is not None and list_price > 0 and price < float(list_price) * rules.min_fraction_of_list:
        return (f"unit price ${price:,.0f} is under {rules.min_fraction_of_list:.0%} of the {sku} list price"
                f" ${float(list_price):,.0f} (too few listings for a robust centre)")
    return None


def seller_reason(feedback: int | None, rules: QuarantineRules) -> str | None:
    """Quarantine reason for a seller with too little feedback (only when the source shows it)."""
    if feedback is None or rules.min_seller_feedback <= 0 or feedback >= rules.min_seller_feedback:
        return None
    return f"seller feedback {feedback} is below {rules.min_seller_feedback}"
