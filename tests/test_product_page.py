"""Retailer product pages (``product-page``): schema.org offers (JSON-LD, microdata), the per-host CSS
fallback, what the normalizer makes of their prices, the corpus retail pages, and a crawl end to end.

All product pages here are small hand-written snippets; the corpus only has retail *search* pages,
which must come out as a layout change or as real prices, never invented ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gpuprices.cli import cli
from gpuprices.core.items import PageStatus, RawListing
from gpuprices.pipeline.normalize import DroppedListing, Normalizer
from gpuprices.spiders.parsers.product_page import ProductPage, availability_state, parse_product_page
from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.httpserver import LocalServer, Reply

WHEN = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
URL = "https://www.gpu-shop.example/products/h100-pcie"


def _html(*blocks: Any, body: str = "", head: str = "") -> str:
    scripts = "".join(
        b if isinstance(b, str) else f'<script type="application/ld+json">{json.dumps(b)}</script>' for b in blocks
    )
    return f"<html><head><title>Shop</title>{head}{scripts}</head><body>{body}</body></html>"


def _parse(html: str, url: str = URL, selectors: dict[str, Any] | None = None) -> ProductPage:
    return parse_product_page(html, url=url, observed_at=WHEN, selectors=selectors)


def _norm(raw: RawListing) -> Any:
    return Normalizer().normalize(raw)


def _product(offers: Any, **fields: Any) -> dict[str, Any]:
    return {"@context": "https://schema.org", "@type": "Product", "name": "NVIDIA H100 80GB PCIe", **fields,
            "offers": offers}


def test_jsonld_product_with_one_offer() -> None:
    offer = {"@type": "Offer", "price": "27999.00", "priceCurrency": "USD", "url": "/products/h100-pcie?ref=x",
             "availability": "https://schema.org/InStock", "itemCondition": "https://schema.org/NewCondition",
             "seller": {"@type": "Organization", "name": "GPU Shop"}}
    page = _parse(_html(_product(offer, sku="H100-PCIE-80", gtin13="0812674024912", mpn="900-21010-0000-000",
                                 brand={"@type": "Brand", "name": "NVIDIA"})))
    assert (page.status, page.method, page.reason) == (PageStatus.OK, "json-ld", "")
    [raw] = page.listings
    assert raw.source == "product-page" and raw.site == "gpu-shop.example"
    assert raw.item_id == "gpu-shop.example:H100-PCIE-80" and raw.variation_id is None
    assert raw.title == "NVIDIA H100 80GB PCIe"
    assert (raw.price_value, raw.currency_raw, raw.price_text) == ("27999.00", "USD", None)
    assert raw.availability == "in_stock" and raw.condition_raw == "New" and raw.seller == "GPU Shop"
    assert raw.url == "https://www.gpu-shop.example/products/h100-pcie?ref=x"
    assert raw.extra == {"sku": "H100-PCIE-80", "gtin": "0812674024912", "mpn": "900-21010-0000-000",
                         "brand": "NVIDIA"}
    norm = _norm(raw)
    assert (norm.price, norm.currency, norm.condition) == (Decimal("27999.00"), "USD", "new")


def test_aggregate_offer_keeps_the_range() -> None:
    offer = {"@type": "AggregateOffer", "lowPrice": 24500, "highPrice": "31999.5", "priceCurrency": "EUR",
             "offerCount": 4}
    [raw] = _parse(_html(_product(offer, mpn="900-21010-0000-000"))).listings
    assert raw.price_text == "EUR 24500 to 31999.5" and raw.price_value is None
    assert raw.item_id == "gpu-shop.example:900-21010-0000-000"
    norm = _norm(raw)
    assert (norm.price, norm.price_max, norm.currency) == (Decimal("24500"), Decimal("31999.5"), "EUR")


def test_three_sellers_are_three_listings() -> None:
    offers = [{"@type": "Offer", "price": p, "priceCurrency": "USD", "seller": {"@type": "Organization", "name": s}}
              for p, s in (("28100.00", "Alpha IT"), ("27650.00", "Beta Servers"), ("29999.99", "Gamma"))]
    page = _parse(_html(_product(offers, sku="H100")))
    assert [(r.variation_id, r.price_value, r.seller) for r in page.listings] == [
        ("Alpha IT", "28100.00", "Alpha IT"), ("Beta Servers", "27650.00", "Beta Servers"),
        ("Gamma", "29999.99", "Gamma")]
    assert {r.item_id for r in page.listings} == {"gpu-shop.example:H100"}
    # Offers without distinct sellers or SKUs are told apart by their index.
    page = _parse(_html(_product([{"price": "1.00", "priceCurrency": "USD"}] * 2, sku="X")))
    assert [r.variation_id for r in page.listings] == ["0", "1"]


def test_graph_wrapping_and_price_specification() -> None:
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "@id": URL, "name": "H100"},
        {"@type": ["Product", "Thing"], "name": "H100 NVL 94GB", "gtin14": "00812674025001",
         "offers": {"@type": "Offer", "availability": "https://schema.org/PreOrder", "priceSpecification": [
             {"@type": "UnitPriceSpecification", "priceType": "https://schema.org/ListPrice", "price": 35000,
              "priceCurrency": "USD"},
             {"@type": "UnitPriceSpecification", "price": 30999.0, "priceCurrency": "USD"}]}}]}
    [raw] = _parse(_html(graph)).listings
    assert raw.item_id == "gpu-shop.example:00812674025001" and raw.title == "H100 NVL 94GB"
    assert (raw.price_value, raw.currency_raw, raw.availability) == ("30999.0", "USD", "preorder")


def test_product_group_variants_and_a_broken_jsonld_block() -> None:
    group = {"@context": "https://schema.org", "@type": "ProductGroup", "name": "L40S", "brand": "NVIDIA",
             "hasVariant": [
                 {"@type": "Product", "sku": "L40S-NEW", "offers": {"price": "8999", "priceCurrency": "USD"}},
                 {"@type": "Product", "sku": "L40S-REF", "offers": {"price": "7499", "priceCurrency": "USD",
                                                                   "itemCondition": "RefurbishedCondition"}}]}
    broken = '<script type="application/ld+json">{"@type": "Product", "name": </script>'
    page = _parse(_html(broken, group))
    assert [(r.item_id, r.title, r.price_value, r.condition_raw) for r in page.listings] == [
        ("gpu-shop.example:L40S-NEW", "L40S", "8999", None),
        ("gpu-shop.example:L40S-REF", "L40S", "7499", "Refurbished")]
    assert page.listings[0].extra["brand"] == "NVIDIA"


def test_microdata_only_product() -> None:
    body = """<div itemscope itemtype="https://schema.org/Product">
      <h1 itemprop="name">AMD Instinct MI300X</h1><meta itemprop="mpn" content="100-300000069">
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
        <span itemprop="priceCurrency" content="GBP">£</span><span itemprop="price" content="15250.00">15,250.00</span>
        <link itemprop="availability" href="https://schema.org/LimitedAvailability">
      </div></div>"""
    page = _parse(_html(body=body), url="https://shop.example.co.uk/mi300x")
    assert (page.status, page.method) == (PageStatus.OK, "microdata")
    [raw] = page.listings
    assert raw.item_id == "shop.example.co.uk:100-300000069" and raw.title == "AMD Instinct MI300X"
    assert (raw.price_value, raw.currency_raw, raw.availability) == ("15250.00", "GBP", "limited")
    assert _norm(raw).price == Decimal("15250.00")


def test_out_of_stock_is_a_state_and_keeps_the_price() -> None:
    offer = {"@type": "Offer", "price": "27999.00", "priceCurrency": "USD", "availability": "http://schema.org/SoldOut"}
    [raw] = _parse(_html(_product(offer, sku="A"))).listings
    assert raw.availability == "out_of_stock"
    assert _norm(raw).price == Decimal("27999.00")


@pytest.mark.parametrize(("price", "currency", "reason"), [
    ("Call for price", "USD", "unparseable_price"),
    (None, "USD", "missing_price"),
    ("0.00", "USD", "unparseable_price"),
    ("27999.00", None, "unparseable_price"),  # no currency: unknown beats a guess
])
def test_unpriced_offers_are_dropped_with_a_reason_never_zero(price: str | None, currency: str | None,
                                                              reason: str) -> None:
    offer = {k: v for k, v in (("@type", "Offer"), ("price", price), ("priceCurrency", currency)) if v is not None}
    page = _parse(_html(_product(offer, sku="A")))
    assert page.status is PageStatus.OK
    [raw] = page.listings
    with pytest.raises(DroppedListing) as dropped:
        _norm(raw)
    assert dropped.value.reason == reason


def test_comma_decimal_price_goes_to_the_text_parser() -> None:
    offer = {"@type": "Offer", "price": "1.299,00", "priceCurrency": "EUR"}
    [raw] = _parse(_html(_product(offer, sku="A")), url="https://www.grafikkarten.example.de/p/1").listings
    assert raw.price_text == "1.299,00" and raw.price_value is None
    assert (_norm(raw).price, _norm(raw).currency) == (Decimal("1299.00"), "EUR")


CSS = {"www.newegg.example": {"price": "li.price-current", "currency": "USD", "title": "h1.product-title",
                              "availability": ".stock::text", "gtin": "meta[itemprop=gtin]", "mpn": "#mpn::text"}}
NEWEGG_BODY = """<h1 class="product-title">PNY NVIDIA A100 80GB</h1><p class="stock">In stock.</p>
<meta itemprop="gtin" content="0751492641563"><span id="mpn">TCSA100M-80GB-PB</span>
<ul class="price"><li class="price-current"><span class="price-current-label"></span>$<strong>14,899</strong>
<sup>.99</sup></li></ul>"""


def test_css_fallback_with_a_configured_selector() -> None:
    page = _parse(_html(body=NEWEGG_BODY), url="https://www.newegg.example/p/N82E1", selectors=CSS)
    assert (page.status, page.method) == (PageStatus.OK, "css")
    [raw] = page.listings
    assert raw.title == "PNY NVIDIA A100 80GB" and raw.price_text == "$14,899.99" and raw.currency_raw == "USD"
    assert raw.availability == "in_stock" and raw.item_id == "newegg.example:0751492641563"
    assert raw.extra == {"gtin": "0751492641563", "mpn": "TCSA100M-80GB-PB"}
    assert (_norm(raw).price, _norm(raw).currency) == (Decimal("14899.99"), "USD")


def test_css_selector_that_matches_nothing_is_a_layout_change() -> None:
    page = _parse(_html(body="<p>redesigned</p>"), url="https://www.newegg.example/p/N82E1", selectors=CSS)
    assert page.status is PageStatus.LAYOUT_CHANGE and "www.newegg.example" in page.reason
    assert "li.price-current" in page.reason


def test_no_data_and_no_selector_is_a_layout_change_naming_the_host() -> None:
    page = _parse(_html(body="<h1>H100</h1><span class='price'>$27,999</span>"))
    assert page.status is PageStatus.LAYOUT_CHANGE and page.listings == []
    assert "www.gpu-shop.example" in page.reason and "no CSS selectors" in page.reason


def test_bot_check_is_blocked() -> None:
    page = _parse("<html><head><title>Just a moment...</title></head><body>checking</body></html>")
    assert page.status is PageStatus.BLOCKED


@pytest.mark.parametrize(("text", "state"), [
    ("https://schema.org/InStock", "in_stock"), ("OutOfStock", "out_of_stock"), ("BackOrder", "preorder"),
    ("https://schema.org/Discontinued", "discontinued"), ("Not in stock", "out_of_stock"),
    ("Nur noch 2 auf Lager", "limited"), ("Auf Lager", "in_stock"), ("ask us", None),
])
def test_availability_state(text: str, state: str | None) -> None:
    assert availability_state(text) == state


@pytest.mark.parametrize("name", ["retail/amazon-com-search-laptop-2025-08.html",
                                  "retail/newegg-items-view-fragment-2021-06-software.html"])
def test_corpus_search_pages_invent_no_prices(corpus: Path, name: str) -> None:
    data = (corpus / name).read_bytes()
    page = parse_product_page(data, url="https://www.example-retail.com/s?k=laptop", observed_at=WHEN)
    assert page.status in (PageStatus.LAYOUT_CHANGE, PageStatus.OK)
    text = data.decode("utf-8", errors="replace")
    for raw in page.listings:  # any price must be one the page really shows
        assert (raw.price_value or raw.price_text or "") in text
    if page.status is PageStatus.LAYOUT_CHANGE:
        assert page.listings == [] and "www.example-retail.com" in page.reason


def test_parse_cli_product_page(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    offer = {"@type": "Offer", "price": "27999.00", "priceCurrency": "USD"}
    path.write_text(_html(_product(offer, sku="H100"), head=f'<link rel="canonical" href="{URL}">'), encoding="utf-8")
    result = CliRunner().invoke(cli, ["parse", "--source", "product-page", "--date", "2025-06-02", str(path)])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert (row["item_id"], row["site"], row["price"], row["currency"]) == ("gpu-shop.example:H100",
                                                                           "gpu-shop.example", "27999.00", "USD")


def test_product_page_crawl_end_to_end(tmp_path: Path) -> None:
    offers = [{"@type": "Offer", "price": "28100.00", "priceCurrency": "USD", "seller": {"name": "Alpha"}},
              {"@type": "Offer", "price": "27650.00", "priceCurrency": "USD", "seller": {"name": "Beta"},
               "availability": "https://schema.org/OutOfStock"}]
    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        server.route("/p/h100", Reply(_html(_product(offers, sku="H100")).encode()))
        server.route("/p/a100", Reply(_html(body=NEWEGG_BODY).encode()))
        db = tmp_path / "prices.db"
        host = "127.0.0.1"
        section = (f'\n[sources.product-page]\nurls = ["{server.url}/p/h100", "{server.url}/p/a100"]\n'
                   f'[sources.product-page.selectors."{host}"]\nprice = "li.price-current"\ncurrency = "USD"\n'
                   'title = "h1.product-title"\ngtin = "meta[itemprop=gtin]"\n')
        config = write_config(tmp_path / "config.toml", fast_crawl_config(db) + section)
        done = run_cli("--config", str(config), "crawl", "--source", "product-page", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    crawl = query(db, "SELECT * FROM crawls")[0]
    assert crawl["status"] == "ok" and crawl["pages"] == 2 and crawl["listings"] == 3
    rows = {(r["item_id"], r["variation_id"]): r for r in query(db, "SELECT * FROM listings")}
    assert {k: (r["price"], r["currency"], r["availability"]) for k, r in rows.items()} == {
        ("127.0.0.1:H100", "Alpha"): ("28100.00", "USD", None),
        ("127.0.0.1:H100", "Beta"): ("27650.00", "USD", "out_of_stock"),
        ("127.0.0.1:0751492641563", ""): ("14899.99", "USD", None),
    }
    assert {r["family"] for r in rows.values()} == {"product"}
