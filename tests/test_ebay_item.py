"""eBay item pages (``ebay-item``): the parser on both corpus pages (GT-7 exactly) and on small
hand-written snippets, the spider's requests, ``gpuprices parse``, and a crawl end to end."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gpuprices.cli import cli
from gpuprices.core.items import ListingType, PageReport, PageStatus, RawListing
from gpuprices.pipeline.normalize import Normalizer
from gpuprices.spiders.ebay_item import EbayItemSpider
from gpuprices.spiders.parsers.ebay_item import item_id_from, parse_item_page
from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.httpserver import LocalServer, Reply

RTX = "ebay-item/itm-226771798286-rtx-5090-fe-2025-06-ebay-com.html"
LEGO = "ebay-item/itm-198187151691-lego-7075-2026-04-ebay-de.html"
WHEN = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def _parse(html: str | bytes, site: str = "ebay.com", url: str = "https://www.ebay.com/itm/123456789012") -> Any:
    return parse_item_page(html, url=url, site=site, observed_at=WHEN)


def _listing(html: str | bytes, **kwargs: str) -> RawListing:
    page = _parse(html, **kwargs)
    assert page.status is PageStatus.OK, page.reason
    assert page.listing is not None
    return page.listing


# --- corpus pages ---------------------------------------------------------------------------------------
def test_gt7_rtx_5090_item_page(corpus: Path) -> None:
    page = _parse((corpus / RTX).read_bytes(), url="https://www.ebay.com/itm/226771798286")
    assert page.status is PageStatus.OK and page.reason == ""
    raw = page.listing
    assert raw is not None
    assert raw.source == "ebay-item" and raw.item_id == "226771798286"
    assert raw.url == "https://www.ebay.com/itm/226771798286"
    # The h1 renders "…Founders Edition" and a lone "-" segment; JSON-LD's name has no dash either.
    assert raw.title == "NVIDIA GeForce RTX 5090 FE Founders Edition"
    assert raw.price_text == "EUR 3,500.00"
    assert raw.extra["price_approx_usd"] == "3971.45"
    assert raw.shipping_text == "EUR 150.00 (approx US $170.21) DHL"
    assert raw.condition_raw == "New"
    assert raw.listing_type is ListingType.BUY_IT_NOW and raw.buying_options == ("FIXED_PRICE",)
    assert raw.bids is None
    assert (raw.seller, raw.seller_feedback, raw.seller_feedback_pct) == ("salomon0651", 113, "100")
    assert raw.location == "Paris, France"
    assert raw.availability == "in_stock"
    assert not raw.ended and not raw.sold
    specifics = json.loads(raw.extra["specifics"])
    assert specifics["Numéro de pièce fabricant"] == "900-1G136-2510-000"
    assert specifics["Taille de la mémoire"] == "24 Go"  # the seller's mistake is kept, not corrected
    assert raw.extra["mpn"] == "900-1G136-2510-000"
    # JSON-LD carries the USD conversion; it is kept for audit and flagged, never used as the price.
    assert raw.extra["jsonld_price"] == "3971.45" and raw.extra["jsonld_currency"] == "USD"
    assert raw.extra["jsonld_converted"] == "1"
    assert page.jsonld is not None and page.jsonld["name"] == raw.title

    norm = Normalizer().normalize(raw)
    assert (norm.price, norm.currency) == (Decimal("3500.00"), "EUR")
    assert (norm.shipping, norm.shipping_currency) == (Decimal("150.00"), "EUR")
    assert norm.condition == "new"


def test_lego_ebay_de_best_offer_private_seller(corpus: Path) -> None:
    raw = _listing((corpus / LEGO).read_bytes(), site="ebay.de", url="https://www.ebay.de/itm/198187151691")
    assert raw.item_id == "198187151691"
    assert raw.title == "LEGO 4 Juniors: Großes Piratenschiff (7075)"
    assert raw.price_text == "EUR 164,00"  # "oder Preisvorschlag" sits in the price block but is not the price
    assert raw.listing_type is ListingType.BEST_OFFER
    assert raw.buying_options == ("FIXED_PRICE", "BEST_OFFER")
    assert raw.extra["seller_type"] == "Privat"
    assert (raw.seller, raw.seller_feedback) == ("richiengel", 397)
    assert raw.shipping_text == "EUR 6,19 DHL Paket"
    assert raw.location == "Delmenhorst, Deutschland"
    assert raw.condition_raw == "Neu"
    assert raw.extra["gtin"] == "0673419032247" and raw.extra["mpn"] == "7075"
    assert raw.extra["jsonld_currency"] == "EUR" and "jsonld_converted" not in raw.extra
    assert "price_approx_usd" not in raw.extra
    norm = Normalizer().normalize(raw)
    assert (norm.price, norm.currency, norm.shipping, norm.condition) == (Decimal("164.00"), "EUR",
                                                                          Decimal("6.19"), "new")


def test_search_and_block_pages_are_not_item_pages(corpus: Path) -> None:
    blocked = _parse((corpus / "ebay-blocked/pardon-our-interruption-2026-07-ebay-com.html").read_bytes())
    assert blocked.status is PageStatus.BLOCKED and "Pardon" in blocked.reason and blocked.listing is None
    search = _parse((corpus / "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html").read_bytes())
    assert search.status is PageStatus.LAYOUT_CHANGE and search.listing is None
    assert "title" in search.reason and "price" in search.reason


# --- hand-written snippets -----------------------------------------------------------------------------
def _page(body: str, *, title: str = "NVIDIA H100 80GB PCIe", jsonld: dict[str, Any] | None = None) -> str:
    script = f'<script type="application/ld+json">{json.dumps(jsonld)}</script>' if jsonld else ""
    return f"""<html><head><title>{title} | eBay</title>
<link rel="canonical" href="https://www.ebay.com/itm/987654321098">{script}</head><body>
<div class="x-item-title"><h1 class="x-item-title__mainTitle"><span class="ux-textspans">{title}</span></h1></div>
<div class="x-price-section">{body}</div>
<div class="ux-layout-section__textual-display--itemId"><span>eBay item number:</span><span>987654321098</span></div>
</body></html>"""


def _price(cls: str, text: str) -> str:
    return f'<div class="{cls}"><div class="x-price-primary"><span class="ux-textspans">{text}</span></div></div>'


def test_auction_with_bids_and_buy_it_now() -> None:
    body = (_price("x-bid-price", "US $18,250.00")
            + '<div class="x-bid-count" data-testid="x-bid-count"><span class="ux-textspans">23 bids</span></div>'
            + _price("x-bin-price", "US $24,999.00"))
    raw = _listing(_page(body))
    assert raw.item_id == "987654321098"
    assert raw.listing_type is ListingType.AUCTION and raw.bids == 23
    assert raw.price_text == "US $18,250.00" and raw.bin_price_text == "US $24,999.00"
    assert raw.buying_options == ("AUCTION", "FIXED_PRICE")
    norm = Normalizer().normalize(raw)
    assert (norm.price, norm.bin_price, norm.currency) == (Decimal("18250.00"), Decimal("24999.00"), "USD")


@pytest.mark.parametrize(("message", "sold"), [
    ("This listing sold on Tue, May 27 at 9:15PM.", True),
    ("This listing was ended by the seller because the item is no longer available.", False),
    ("Bidding has ended on this item.", False),
    ("Dieses Angebot wurde beendet.", False),
    ("Dieses Angebot wurde verkauft am Di, 27. Mai 2025.", True),
])
def test_ended_and_sold_listings(message: str, sold: bool) -> None:
    offer = {"@type": "Product", "name": "x", "offers": {"@type": "Offer", "price": "9.0", "priceCurrency": "USD",
                                                          "availability": "https://schema.org/InStock"}}
    status = f'<div data-testid="d-statusmessage"><div class="ux-message"><span>{message}</span></div></div>'
    raw = _listing(_page(_price("x-bin-price", "US $9.00")).replace("<body>", "<body>" + status)
                   .replace("</head>", f'<script type="application/ld+json">{json.dumps(offer)}</script></head>'))
    assert raw.ended and raw.sold is sold
    assert raw.sold_at_text == message
    assert raw.availability is None  # the ended banner outranks the offer's stale InStock
    norm = Normalizer().normalize(raw)
    if sold and "May" in message:
        assert norm.sold_at is not None and (norm.sold_at.month, norm.sold_at.day) == (5, 27)


def test_out_of_stock_keeps_the_price() -> None:
    jsonld = {"@context": "https://schema.org", "@type": "Product", "name": "NVIDIA H100 80GB PCIe",
              "offers": {"@type": "Offer", "price": "24999.00", "priceCurrency": "USD",
                         "availability": "https://schema.org/OutOfStock"}}
    raw = _listing(_page(_price("x-bin-price", "US $24,999.00"), jsonld=jsonld))
    assert raw.availability == "out_of_stock" and not raw.ended
    assert raw.extra["jsonld_price"] == "24999.00" and "jsonld_converted" not in raw.extra
    assert Normalizer().normalize(raw).price == Decimal("24999.00")


@pytest.mark.parametrize("message", ["This item is out of stock.", "Sorry, this item is sold out.",
                                     "Dieser Artikel ist ausverkauft."])
def test_out_of_stock_banner_is_not_an_ended_listing(message: str) -> None:
    status = f'<div data-testid="d-statusmessage"><span>{message}</span></div>'
    raw = _listing(_page(_price("x-bin-price", "US $9.00")).replace("<body>", "<body>" + status))
    assert raw.availability == "out_of_stock" and not raw.ended and not raw.sold and raw.sold_at_text is None


def test_bot_check_snippet_is_blocked() -> None:
    page = _parse("<html><head><title>Security Measure</title></head><body>"
                  "<iframe src='/splashui/captcha?ap=1'></iframe></body></html>")
    assert page.status is PageStatus.BLOCKED and page.listing is None


def test_missing_price_is_a_layout_change_with_a_reason() -> None:
    page = _parse(_page('<div class="x-bin-price"><div class="x-price-new-markup">US $9.00</div></div>'))
    assert page.status is PageStatus.LAYOUT_CHANGE and page.listing is None
    assert page.reason == "item page without price (.x-price-primary)"


@pytest.mark.parametrize(("text", "expected"), [
    ("226771798286", "226771798286"),
    ("https://www.ebay.de/itm/198187151691", "198187151691"),
    ("https://www.ebay.com/itm/NVIDIA-H100-80GB/226771798286?hash=item1", "226771798286"),
    ("https://www.ebay.com/sch/i.html?_nkw=h100", None),
    ("12", None),
])
def test_item_id_from(text: str, expected: str | None) -> None:
    assert item_id_from(text) == expected


def test_spider_requests_every_item_on_the_base_url() -> None:
    spider = EbayItemSpider(base_url="http://127.0.0.1:9/", items=[
        "226771798286", "https://www.ebay.de/itm/198187151691", "https://www.ebay.com/itm/226771798286", "junk"])

    async def collect() -> list[Any]:
        return [request async for request in spider.start()]

    out = asyncio.run(collect())
    urls = [r.url for r in out if not isinstance(r, PageReport)]
    assert urls == ["http://127.0.0.1:9/itm/226771798286", "http://127.0.0.1:9/itm/198187151691"]
    failed = [r for r in out if isinstance(r, PageReport)]
    assert len(failed) == 1 and failed[0].status is PageStatus.FAILED and "junk" in failed[0].reason


# --- offline parse and end to end ---------------------------------------------------------------------
def test_parse_cli_item_page_has_the_search_page_keys(corpus: Path) -> None:
    runner = CliRunner()
    item = runner.invoke(cli, ["parse", "--source", "ebay-item", "--date", "2025-06-02", str(corpus / RTX)])
    auto = runner.invoke(cli, ["parse", "--date", "2025-06-02", str(corpus / RTX)])  # detected as an item page
    search = runner.invoke(cli, ["parse", "--date", "2026-04-14",
                                 str(corpus / "ebay-search/s-card-2026-04-ebay-de-lego-nan-eur.html")])
    assert item.exit_code == auto.exit_code == search.exit_code == 0, item.output
    row = json.loads(item.stdout)
    assert json.loads(auto.stdout) == row
    assert set(row) == set(json.loads(search.stdout.splitlines()[0]))
    assert (row["item_id"], row["price"], row["currency"], row["shipping"]) == ("226771798286", "3500.00", "EUR",
                                                                               "150.00")
    assert row["source"] == "ebay-item" and row["listing_type"] == "buy_it_now" and row["condition"] == "new"


def test_item_crawl_end_to_end(tmp_path: Path, corpus: Path) -> None:
    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nAllow: /itm/\n", headers={"Content-Type": "text/plain"}))
        server.route("/itm/226771798286", Reply((corpus / RTX).read_bytes()))
        server.route("/itm/198187151691", Reply((corpus / LEGO).read_bytes()))
        db = tmp_path / "prices.db"
        section = (f'\n[sources.ebay-item]\nbase_url = "{server.url}"\n'
                   'items = ["226771798286", "https://www.ebay.de/itm/198187151691"]\n')
        config = write_config(tmp_path / "config.toml", fast_crawl_config(db) + section)
        done = run_cli("--config", str(config), "crawl", "--source", "ebay-item", cwd=tmp_path)
        assert {r.path for r in server.requests} == {"/robots.txt", "/itm/226771798286", "/itm/198187151691"}
    assert done.returncode == 0, done.stderr
    crawl = query(db, "SELECT * FROM crawls")[0]
    assert crawl["status"] == "ok" and crawl["pages"] == 2 and crawl["listings"] == 2
    rows = {r["item_id"]: r for r in query(db, "SELECT * FROM listings")}
    assert set(rows) == {"226771798286", "198187151691"}
    rtx, lego = rows["226771798286"], rows["198187151691"]
    assert (rtx["family"], rtx["source"], rtx["price"], rtx["currency"]) == ("ebay", "ebay-item", "3500.00", "EUR")
    assert rtx["title"] == "NVIDIA GeForce RTX 5090 FE Founders Edition" and rtx["seller"] == "salomon0651"
    assert rtx["availability"] == "in_stock"
    assert (lego["price"], lego["currency"], lego["listing_type"]) == ("164.00", "EUR", "best_offer")
    extra = json.loads(query(db, "SELECT extra FROM observations WHERE listing_id = ?", (rtx["id"],))[0]["extra"])
    assert extra["jsonld_converted"] == "1" and extra["price_approx_usd"] == "3971.45"
