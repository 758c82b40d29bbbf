"""Unit price per GPU, outlier and seller quarantine, and re-classification of stored history."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gpuprices.pipeline.enrich import NOT_SEPARABLE, Enricher, unit_price_of
from gpuprices.pipeline.quarantine import QuarantineRules, outlier_reason, robust_centre
from gpuprices.pipeline.reclassify import reclassify_store
from gpuprices.storage.sqlite import SqliteStore
from tests.test_storage import make_listing


def enriched(title: str, price: str, shipping: str | None = None, feedback: int | None = None,
             enricher: Enricher | None = None):  # type: ignore[no-untyped-def]
    listing = make_listing(title=title, price=price)
    listing.raw.item_id = str(abs(hash((title, price))))
    if shipping is not None:
        listing.shipping = listing.shipping_usd = Decimal(shipping)
        listing.shipping_currency = "USD"
    listing.raw.seller_feedback = feedback
    return (enricher or Enricher.from_settings(None)).enrich(listing)


def test_single_card_unit_price_adds_shipping() -> None:
    item = enriched("NVIDIA H100 80GB PCIe 900-21010-0000-000", "30000.00", shipping="100.00")
    assert item.sku == "h100-80gb-pcie" and item.gpu_count == 1
    assert item.unit_price_usd == Decimal("30100.00")
    assert item.unit_price_note == "(price 30000.00 USD + shipping 100.00 USD) / 1 GPU"


def test_lot_is_divided_by_its_count() -> None:
    item = enriched("Lot of 5 Nvidia A100 40GB PCIe GPU", "25000.00", shipping="0.00")
    assert item.gpu_count == 5
    assert item.unit_price_usd == Decimal("5000.00")
    assert item.unit_price_usd * item.gpu_count == item.total_usd


def test_multi_gpu_board_counts_each_gpu() -> None:
    item = enriched("Dell NVIDIA HGX Board w/ 4x A100 40GB SXM4", "40000.00")
    assert item.gpu_count == 4 and item.unit_price_usd == Decimal("10000.00")
    assert "shipping unknown" in (item.unit_price_note or "")


def test_accessory_has_no_unit_price() -> None:
    item = enriched("Nvidia Passive HEATSINK for Tesla A100 NVLINK SXM4", "199.99")
    assert item.excluded_reason == "accessory" and item.unit_price_usd is None
    assert item.unit_price_note == "excluded: accessory"


def test_complete_server_is_not_separable() -> None:
    value, note = unit_price_of(price_usd=Decimal(200000), shipping_usd=None, gpu_count=8, excluded_reason=None,
                                system=True, best_offer_accepted=False)
    assert value is None and note == NOT_SEPARABLE


def test_best_offer_accepted_has_no_unit_price() -> None:
    value, note = unit_price_of(price_usd=Decimal(100), shipping_usd=None, gpu_count=1, excluded_reason=None,
                                system=False, best_offer_accepted=True)
    assert value is None and "hidden" in note


def test_low_feedback_seller_is_quarantined() -> None:
    item = enriched("NVIDIA H100 80GB PCIe", "25000.00", feedback=0)
    assert item.quarantined and "seller feedback 0" in (item.quarantine_reason or "")
    assert not enriched("NVIDIA H100 80GB PCIe", "25000.00", feedback=None).quarantined  # not shown: no verdict


def test_robust_centre_and_outlier_rule() -> None:
    centre = robust_centre([20000, 24000, 26000, 28000, 30000])
    assert centre is not None and centre.median == 26000 and centre.mad == 2000
    rules = QuarantineRules()
    assert outlier_reason(Decimal(879), "h100-80gb-pcie", centre, None, rules)
    assert outlier_reason(Decimal(19000), "h100-80gb-pcie", centre, None, rules) is None
    few = robust_centre([25000])
    reason = outlier_reason(Decimal(879), "h100-80gb-pcie", few, Decimal(36000), rules)
    assert reason and "list price" in reason


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with SqliteStore(tmp_path / "q.db") as s:
        yield s


def test_first_crawl_quarantines_a_879_dollar_h100(store: SqliteStore) -> None:
    enricher = Enricher.from_settings(None)
    crawl = store.start_crawl("ebay")
    prices = ["21000.00", "23500.00", "25000.00", "26500.00", "28000.00", "29999.00", "879.00"]
    listings = [enriched("NVIDIA H100 80GB PCIe GPU", p, enricher=enricher) for p in prices]
    for index, item in enumerate(listings):
        item.raw.item_id = f"10{index}"
    store.save_listings(crawl, listings)
    assert enricher.quarantine_crawl(store, crawl) == 1
    rows = {r["price"]: r for r in store.db.query("SELECT price, quarantined, quarantine_reason FROM listings")}
    cheap = rows["879.00"]
    assert cheap["quarantined"] == 1 and "below the h100-80gb-pcie median" in cheap["quarantine_reason"]
    assert all(not r["quarantined"] for p, r in rows.items() if p != "879.00")
    assert enricher.quarantine_crawl(store, crawl) == 0  # idempotent


def test_reclassify_follows_catalog_changes(store: SqliteStore) -> None:
    crawl = store.start_crawl("ebay")
    old = enriched("NVIDIA H100 80GB PCIe GPU", "25000.00")
    old.sku, old.model, old.excluded_reason = None, None, "unrelated_model"  # as an older rule set had it
    heatsink = enriched("Heatsink for NVIDIA A100 SXM4", "150.00")
    store.save_listings(crawl, [old, heatsink])
    report = reclassify_store(store, Enricher.from_settings(None))
    assert report.observations == 2 and report.changed == 1
    row = next(store.db.query("SELECT sku, excluded_reason, unit_price_usd FROM listings WHERE price = '25000.00'"))
    assert row == {"sku": "h100-80gb-pcie", "excluded_reason": None, "unit_price_usd": "25000.00"}
    assert reclassify_store(store, Enricher.from_settings(None)).changed == 0


def test_user_catalog_overrides_list_price(store: SqliteStore) -> None:
    extra = {"list_prices": {"h100-80gb-pcie": [{"date": "2026-01-01", "usd": "30000", "source": "my broker"}]}}
    enricher = Enricher.from_settings({"catalog": extra})
    from datetime import date

    price = enricher.catalog.list_price("h100-80gb-pcie", date(2026, 6, 1))
    assert price is not None and price.usd == Decimal(30000) and price.source == "my broker"
    earlier = enricher.catalog.list_price("h100-80gb-pcie", date(2024, 1, 1))
    assert earlier is not None and earlier.usd != Decimal(30000)
