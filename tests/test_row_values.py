"""Row builders compiled from core.listing's column table: the same values as listing_row, flags as 0/1."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from gpuprices.core.items import ListingType, RawListing
from gpuprices.core.listing import NormalizedListing, listing_row, row_values


def _listing(**raw: object) -> NormalizedListing:
    fields: dict[str, object] = {"source": "ebay", "site": "ebay.com", "item_id": "1", "title": "H100",
                                 "observed_at": datetime(2026, 11, 1, 12, tzinfo=UTC)} | raw
    return NormalizedListing(raw=RawListing(**fields),  # type: ignore[arg-type]
                             price=Decimal("100.10"), currency="USD", currency_raw="$", price_usd=Decimal("100.10"),
                             usd_rate=Decimal(1), usd_rate_date=date(2026, 11, 1), usd_rate_method="identity",
                             working=None, quarantined=True, sold_at=date(2026, 10, 31))


def test_values_follow_listing_row_with_flags_as_integers() -> None:
    item = _listing(listing_type=ListingType.AUCTION, buying_options=("AUCTION", "BEST_OFFER"), sold=True,
                    extra={"b": "2", "a": "é"}, page_url="https://example.test/p", price_value="100.1")
    columns = ("listing_id", "title", "price", "usd_rate_date", "observed_at", "listing_type", "buying_options",
               "sold", "working", "quarantined", "sold_at", "extra", "page_url", "price_value_raw", "unknown")
    state, observation = row_values(("title", "sold", "price"), columns, flags={"sold", "working", "quarantined"},
                                    args=("listing_id",))(item, 42)
    row = listing_row(item)
    assert state == ("H100", 1, "100.10")
    assert observation == (42, "H100", "100.10", "2026-11-01", "2026-11-01T12:00:00+00:00", "auction",
                           "AUCTION,BEST_OFFER", 1, None, 1, "2026-10-31", '{"a": "é", "b": "2"}',
                           "https://example.test/p", "100.1", None)
    assert row["price"] == "100.10" and row["sold"] is True and row["buying_options"] == "AUCTION,BEST_OFFER"
    assert type(observation[7]) is int  # a flag, not a bool, for PostgreSQL's integer columns too


def test_absent_values_stay_none() -> None:
    item = _listing()
    (values,) = row_values(("listing_type", "buying_options", "extra", "price_max", "shipping_estimated"),
                           flags={"shipping_estimated"})(item)
    assert values == (None, None, None, None, 0)
