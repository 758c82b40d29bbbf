"""What the three rental feed parsers share: exact money, per-GPU division, notes.

Every price becomes US dollars per GPU-hour. Feeds that price a whole instance or offer are divided
by its GPU count, and the note says so (``instance $98.32/h ÷ 8 GPUs``); a fractional count (AWS
sells an eighth of an L4) is divided the same way, so the price is per *whole* GPU-hour.
Money is ``Decimal`` from the feed's own text (CSV cells, JSON numbers read as ``Decimal``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gpuprices.core.rental import (
    ON_DEMAND,
    RENTAL_ROW_COLUMNS,
    SPOT,
    ParsedFeed,
    RentalOffer,
    plain,
    rental_row,
)
from gpuprices.spiders.parsers.rental_sku import rental_sku

__all__ = ["FEED_KINDS", "ON_DEMAND", "RENTAL_ROW_COLUMNS", "SPOT", "ParsedFeed", "RentalOffer", "decimal_or_none",
           "make_offer", "per_gpu", "plain", "rental_row"]

FEED_KINDS = ("skypilot", "vast", "tracker")
_PLACES = Decimal("0.000001")  # a non-terminating quotient (3.20 / 3) is cut here; exact ones stay exact
# Aggregators spell some providers differently from SkyPilot; one name per provider keeps the
# index's provider count honest.
_PROVIDER_ALIASES = {"lambdalabs": "lambda", "lambda-labs": "lambda", "lambda_labs": "lambda"}


def decimal_or_none(value: Any) -> Decimal | None:
    """A price or count from a feed (text, int or Decimal); ``None`` when empty or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def per_gpu(price: Decimal, count: Decimal) -> Decimal:
    quotient = price / count
    # Division is exact when it terminates (23.92 / 8 = 2.99); otherwise keep six places, far below a cent.
    return quotient if quotient.as_tuple().exponent >= -6 else quotient.quantize(_PLACES)  # type: ignore[operator]


def _division_note(label: str, price: Decimal, count: Decimal) -> str:
    if count == 1:
        return f"{label} ${plain(price)}/h, 1 GPU"
    unit = "GPU" if count < 1 else "GPUs"
    share = " (a fractional GPU share)" if count < 1 or count != count.to_integral_value() else ""
    return f"{label} ${plain(price)}/h ÷ {plain(count)} {unit}{share}"


def make_offer(*, provider: str, accelerator: str, gpu_count: Decimal | None, on_demand: Decimal | None,
               spot: Decimal | None, observed_at: datetime, feed: str, feed_url: str, region: str | None = None,
               instance_type: str | None = None, memory_gb: float | None = None, label: str = "instance",
               note: str = "") -> RentalOffer | None:
    """An offer from whole-instance prices (divided by ``gpu_count``), or from per-GPU prices when
    ``gpu_count`` is ``None``; ``None`` when there is no price at all.
    """
    if on_demand is None and spot is None:
        return None
    notes = [note] if note else []

    def divided(price: Decimal | None, what: str) -> Decimal | None:
        if price is None or gpu_count is None:
            return price
        notes.append(_division_note(what, price, gpu_count))
        return per_gpu(price, gpu_count)

    on_demand_gpu = divided(on_demand, label)
    spot_gpu = divided(spot, f"spot {label}")
    match = rental_sku(accelerator, memory_gb=memory_gb, instance_type=instance_type)
    if match.note:
        notes.append(match.note)
    main = on_demand_gpu if on_demand_gpu is not None else spot_gpu
    assert main is not None
    return RentalOffer(
        provider=_PROVIDER_ALIASES.get(provider.lower(), provider.lower()), sku=match.sku,
        accelerator_raw=accelerator, gpu_count=gpu_count, region=region or None, instance_type=instance_type or None,
        price_usd_per_gpu_hour=main, spot_usd_per_gpu_hour=spot_gpu,
        instance_price_usd=(on_demand if on_demand is not None else spot) if gpu_count is not None else None,
        spot_instance_price_usd=spot if gpu_count is not None else None,
        kind=ON_DEMAND if on_demand is not None else SPOT, note="; ".join(notes), observed_at=observed_at,
        feed=feed, feed_url=feed_url)


