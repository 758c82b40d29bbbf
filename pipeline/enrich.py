"""Classification, per-GPU unit price and quarantine of normalized listings.

Unit price rule (documented in the README): ``unit_price_usd = (price + shipping, in USD) /
gpu_count``. No unit price when the listing is excluded, has no GPU count, is a complete server
(DGX/HGX system: the GPUs' share of the platform value cannot be separated reliably from a
title, so it is "not separable"), or is a "best offer accepted" sale (the sale price is hidden).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import attrs

from gpuprices.core.columns import CLASSIFICATION
from gpuprices.core.listing import NormalizedListing
from gpuprices.pipeline.classify import Catalog, classify, load_catalog
from gpuprices.pipeline.currency import UsdConverter
from gpuprices.pipeline.fx_settings import FxSettings
from gpuprices.pipeline.quarantine import QuarantineRules, outlier_reason, robust_centre, seller_reason

_CENT = Decimal("0.01")
NO_USD_RATE = "no_usd_rate"
"""How ``unit_price_note`` starts for a GPU priced in a currency without a USD rate (counted in health)."""
NOT_SEPARABLE = "not separable: complete server, the GPUs' share of the price is unknown"


def unit_price_of(*, price_usd: Decimal | None, shipping_usd: Decimal | None, gpu_count: int | None,
                  excluded_reason: str | None, system: bool, best_offer_accepted: bool,
                  price_is_range: bool = False, currency: str | None = None) -> tuple[Decimal | None, str]:
    """The per-GPU price in USD and how it was derived (or why there is none)."""
    count = gpu_count or 0
    if excluded_reason:
        return None, f"excluded: {excluded_reason}"
    if system:
        return None, NOT_SEPARABLE
    if count <= 0:
        return None, "no GPU count"
    if best_offer_accepted:
        return None, "best offer accepted: the sale price is hidden"
    if price_usd is None:
        return None, f"{NO_USD_RATE}: no USD rate for {currency or 'the currency'} (add it under [fx.rates])"
    parts = [f"{'lowest price of range' if price_is_range else 'price'} {price_usd} USD"]
    if shipping_usd is not None:
        parts.append(f"shipping {shipping_usd} USD")
    else:
        parts.append("shipping unknown (not added)")
    total = price_usd + (shipping_usd or Decimal(0))
    value = (total / count).quantize(_CENT, rounding=ROUND_HALF_EVEN)
    return value, f"({' + '.join(parts)}) / {count} GPU{'s' if count != 1 else ''}"


@attrs.define
class Enricher:
    """Applies the catalog and the quarantine rules; one instance per crawl or re-classification."""

    catalog: Catalog
    rules: QuarantineRules = attrs.Factory(QuarantineRules)
    converter: UsdConverter = attrs.Factory(UsdConverter)
    """The run's USD converter (ECB plus the config's ``[fx.rates]``); the normalizer uses it too."""

    @classmethod
    def from_settings(cls, options: dict[str, Any] | None) -> Enricher:
        options = options or {}
        catalog = load_catalog(extra=options.get("catalog") or None)
        rules = QuarantineRules(**(options.get("quarantine") or {}))
        fx = FxSettings(**(options.get("fx") or {}))
        return cls(catalog=catalog, rules=rules, converter=UsdConverter(configured=fx.rates))

    def assess(self, *, title: str, condition_raw: str | None, condition: str | None, price_usd: Decimal | None,
               shipping_usd: Decimal | None, best_offer_accepted: bool, price_is_range: bool,
               seller_feedback: int | None, currency: str | None = None) -> dict[str, Any]:
        """Classification, unit price and seller quarantine of one listing, as the fields they fill.

        Shared by new listings (:meth:`enrich`) and stored history (``gpuprices reclassify``)."""
        result = classify(title, catalog=self.catalog, condition=condition_raw)
        excluded = str(result.excluded_reason.value) if result.excluded_reason else None
        unit, note = unit_price_of(price_usd=price_usd, shipping_usd=shipping_usd, gpu_count=result.gpu_count,
                                   excluded_reason=excluded, system=result.system,
                                   best_offer_accepted=best_offer_accepted, price_is_range=price_is_range,
                                   currency=currency)
        seller = seller_reason(seller_feedback, self.rules)
        return {  # the keys: core.columns.RECLASSIFIED
            **{name: getattr(result, name) for name in CLASSIFICATION},
            "working": bool(result.working) and condition != "for_parts", "excluded_reason": excluded,
            "unit_price_usd": unit, "unit_price_note": note,
            "quarantined": seller is not None, "quarantine_reason": seller,
        }

    def enrich(self, listing: NormalizedListing) -> NormalizedListing:
        """Fill the classification, unit price and seller quarantine fields (in place, returned)."""
        fields = self.assess(title=listing.raw.title, condition_raw=listing.raw.condition_raw,
                             condition=listing.condition, price_usd=listing.price_usd,
                             shipping_usd=listing.shipping_usd, best_offer_accepted=listing.raw.best_offer_accepted,
                             price_is_range=listing.price_max is not None,
                             seller_feedback=listing.raw.seller_feedback, currency=listing.currency)
        for name, value in fields.items():
            setattr(listing, name, value)
        return listing

    def quarantine_crawl(self, store: Any, crawl_id: int | None = None) -> int:
        """Quarantine price outliers among the crawl's rows (all rows when ``crawl_id`` is None).

        The centre of each SKU comes from the trailing window, which already holds this crawl's
        rows, so even the very first crawl is protected.
        """
        rows = store.priced_rows(crawl_id=crawl_id)
        by_sku: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_sku[row["sku"]].append(row)
        changed = 0
        now = datetime.now(UTC)
        today, since = now.date(), (now - timedelta(days=self.rules.window_days)).isoformat()
        for sku, sku_rows in by_sku.items():
            centre = robust_centre(store.window_unit_prices(sku, since))
            list_price = self.catalog.list_price(sku, today)
            for row in sku_rows:
                if row["seller_reason"]:
                    continue  # already quarantined for its seller; that reason stands
                reason = outlier_reason(Decimal(row["unit_price_usd"]), sku, centre,
                                        list_price.usd if list_price else None, self.rules)
                if bool(reason) != bool(row["quarantined"]) or reason != row["quarantine_reason"]:
                    store.set_quarantine(row["observation_id"], row["listing_id"], reason)
                    changed += 1
        return changed
