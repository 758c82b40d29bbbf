"""Re-apply the current catalog and rules to stored history (rules change; history must follow)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from pipeline.classify import classify
from pipeline.enrich import Enricher, unit_price_of
from pipeline.quarantine import seller_reason

_CLASS_FIELDS = ("model", "sku", "memory_gb", "form_factor", "gpu_count", "working", "excluded_reason")


@attrs.define
class ReclassifyReport:
    observations: int = 0
    listings: int = 0
    changed: int = 0
    """Listings whose class (model, SKU, memory, form factor, count, working, exclusion) changed."""
    quarantine_changed: int = 0


def classified_fields(row: dict[str, Any], enricher: Enricher) -> dict[str, Any]:
    """Classification, unit price and seller quarantine of one stored observation row."""
    result = classify(row["title"] or "", catalog=enricher.catalog, condition=row["condition_raw"])
    excluded = str(result.excluded_reason.value) if result.excluded_reason else None
    working = bool(result.working) and row["condition"] != "for_parts"
    price_usd = Decimal(row["price_usd"])
    shipping = Decimal(row["shipping_usd"]) if row["shipping_usd"] is not None else None
    unit, note = unit_price_of(price_usd=price_usd, shipping_usd=shipping, gpu_count=result.gpu_count,
                               excluded_reason=excluded, system=result.system,
                               best_offer_accepted=bool(row["best_offer_accepted"]),
                               price_is_range=row["price_max"] is not None)
    seller = seller_reason(row["seller_feedback"], enricher.rules)
    return {
        "model": result.model, "sku": result.sku, "memory_gb": result.memory_gb,
        "form_factor": result.form_factor, "gpu_count": result.gpu_count, "working": int(working),
        "excluded_reason": excluded, "classification_note": result.classification_note,
        "unit_price_usd": str(unit) if unit is not None else None, "unit_price_note": note,
        "quarantined": int(seller is not None), "quarantine_reason": seller,
    }


def reclassify_store(store: Any, enricher: Enricher) -> ReclassifyReport:
    """Reclassify every observation, mirror the latest onto its listing, then re-run quarantine."""
    report = ReclassifyReport()
    changed_listings: set[int] = set()
    updates: list[tuple[int, dict[str, Any]]] = []
    for row in store.observations_for_reclassify():
        fields = classified_fields(row, enricher)
        report.observations += 1
        if any(_norm(row[f]) != _norm(fields[f]) for f in _CLASS_FIELDS):
            changed_listings.add(row["listing_id"])
        updates.append((row["id"], fields))
        if len(updates) >= 500:
            store.update_observation_classes(updates)
            updates = []
    store.update_observation_classes(updates)
    report.listings = store.sync_listing_classes()
    report.changed = len(changed_listings)
    report.quarantine_changed = enricher.quarantine_crawl(store, None)
    return report


def _norm(value: Any) -> Any:
    return None if value in (None, "") else value
