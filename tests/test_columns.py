"""The listing schema is declared once (gpuprices.core.columns): every form derived from it agrees with
it, and a listing with every field filled reaches both stores, the exports and reclassify whole."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs

from gpuprices.core import columns
from gpuprices.core.columns import COLUMNS, RECLASSIFIED, table_columns
from gpuprices.core.items import ListingType, RawListing
from gpuprices.core.listing import ROW_COLUMNS, NormalizedListing, listing_row, stored_values
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.reclassify import reclassify_store
from gpuprices.storage import schema
from gpuprices.storage.values import LISTING_KEY, LISTING_STATE, OBSERVATION_COLUMNS, sql_value

# Raw fields read while normalizing (their results are stored), or the listing's key family.
_NOT_STORED_RAW = {"family", "shipping_currency_raw", "condition_id", "seller_feedback_pct"}


def _full_listing() -> NormalizedListing:
    """Every field set to something other than its default, so a column left behind shows."""
    raw = RawListing(
        source="ebay-api", family="ebay", site="ebay.com", item_id="v1|123456789012|0", title="NVIDIA H100 80GB PCIe",
        url="https://www.ebay.com/itm/123456789012", variation_id="var-7", price_text="$24,500.00 to $25,000.00",
        price_value="24500.00", currency_raw="USD", bin_price_text="$26,000.00", shipping_text="+$35.00 shipping",
        shipping_value="35.00", shipping_currency_raw="USD", condition_raw="Used", condition_id="3000",
        listing_type=ListingType.AUCTION, buying_options=("AUCTION", "FIXED_PRICE"), bids=4, seller="gpu-seller",
        seller_feedback=1234, seller_feedback_pct="99.5", location="US", availability="in_stock", sold=True,
        ended=True, sold_at_text="Sold Nov 28, 2026", best_offer_accepted=True, created_at="2026-11-20T08:00:00Z",
        observed_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC), page_url="https://api.ebay.com/buy/browse?q=h100",
        query="h100", extra={"epid": "42"})
    return NormalizedListing(
        raw=raw, price=Decimal("24500.00"), price_max=Decimal("25000.00"), currency="USD", currency_raw="$",
        price_usd=Decimal("24500.00"), price_max_usd=Decimal("25000.00"), usd_rate=Decimal("1"),
        usd_rate_date=date(2026, 11, 30), usd_rate_method="identity", bin_price=Decimal("26000.00"),
        shipping=Decimal("35.00"), shipping_currency="USD", shipping_usd=Decimal("35.00"), shipping_estimated=True,
        condition="used", sold_at=date(2026, 11, 28), model="bogus", sku="bogus-sku", memory_gb=1,
        form_factor="bogus", gpu_count=9, working=False, excluded_reason="bogus", classification_note="bogus",
        unit_price_usd=Decimal("1.00"), unit_price_note="bogus", quarantined=True, quarantine_reason="bogus")


def test_every_listing_field_has_a_column() -> None:
    sources = {column.source for column in COLUMNS if column.source}
    listing_fields = {f"{field.name}" for field in attrs.fields(NormalizedListing) if field.name != "raw"}
    raw_fields = {f"raw.{field.name}" for field in attrs.fields(RawListing)
                  if field.name not in _NOT_STORED_RAW}
    assert listing_fields | raw_fields <= sources
    assert sources <= listing_fields | raw_fields  # and no column reads an attribute that is not there


def test_the_derived_forms_are_the_declaration() -> None:
    listing = _full_listing()
    assert tuple(listing_row(listing)) == ROW_COLUMNS == tuple(c.name for c in COLUMNS if c.row)
    assert tuple(stored_values(listing)) == tuple(c.name for c in COLUMNS if c.source)
    for table in columns.TABLES:  # every stored column is written by the store or carried by the listing
        written = {*LISTING_KEY, *LISTING_STATE, "first_seen_at", "last_seen_at", "first_crawl_id",
                   "last_crawl_id"} if table == "listings" else set(OBSERVATION_COLUMNS)
        assert {c.name for c in table_columns(table)} - {"id"} == written
    assert set(RECLASSIFIED) == {c.name for c in COLUMNS if c.group in ("classification", "enrichment")}
    assert max(c.since for c in COLUMNS) <= len(schema.MIGRATIONS)  # a new column comes with its migration


def test_assess_fills_exactly_what_reclassify_rewrites() -> None:
    fields = Enricher.from_settings(None).assess(
        title="NVIDIA H100 80GB PCIe", condition_raw="Used", condition="used", price_usd=Decimal("24500"),
        shipping_usd=None, best_offer_accepted=False, price_is_range=False, seller_feedback=100)
    assert tuple(fields) == RECLASSIFIED


def test_classify_prints_the_classification_columns() -> None:
    from gpuprices.cli.classify import CLASSIFY_FIELDS
    from gpuprices.pipeline.classify.classifier import Classification

    assert set(CLASSIFY_FIELDS) <= {field.name for field in attrs.fields(Classification)}
    assert tuple(c.name for c in COLUMNS if c.group == "classification") == CLASSIFY_FIELDS


def _stored(table: str, row: dict[str, Any], listing: NormalizedListing) -> None:
    """Every declared column of ``table`` holds what the listing carried; the store's own are filled."""
    expected = {name: sql_value(name, value) for name, value in stored_values(listing).items()}
    assert list(row) == [c.name for c in table_columns(table)]
    for column in table_columns(table):
        if column.source is None:
            assert row[column.name] is not None, column.name
        elif column.kind == "time":
            assert datetime.fromisoformat(row[column.name]) == listing.raw.observed_at, column.name
        else:
            assert row[column.name] == expected[column.name], column.name


def test_a_full_listing_round_trips_through_the_store_exports_and_reclassify(store: Any) -> None:
    listing = _full_listing()
    crawl = store.start_crawl("ebay-api")
    store.save_listings(crawl, [listing])
    _stored("listings", store.query("SELECT * FROM listings")[0], listing)
    _stored("observations", store.query("SELECT * FROM observations")[0], listing)
    assert store.export_columns("listings") == [c.name for c in table_columns("listings")]
    assert store.export_columns("observations") == [*LISTING_KEY, *(c.name for c in table_columns("observations"))]
    exported = next(store.export_rows("observations"))
    assert exported["extra"] == '{"epid": "42"}' and exported["sold"] is True

    # The bogus classification is rewritten in every reclassified column, on observations and listings.
    enricher = Enricher.from_settings(None)
    report = reclassify_store(store, enricher)
    assert report.changed == 1
    fresh = enricher.assess(title=listing.raw.title, condition_raw="Used", condition="used",
                            price_usd=Decimal("24500.00"), shipping_usd=Decimal("35.00"), best_offer_accepted=True,
                            price_is_range=True, seller_feedback=1234)
    want = {name: sql_value(name, columns.row_value(name, value)) for name, value in fresh.items()}
    for table in columns.TABLES:
        row = store.query(f"SELECT {', '.join(RECLASSIFIED)} FROM {table}")[0]
        assert row == {**want, "quarantined": row["quarantined"], "quarantine_reason": row["quarantine_reason"]}
        assert row["model"] == "H100" and row["unit_price_note"] != "bogus"
