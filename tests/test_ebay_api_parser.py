"""Every saved Browse API response in the corpus: listing counts and hand-checked values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gpuprices.core.items import ListingType, PageStatus
from gpuprices.exceptions import ParseError
from gpuprices.pipeline.normalize import Normalizer
from gpuprices.spiders.parsers.ebay_api import load_api_payload, parse_api_response

WHEN = datetime(2023, 12, 4, 12, tzinfo=UTC)

# file → distinct listings (MANIFEST: entries, with duplicated itemIds counted once)
COUNTS = {
    "browse-search-nvidia-h100-pcie-2023-12.json": 11,
    "browse-search-nvidia-h100-sxm-2023-12.json": 6,
    "browse-search-nvidia-a100-pcie-2023-12.json": 44,
    "browse-search-nvidia-a100-sxm-2023-12.json": 39,
    "browse-search-nvidia-l40s-2023-12.json": 7,
    "browse-search-nvidia-t4-aspect-refinements-2023-11.md": 3,
    "browse-getitem-tesla-t4-265708278354-2023-11.md": 1,
    "browse-search-iphone-limit100-envelope-2023-07.py": 100,
    "browse-search-nvidia-a10-2023-12.json": 88,
    "browse-search-nvidia-l4-2023-12.json": 7,
    "browse-search-nvidia-l40-2023-12.json": 15,
    "browse-search-nvidia-t4-2023-12.json": 100,
    "browse-search-nvidia-rtx-a5000-2023-12.json": 51,
    "browse-search-nvidia-geforce-rtx-4090-2023-12.json": 98,
    "browse-search-nvidia-geforce-rtx-5090-2025-11.json": 101,
}


def _parse(corpus: Path, name: str):  # type: ignore[no-untyped-def]
    text = (corpus / "ebay-api" / name).read_text(encoding="utf-8")
    return parse_api_response(load_api_payload(text), site="EBAY_US", observed_at=WHEN, page_url=name)


def test_every_corpus_response_is_covered(corpus: Path) -> None:
    assert {p.name for p in (corpus / "ebay-api").iterdir()} <= set(COUNTS)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_and_every_listing_normalizes(corpus: Path, name: str) -> None:
    if not (corpus / "ebay-api" / name).exists():
        pytest.skip(f"{name} not in this corpus")
    page = _parse(corpus, name)
    assert page.status is PageStatus.OK
    assert len(page.listings) == COUNTS[name]
    assert len({(x.item_id, x.variation_id) for x in page.listings}) == COUNTS[name]
    normalizer = Normalizer()
    for raw in page.listings:
        assert raw.item_id.isdigit() and raw.title
        listing = normalizer.normalize(raw)  # raises on any unpriceable row
        assert listing.price > 0 and listing.currency == raw.currency_raw
        assert str(listing.price) == raw.price_value  # the API's decimal string, exactly


def test_gt8_h100_pcie_values(corpus: Path) -> None:
    page = _parse(corpus, "browse-search-nvidia-h100-pcie-2023-12.json")
    by_id = {x.item_id: x for x in page.listings}
    expected = [
        ("285539337148", "NVIDIA H100 80GB Compute Card PCIe HBM2e 350W 900-21010-0000-000 GPU AI Card",
         "31999.46", ("FIXED_PRICE",), "New", "1000", "0.00", "US"),
        ("195972662019", "Nvidia H100 PCIE CARDS TENSOR CORE Memory 80GB HBM2e 2.0 TB/sec NEW IN STOCK",
         "30450.00", ("FIXED_PRICE", "BEST_OFFER"), "New", "1000", "100.00", "US"),
        ("364604421257", "NVIDIA H100 80GB Compute Card PCIe HBM2e 350W 900-21010-0000-000 GPU AI Card",
         "31000.00", ("FIXED_PRICE", "BEST_OFFER"), "Used", "3000", "0.00", "US"),
        ("386203557728", "NVIDIA Tesla H100 80GB GPU PCIe Version 900-21010-000-000 Not SXM version",
         "40740.00", ("FIXED_PRICE",), "New", "1000", "0.00", "CN"),
        ("314981032359", "DELL NVIDIA H100 PCIE GPU 80GB 5120 BIT HBM2E GRAPHICS CARD DGP4C",
         "34950.00", ("FIXED_PRICE",), "Open box", "1500", "139.00", "US"),
    ]
    normalizer = Normalizer()
    for item_id, title, price, options, condition, condition_id, shipping, country in expected:
        raw = by_id[item_id]
        assert (raw.title, raw.price_value, raw.currency_raw) == (title, price, "USD")
        assert raw.buying_options == options
        assert (raw.condition_raw, raw.condition_id, raw.shipping_value, raw.location) == (
            condition, condition_id, shipping, country)
        assert raw.variation_id is None
        listing = normalizer.normalize(raw)
        assert listing.price == Decimal(price) and listing.shipping == Decimal(shipping)
        assert listing.price_usd == Decimal(price) and listing.usd_rate_method == "identity"
    assert by_id["195972662019"].listing_type is ListingType.BEST_OFFER
    assert by_id["285539337148"].listing_type is ListingType.BUY_IT_NOW
    assert Normalizer().normalize(by_id["314981032359"]).condition == "open_box"
    assert all(x.seller and x.seller.startswith("redacted-") for x in page.listings)


def test_variation_keeps_its_own_id(corpus: Path) -> None:
    page = _parse(corpus, "browse-search-nvidia-rtx-a5000-2023-12.json")
    variations = [x for x in page.listings if x.variation_id]
    assert variations
    for item in variations:
        assert item.url and item.url.endswith(f"/itm/{item.item_id}?var={item.variation_id}")


def test_envelope_paging_fields(corpus: Path) -> None:
    page = _parse(corpus, "browse-search-nvidia-t4-aspect-refinements-2023-11.md")
    assert page.total == 83
    assert page.next_url and "offset=3" in page.next_url
    auction = _parse(corpus, "browse-search-nvidia-a10-2023-12.json")
    bids = [x for x in auction.listings if x.listing_type is ListingType.AUCTION]
    assert len(bids) == 2 and all(x.bids == 0 and "current_bid" in x.extra for x in bids)


def test_calculated_shipping_is_unknown_not_zero(corpus: Path) -> None:
    page = _parse(corpus, "browse-search-nvidia-t4-2023-12.json")
    # Options of type CALCULATED without a cost (the buyer's address decides it).
    calculated = [x for x in page.listings if x.shipping_text == "CALCULATED" and x.shipping_value is None]
    assert calculated
    for raw in calculated:
        listing = Normalizer().normalize(raw)
        assert listing.shipping is None and listing.shipping_usd is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json at all", "not an API response"),
        ('{"errors": [{"message": "Invalid access token"}]}', "Invalid access token"),
        ('{"foo": 1}', "no itemSummaries"),
        ("{broken", "not valid JSON"),
    ],
)
def test_bad_payloads_are_clear_errors(payload: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_api_response(load_api_payload(payload), site="EBAY_US", observed_at=WHEN)


def test_empty_search_is_empty_not_layout_change() -> None:
    page = parse_api_response(json.loads('{"href": "x", "total": 0, "limit": 50, "offset": 0}'),
                              site="EBAY_US", observed_at=WHEN)
    assert page.status is PageStatus.EMPTY and page.listings == []


def test_entries_without_id_or_title_are_counted() -> None:
    page = parse_api_response([{"itemId": "v1|1|0", "title": ""}, {"title": "x"}], site="EBAY_US",
                              observed_at=WHEN)
    assert page.status is PageStatus.LAYOUT_CHANGE
    assert page.dropped == {"no_item_id_or_title": 2}
