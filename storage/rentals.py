"""Rental offers in SQLite (``rental_observations``): one row per offer × price kind.

An offer with an on-demand and a spot price becomes two rows (``kind`` = ``on_demand`` / ``spot``),
so the index reads one price column. Rows are append-only and deduplicated on a key of feed URL,
provider, accelerator, SKU, region, instance type, GPU count, kind and observation time: the tracker
feed is its whole history re-read on every crawl, and a snapshot already stored is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from gpuprices.core.rental import SPOT, RentalOffer, plain

if TYPE_CHECKING:
    from .common import SqlStore  # relative: the folder is also type-checked as the package "storage"

__all__ = ["RENTAL_DB_COLUMNS", "RentalSaveResult", "observation_rows", "rental_rows", "save_rentals"]

RENTAL_DB_COLUMNS = ("crawl_id", "observed_at", "provider", "sku", "accelerator_raw", "gpu_count", "region",
                     "instance_type", "kind", "price_usd_per_gpu_hour", "instance_price_usd", "note", "feed",
                     "feed_url", "dedupe_key")
_INSERT = (f"INSERT INTO rental_observations ({', '.join(RENTAL_DB_COLUMNS)})"
           f" VALUES ({', '.join('?' for _ in RENTAL_DB_COLUMNS)}) ON CONFLICT (dedupe_key) DO NOTHING")


@attrs.define
class RentalSaveResult:
    """What one batch did."""

    offers: int = 0
    new: int = 0
    """Offers with at least one row not stored before."""
    seen: int = 0
    """Offers already stored in full (a tracker snapshot re-read)."""
    rows: int = 0
    """Rows inserted."""


def observation_rows(crawl_id: int, offer: RentalOffer) -> list[dict[str, Any]]:
    """The table rows of one offer: its main price, plus a ``spot`` row when it also has a spot price."""
    observed = offer.observed_at.astimezone(UTC).isoformat(timespec="seconds")
    kinds = [(offer.kind, offer.price_usd_per_gpu_hour, offer.instance_price_usd)]
    if offer.kind != SPOT and offer.spot_usd_per_gpu_hour is not None:
        kinds.append((SPOT, offer.spot_usd_per_gpu_hour, offer.spot_instance_price_usd))
    rows = []
    for kind, price, instance_price in kinds:
        count = plain(offer.gpu_count)
        key = "|".join([offer.feed_url, offer.provider, offer.accelerator_raw, offer.sku or "", offer.region or "",
                        offer.instance_type or "", count or "", kind, observed])
        rows.append({
            "crawl_id": crawl_id, "observed_at": observed, "provider": offer.provider, "sku": offer.sku,
            "accelerator_raw": offer.accelerator_raw,
            "gpu_count": float(offer.gpu_count) if offer.gpu_count is not None else None,
            "region": offer.region, "instance_type": offer.instance_type, "kind": kind,
            "price_usd_per_gpu_hour": plain(price), "instance_price_usd": plain(instance_price),
            "note": offer.note or None, "feed": offer.feed, "feed_url": offer.feed_url, "dedupe_key": key,
        })
    return rows


def save_rentals(store: SqlStore, crawl_id: int, offers: Iterable[RentalOffer]) -> RentalSaveResult:
    """Store a batch in one transaction and add it to the crawl's totals.

    In the crawl's columns, ``listings`` counts offers, ``listings_new`` offers with a new row,
    ``listings_updated`` offers already stored (seen again), ``observations`` rows written.
    """
    result = RentalSaveResult()
    batch = list(offers)
    if not batch:
        return result
    with store._transaction():
        for offer in batch:
            inserted = 0
            for row in observation_rows(crawl_id, offer):
                inserted += int(store._execute(_INSERT, [row[c] for c in RENTAL_DB_COLUMNS]).rowcount)
            result.offers += 1
            result.rows += inserted
            if inserted:
                result.new += 1
            else:
                result.seen += 1
        store._execute(
            "UPDATE crawls SET listings = listings + ?, listings_new = listings_new + ?,"
            " listings_updated = listings_updated + ?, observations = observations + ? WHERE id = ?",
            [result.offers, result.new, result.seen, result.rows, crawl_id])
    return result


def rental_rows(store: SqlStore, since: date | str, *, until: date | None = None, sku: str | None = None,
                ) -> list[dict[str, Any]]:
    """Stored rows observed from ``since`` (a UTC day, or an ISO time) up to the end of ``until``
    (inclusive; default: no end), oldest first; optionally one SKU only.
    """
    sql = "SELECT * FROM rental_observations WHERE observed_at >= ?"
    params: list[Any] = [since.isoformat() if isinstance(since, date) else since]
    if until is not None:
        sql += " AND observed_at < ?"
        params.append((until + timedelta(days=1)).isoformat())
    if sku is not None:
        sql += " AND sku = ?"
        params.append(sku)
    return store._query(sql + " ORDER BY observed_at, id", params)
