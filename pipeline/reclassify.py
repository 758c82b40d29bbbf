"""Re-apply the current catalog and rules to stored history (rules change; history must follow)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from gpuprices.core.columns import CLASS_IDENTITY, row_value
from gpuprices.pipeline.enrich import Enricher
from gpuprices.storage.values import sql_value


@attrs.define
class ReclassifyReport:
    observations: int = 0
    listings: int = 0
    changed: int = 0
    """Listings whose class (:data:`~gpuprices.core.columns.CLASS_IDENTITY`) changed."""
    quarantine_changed: int = 0


def classified_fields(row: dict[str, Any], enricher: Enricher) -> dict[str, Any]:
    """Classification, unit price and seller quarantine of one stored observation row, as column values."""
    fields = enricher.assess(
        title=row["title"] or "", condition_raw=row["condition_raw"], condition=row["condition"],
        price_usd=Decimal(row["price_usd"]) if row["price_usd"] is not None else None,
        shipping_usd=Decimal(row["shipping_usd"]) if row["shipping_usd"] is not None else None,
        best_offer_accepted=bool(row["best_offer_accepted"]), price_is_range=row["price_max"] is not None,
        seller_feedback=row["seller_feedback"], currency=row["currency"])
    return {name: sql_value(name, row_value(name, value)) for name, value in fields.items()}


def reclassify_store(store: Any, enricher: Enricher) -> ReclassifyReport:
    """Reclassify every observation, mirror the latest onto its listing, then re-run quarantine."""
    report = ReclassifyReport()
    changed_listings: set[int] = set()
    updates: list[tuple[int, dict[str, Any]]] = []
    for row in store.observations_for_reclassify():
        fields = classified_fields(row, enricher)
        report.observations += 1
        if any(_norm(row[f]) != _norm(fields[f]) for f in CLASS_IDENTITY):
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
