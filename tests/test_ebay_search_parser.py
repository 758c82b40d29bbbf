"""eBay search / sold results parser: every saved page of the corpus, plus hand-written snippets.

Expected values come from the corpus's MANIFEST.md (listing counts) and GROUND_TRUTH.md (GT-1..GT-6,
hand-checked against raw DOM dumps), not from the parser's own output.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from parsel import Selector

from gpuprices.core.items import ListingType, PageStatus, RawListing
from gpuprices.spiders.blocks import detect_block
from gpuprices.spiders.parsers import ebay_card_text as tx
from gpuprices.spiders.parsers.ebay_search import SearchPage, parse_search_page, parse_search_selector
from tests.conftest import corpus_site

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

# Listing counts from MANIFEST.md ("listings" column).
PAGES: dict[str, int] = {
    "ebay-search/s-item-2021-01-ebay-co-uk-warhammer-army.html": 61,
    "ebay-search/s-item-2025-03-ebay-com-shirts-usd.html": 60,
    "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html": 60,
    "ebay-search/s-card-2025-08-ebay-co-uk-blu-ray-gbp.html": 60,
    "ebay-search/s-card-2026-02-ebay-com-nike-shoes-idr-display.html": 60,
    "ebay-search/s-card-2026-04-ebay-de-lego-nan-eur.html": 60,
    "ebay-search/s-card-2026-07-ebay-com-pokemon-usd.html": 60,
    "ebay-sold/s-card-completed-2025-10-ebay-com-champion-reverse-weave.html": 60,
    "ebay-sold/s-card-sold-2026-01-ebay-com-ja-ui-pink-floyd-cd-jpy.html": 55,
}
BLOCKED = {
    "ebay-blocked/pardon-our-interruption-2026-07-ebay-com.html": "Pardon Our Interruption",
    "ebay-blocked/akamai-service-unavailable-2025-08.html": "Zero size object",
}
WARHAMMER, SHIRTS, LENOVO, BLURAY, NIKE, LEGO, POKEMON, COMPLETED, JA_SOLD = PAGES




@functools.cache
def _parse(root: Path, name: str) -> SearchPage:
    site = corpus_site(name)
    return parse_search_page(
        (root / name).read_bytes(),
        url=f"https://www.{site}/sch/i.html?_nkw=test",
        site=site,
        observed_at=NOW,
        query="test",
        sold_view=name.startswith("ebay-sold/"),
    )


def _by_id(page: SearchPage) -> dict[str, RawListing]:
    return {listing.item_id: listing for listing in page.listings}


def _is_range(price: str | None) -> bool:
    return price is not None and re.search(r"\S (?:to|bis|～) \S", price) is not None


# --- every corpus page ----------------------------------------------------------------------------


def test_every_corpus_page_is_covered(corpus: Path) -> None:
    on_disk = {
        f"{p.parent.name}/{p.name}"
        for d in ("ebay-search", "ebay-sold", "ebay-blocked")
        for p in (corpus / d).glob("*.html")
    }
    assert on_disk == set(PAGES) | set(BLOCKED)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_listing_count_and_invariants(corpus: Path, name: str) -> None:
    page = _parse(corpus, name)
    assert page.status is PageStatus.OK, page.reason
    assert len(page.listings) == PAGES[name]
    assert page.cards == PAGES[name]
    assert page.dropped == {}
    ids = [li.item_id for li in page.listings]
    assert len(ids) == len(set(ids)), "an item id is duplicated within the page"
    host = f"www.{corpus_site(name)}"
    for li in page.listings:
        assert li.item_id.isdigit() and len(li.item_id) >= 9
        assert li.url == f"https://{host}/itm/{li.item_id}"
        assert li.title and li.title == " ".join(li.title.split())
        assert li.title != "Shop on eBay" and li.item_id not in ("123456", "2500219655424533")
        assert li.price_text is not None
        assert li.price_text != "$20.00" or li.title != "Shop on eBay"
        assert li.source == "ebay" and li.site == corpus_site(name) and li.observed_at == NOW
        assert li.query == "test" and li.page_url and li.listing_type is not None
        assert not re.search(r"Opens in a new window|Fenster oder Tab|新しいウィンドウ", li.title)
        assert not re.match(r"(?i)new listing|sponsored", li.title)
        # Mojibake from decoding UTF-8 as Latin-1 ("Â·", "â€") must not appear.
        for text in (li.title, li.price_text, li.shipping_text or "", li.condition_raw or ""):
            assert "Â" not in text and "â€" not in text


@pytest.mark.parametrize("name", sorted(BLOCKED))
def test_blocked_pages(corpus: Path, name: str) -> None:
    page = _parse(corpus, name)
    assert page.status is PageStatus.BLOCKED
    assert page.listings == [] and page.cards == 0
    assert BLOCKED[name] in page.reason and "\n" not in page.reason
    text = (corpus / name).read_bytes().decode("utf-8")
    assert detect_block(text) == page.reason
    # The spider's path (an already parsed selector) must reach the same verdict.
    sel_page = parse_search_selector(
        Selector(text=text), url="https://www.ebay.com/sch/i.html", site="ebay.com", observed_at=NOW
    )
    assert sel_page.status is PageStatus.BLOCKED


@pytest.mark.parametrize("name", sorted(PAGES))
def test_real_pages_are_not_blocks(corpus: Path, name: str) -> None:
    assert detect_block((corpus / name).read_bytes().decode("utf-8")) is None


def test_selector_path_equals_html_path(corpus: Path) -> None:
    raw = (corpus / LEGO).read_bytes()
    from_bytes = _parse(corpus, LEGO)
    from_sel = parse_search_selector(
        Selector(text=raw.decode("utf-8")),
        url="https://www.ebay.de/sch/i.html?_nkw=test",
        site="ebay.de",
        observed_at=NOW,
        query="test",
    )
    assert from_sel.listings == from_bytes.listings
    assert from_sel.next_url == from_bytes.next_url


# --- GROUND_TRUTH tables --------------------------------------------------------------------------

BIN, BO = ListingType.BUY_IT_NOW, ListingType.BEST_OFFER
# (page, item id, title, price text, shipping text, condition, format)
GT_ROWS = [
    (
        SHIRTS,
        "253241346941",
        "Port & Company PC54LS Men's Long Sleeve T-Shirt Cotton Solid Plain Blank Tee",
        "$10.44 to $15.96",
        "+$32.51 delivery",
        "New (Other)",
        BIN,
    ),
    (
        SHIRTS,
        "266282501377",
        "Men's Sleeveless Hi-Vis T-Shirt Safety Workwear High-Visibility Reflective Top",
        "$12.66 to $15.19",
        "+$46.75 shipping estimate",
        "Brand New",
        BIN,
    ),
    (
        SHIRTS,
        "332609382907",
        "New Overdosed On Kicks T Shirt inspired by N Copper Air Foamposite One",
        "$28.12",
        "+$32.87 delivery",
        "New (Other)",
        BIN,
    ),
    (
        SHIRTS,
        "276885667405",
        "Battle of Chickamauga American Civil War themed ash colored t-shirt",
        "$27.99 to $29.99",
        "+$60.82 delivery",
        "New (Other)",
        BIN,
    ),
    (
        SHIRTS,
        "404914781704",
        "UPF50+ Men's Long Sleeve Sun/UV Skin Protection T-Shirts Outdoor Fishing Hoodies",
        "$11.81 to $23.10",
        "Free International Shipping",
        "Brand New",
        BIN,
    ),
    (
        WARHAMMER,
        "264901451112",
        "Warhammer 40k Push-fit Primaris Space Marine Intercessor sprue 99380101121",
        "£3.95",
        "+ £23.91 postage estimate",
        "Brand new",
        BIN,
    ),
    (
        WARHAMMER,
        "124250904497",
        "Necron Terrain Set - Tomb Crypt Pillars Generator 28mm Indomitus 9th Edition 40k",
        "£5.99 to £14.99",
        "+ £8.99 postage",
        "Brand new",
        BIN,
    ),
    (
        WARHAMMER,
        "324293101484",
        "ADEPTA SORORITAS REPENTIA SQUAD - Sisters of battle Warhammer 40k - INDIVIDUALS",
        "£4.49 to £8.49",
        "+ £5.49 postage",
        "Brand new",
        BIN,
    ),
    (
        WARHAMMER,
        "324414109608",
        "RETRIBUTOR SQUAD - ADEPTA SORORITAS Warhammer 40k - Battle Sisters - SINGLES",
        "£1.99 to £8.49",
        "+ £5.49 postage",
        "Brand new",
        BIN,
    ),
    (
        WARHAMMER,
        "264935200308",
        "- INDOMITUS CAPTAIN - command elite edition primaris space marines warhammer 40k",
        "£12.99",
        "+ £2.65 postage",
        "Brand new",
        BIN,
    ),
    (
        LENOVO,
        "254654754368",
        'HP EliteBook 840 G3 Laptop PC 14" HD Intel Core i5 8GB RAM 256GB SSD Windows 10',
        "$149.26",
        "+$151.38 delivery",
        "Good - Refurbished",
        BIN,
    ),
    (
        LENOVO,
        "256879744174",
        "Lenovo ThinkPad 14” Core i5 FHD Laptop PC Up To 32GB RAM 1TB SSD Windows 11 Pro",
        "$200.58 to $353.58",
        "+$163.19 delivery",
        "Very Good - Refurbished",
        BIN,
    ),
    (
        LENOVO,
        "283987164379",
        'Lenovo ThinkPad P51 15.6" FHD Quad-Core i7 Laptop Windows 10 16GB RAM 512GB SSD',
        "$262.74",
        "+$185.04 delivery",
        "Good - Refurbished",
        BO,
    ),
    (
        LENOVO,
        "335478590590",
        'Lenovo ThinkPad T14 Touch 14" Intel Core i7 4.90 GHz 48GB RAM 4TB SSD Win 11 Pro',
        "$449.99 to $803.00",
        "+$266.52 delivery",
        "Very Good - Refurbished",
        BIN,
    ),
    (
        LENOVO,
        "146493392451",
        "2025 Lenovo IdeaPad Laptop Notebook 15.6 Intel Processor Upto 20GB RAM 1TB SSD",
        "$239.00 to $349.00",
        "+$194.77 delivery",
        "Brand New",
        BIN,
    ),
    (
        COMPLETED,
        "134302287832",
        "CHAMPION x UO NAVY REVERSE WEAVE C LOGO HOODIE SWEATSHIRT SZ S SMALL",
        "$29.99",
        "+$9.95 delivery by Sat, Nov. 1",
        "Brand New",
        BIN,
    ),
    (
        COMPLETED,
        "406307126070",
        "True Vintage 50s Running Man Champion College Sweatshirt",
        "$250.00",
        "+$11.36 delivery",
        "Pre-Owned",
        BIN,
    ),
    (
        COMPLETED,
        "146815499898",
        "Vintage Army Fort Campbell Sweatshirt Adult Large Navy Blue Military USA",
        "$24.99",
        "+$5.58 delivery",
        "Pre-Owned",
        BO,
    ),
    (
        COMPLETED,
        "389136625738",
        "Champion Reverse Weave Heavyweight Hoodie Large",
        "$14.99",
        "+$7.67 delivery",
        "Pre-Owned",
        BO,
    ),
    (
        COMPLETED,
        "406219196143",
        "Vintage Champion YALE University Navy Blue Hoodie Sweatshirt Mens Large",
        "$29.74",
        "+$7.45 delivery",
        "Pre-Owned",
        BO,
    ),
    (
        LEGO,
        "266831246079",
        "Original LEGO® Großeltern Geschenk & Bank Oma Opa Minifiguren Nan Opa",
        "EUR 17,72 bis EUR 18,66",
        "+EUR 10,24 Lieferung",
        "Neu",
        BIN,
    ),
    (
        LEGO,
        "267569622360",
        "Genuino LEGO Grandparents Gift & Bench Abuela Grandpa Minifiguras Nan Abuelo",
        "EUR 19,75 bis EUR 20,80",
        "+EUR 10,28 Lieferung",
        "Neu",
        BIN,
    ),
    (
        LEGO,
        "236299874480",
        "Display Rahmen für LEGO® 71050 Spiderman Across The Spider Verse Minifiguren 27cm",
        "EUR 26,73",
        "+ ca. EUR 12,96 Versand",
        "Neu",
        BIN,
    ),
    (
        LEGO,
        "267167396639",
        "Original LEGO® Fish & Chip Shop Geschenk männlicher Mitarbeiter zum Mitnehmen Minifigur Vatertag",
        "EUR 21,81 bis EUR 22,75",
        "+EUR 10,24 Lieferung",
        "Neu",
        BIN,
    ),
    (
        LEGO,
        "117130681875",
        "LEGO Batman I Original Bruce Wayne dunkelblauer Anzug Bat013 aus Batcave 7783 2006",
        "EUR 68,76",
        "+ ca. EUR 14,23 Versand",
        "Neu",
        BIN,
    ),
    (
        JA_SOLD,
        "365170894671",
        "Pink Floyd - Animals (2018 Remix) Deluxe Limited LP / CD / BR / DVD [New Vinyl L",
        "8,916 円",
        "＋送料3,391 円",
        "真新しい新品",
        BIN,
    ),
    (
        JA_SOLD,
        "187740088954",
        "Pink Floyd – Wish You Were Here Box Set (2CD + 4LP + Blu-ray +Book) New & Sealed",
        "38,092 円",
        "＋見積り送料 15,549 円",
        "真新しい新品",
        BIN,
    ),
    (
        JA_SOLD,
        "406063212728",
        "Pink Floyd - Animals Deluxe Edition 2018 Remix LP + CD + DVD + Blu-Ray + Booklet",
        "9,156 円",
        "＋送料4,590 円",
        "真新しい新品",
        BIN,
    ),
    (
        JA_SOLD,
        "116749449060",
        "PINK FLOYD: Animals (2018 Remaster) Deluxe Limited LP/CD/BR/DVD SEALED NEW",
        "10,939 円",
        "＋送料3,451 円",
        "真新しい新品",
        BIN,
    ),
    (
        JA_SOLD,
        "286535545490",
        "Pink Floyd Animals 2018 Remix Deluxe Box Set 4-Disc LP/CD/Blu-Ray/DVD",
        "8,914 円",
        "＋送料3,391 円",
        "真新しい新品",
        BIN,
    ),
]


@pytest.mark.parametrize(
    ("name", "item_id", "title", "price", "shipping", "condition", "fmt"),
    GT_ROWS,
    ids=[f"{row[0].split('/')[1][:18]}-{row[1]}" for row in GT_ROWS],
)
def test_ground_truth_rows(
    corpus: Path,
    name: str,
    item_id: str,
    title: str,
    price: str,
    shipping: str,
    condition: str,
    fmt: ListingType,
) -> None:
    page = _parse(corpus, name)
    li = _by_id(page)[item_id]
    assert (li.title, li.price_text, li.shipping_text, li.condition_raw, li.listing_type) == (
        title,
        price,
        shipping,
        condition,
        fmt,
    )
    # GT tables list the first five listings of each page, in page order.
    position = [row[1] for row in GT_ROWS if row[0] == name].index(item_id)
    assert page.listings[position].item_id == item_id


@pytest.mark.parametrize(("name", "ranges"), [(SHIRTS, 44), (WARHAMMER, 13), (LENOVO, 9), (LEGO, 23)])
def test_price_range_counts(corpus: Path, name: str, ranges: int) -> None:
    assert sum(_is_range(li.price_text) for li in _parse(corpus, name).listings) == ranges


def test_lego_de_bis_ranges_and_italic(corpus: Path) -> None:
    listings = _parse(corpus, LEGO).listings
    assert sum(" bis " in (li.price_text or "") for li in listings) == 23
    assert sum(li.extra.get("price_italic") == "1" for li in listings) == 22
    first, second = listings[0], listings[1]
    assert first.extra.get("price_italic") == "1" and "price_italic" not in second.extra
    assert first.location == "Großbritannien" and first.extra.get("seller_type") == "Gewerblich"


def test_lenovo_best_offers_and_condition_below_seller_subtitle(corpus: Path) -> None:
    page = _parse(corpus, LENOVO)
    assert sum(li.listing_type is BO for li in page.listings) == 20
    assert all(
        li.buying_options == ("FIXED_PRICE", "BEST_OFFER") for li in page.listings if li.listing_type is BO
    )
    # "List price:"/"Was:" strikethrough prices are never part of the price text.
    assert not any(
        "List price" in (li.price_text or "") or "Was" in (li.price_text or "") for li in page.listings
    )
    first = page.listings[0]
    assert (first.seller, first.seller_feedback, first.seller_feedback_pct) == (
        "discountcomputerdepot",
        132409,
        "98.7",
    )
    assert page.next_url == "https://www.ebay.com/sch/i.html?_nkw=lenovo+laptop&_sacat=0&_from=R40&_pgn=2"


def test_shirts_and_warhammer_have_no_auctions(corpus: Path) -> None:
    for name in (SHIRTS, WARHAMMER):
        assert not any(li.listing_type is ListingType.AUCTION for li in _parse(corpus, name).listings)


def test_completed_page_sold_ended_and_best_offer_accepted(corpus: Path) -> None:
    page = _parse(corpus, COMPLETED)
    listings = _by_id(page)
    assert sum(li.sold for li in page.listings) == 56
    assert sum(li.ended and not li.sold for li in page.listings) == 4
    assert all(li.ended for li in page.listings)
    sold = listings["134302287832"]
    assert sold.sold and sold.sold_at_text == "Sold Oct 27, 2025"
    unsold = listings["406307126070"]
    assert unsold.ended and not unsold.sold and unsold.sold_at_text == "Ended Oct 27, 2025"
    accepted = [li for li in page.listings if li.best_offer_accepted]
    assert len(accepted) == 4
    card = listings["297576927757"]
    assert card.best_offer_accepted and card.price_text == "$34.99" and card.sold
    assert card.extra.get("price_strikethrough") == "1" and card.listing_type is BO


def test_japanese_sold_page(corpus: Path) -> None:
    page = _parse(corpus, JA_SOLD)
    assert all(
        li.sold and li.ended and (li.sold_at_text or "").startswith("販売済み") for li in page.listings
    )
    assert page.listings[0].sold_at_text == "販売済み Jan 9, 2026"
    assert sum(li.best_offer_accepted for li in page.listings) == 6
    auctions = [li for li in page.listings if li.listing_type is ListingType.AUCTION]
    assert len(auctions) == 7 and all(li.bids is not None for li in auctions)
    assert 28 in {li.bids for li in auctions}
    assert _by_id(page)["297733225334"].bids == 28
    assert page.next_url is None


def test_pokemon_auctions_with_buy_it_now(corpus: Path) -> None:
    page = _parse(corpus, POKEMON)
    assert all(li.listing_type is ListingType.AUCTION and li.bids is not None for li in page.listings)
    assert min(li.bids or 0 for li in page.listings) == 0 and max(li.bids or 0 for li in page.listings) == 17
    with_bin = [li for li in page.listings if li.bin_price_text is not None]
    assert len(with_bin) == 15
    for li in with_bin:
        assert li.buying_options == ("AUCTION", "FIXED_PRICE")
        assert li.price_text and li.price_text != li.bin_price_text and li.price_text.startswith("$")
    first = _by_id(page)["377342825628"]
    assert (first.price_text, first.bin_price_text) == ("$10.00", "$25.00")
    assert all("time_left" in li.extra for li in page.listings)
    assert sum(li.extra["time_left"].startswith("Ended") for li in page.listings) == 6


@pytest.mark.parametrize(("name", "results"), [(POKEMON, 60), (NIKE, 60)])
def test_cards_outside_the_result_list_are_ignored(corpus: Path, name: str, results: int) -> None:
    sel = Selector(text=(corpus / name).read_bytes().decode("utf-8"))
    result_ids = set(sel.css("ul.srp-results > li.s-card").xpath("@data-listingid").getall())
    other_ids = {i for i in sel.css(".s-card").xpath("@data-listingid").getall()} - result_ids
    assert len(sel.css(".s-card")) > results and other_ids
    parsed = {li.item_id for li in _parse(corpus, name).listings}
    assert parsed == result_ids and not parsed & other_ids


def test_bluray_expanded_results_are_flagged(corpus: Path) -> None:
    page = _parse(corpus, BLURAY)
    assert page.status is PageStatus.OK and page.results_text == "0 results for blu ray"
    assert page.rewritten == 60 and all(li.extra.get("rewritten") == "1" for li in page.listings)
    assert all(li.location for li in page.listings)


# --- hand-written snippets ------------------------------------------------------------------------


def _card(item_id: str, title: str, rows: str, *, subtitle: str = "Brand New", caption: str = "") -> str:
    cap = f'<div class="s-card__caption"><span class="su-styled-text positive default">{caption}</span></div>'
    return (
        f'<li class="s-card s-card--horizontal" data-listingid="{item_id}">'
        '<div class="su-card-container__content"><div class="su-card-container__header">'
        f'{cap if caption else ""}<a class="s-card__link" href="https://www.ebay.com/itm/{item_id}?hash=x">'
        '<div role="heading" class="s-card__title">'
        f'<span class="su-styled-text primary default">{title}</span>'
        f'<span class="clipped">Opens in a new window or tab</span></div></a>'
        f'<div class="s-card__subtitle-row"><div class="s-card__subtitle">'
        f'<span class="su-styled-text secondary default">{subtitle}</span></div></div></div>'
        '<div class="su-card-container__attributes">'
        f'<div class="su-card-container__attributes__primary">{rows}'
        f"</div></div></div></li>"
    )


def _row(*spans: str) -> str:
    return '<div class="s-card__attribute-row">' + "".join(spans) + "</div>"


def _price(text: str, extra_cls: str = "bold") -> str:
    return f'<span class="su-styled-text primary {extra_cls} large-1 s-card__price">{text}</span>'


def _span(text: str) -> str:
    return f'<span class="su-styled-text secondary large">{text}</span>'


def _results_page(items: str, *, heading: str = "1,234 results for rtx 4090", pagination: str = "") -> str:
    return (
        "<html><head><title>Rtx 4090 for sale | eBay</title></head><body><div class='srp-main'>"
        f'<h1 class="srp-controls__count-heading">{heading}</h1>'
        f'<div class="srp-river-results clearfix"><ul class="srp-results srp-list clearfix">{items}</ul>'
        f"{pagination}</div></div></body></html>"
    )


def _page(html: str, *, sold_view: bool = False) -> SearchPage:
    return parse_search_page(
        html,
        url="https://www.ebay.com/sch/i.html?_nkw=rtx+4090&_pgn=2",
        site="ebay.com",
        observed_at=NOW,
        query="rtx 4090",
        sold_view=sold_view,
    )


GOOD_ROWS = _row(_price("$1,899.99")) + _row(_span("Buy It Now")) + _row(_span("+$25.00 delivery"))


def test_snippet_ok_card_fields() -> None:
    rows = (
        _row(_price("$1,500.00"))
        + _row(
            _span("3 bids"),
            '<span class="s-card__time"><span class="clipped">Time left</span>'
            '<span class="s-card__time-left">2d 4h left</span></span>',
        )
        + _row(_price("$2,100.00"))
        + _row(_span("Buy It Now"))
        + _row(_span("Free delivery"))
        + _row(_span("from China"))
        + _row(
            _span("gpu_seller "), '<span class="su-styled-text primary large">99.5% positive (1.2K)</span>'
        )
    )
    items = _card("226771798286", "NVIDIA GeForce RTX 4090 FE", rows, subtitle="Pre-Owned")
    page = _page(_results_page(items))
    assert page.status is PageStatus.OK and page.cards == 1
    li = page.listings[0]
    assert (li.item_id, li.title, li.url) == (
        "226771798286",
        "NVIDIA GeForce RTX 4090 FE",
        "https://www.ebay.com/itm/226771798286",
    )
    assert (li.price_text, li.bin_price_text, li.bids) == ("$1,500.00", "$2,100.00", 3)
    assert li.listing_type is ListingType.AUCTION and li.buying_options == ("AUCTION", "FIXED_PRICE")
    assert (li.shipping_text, li.location, li.condition_raw) == ("Free delivery", "China", "Pre-Owned")
    assert (li.seller, li.seller_feedback, li.seller_feedback_pct) == ("gpu_seller", 1200, "99.5")
    assert li.extra["time_left"] == "2d 4h left"


def test_snippet_changed_card_markup_is_layout_change() -> None:
    # Cards are still li.s-card, but id and title moved to markup we do not know.
    changed = (
        '<li class="s-card"><div class="x-new-title">RTX 4090</div>'
        '<a href="https://www.ebay.com/p/123">x</a><span class="x-price">$1.00</span></li>'
    )
    page = _page(_results_page(changed * 3))
    assert page.status is PageStatus.LAYOUT_CHANGE
    assert page.cards == 3 and page.listings == [] and page.dropped == {"no_item_id": 3}
    assert "3 result cards" in page.reason


def test_snippet_renamed_card_class_is_layout_change() -> None:
    page = _page(_results_page('<li class="s-tile" data-listingid="226771798286">RTX</li>' * 2))
    assert page.status is PageStatus.LAYOUT_CHANGE and page.cards == 0
    assert "li.s-card" in page.reason


def test_snippet_missing_result_list_is_layout_change() -> None:
    html = _results_page("").replace(
        '<ul class="srp-results srp-list clearfix"></ul>', '<div class="srp-grid"></div>'
    )
    page = _page(html)
    assert page.status is PageStatus.LAYOUT_CHANGE and "ul.srp-results" in page.reason


def test_snippet_prices_gone_is_layout_change() -> None:
    cards = "".join(_card(f"22677179828{i}", f"RTX 4090 #{i}", _row(_span("Buy It Now"))) for i in range(4))
    page = _page(_results_page(cards))
    assert page.status is PageStatus.LAYOUT_CHANGE and len(page.listings) == 4
    assert all(li.price_text is None for li in page.listings) and "price" in page.reason


@pytest.mark.parametrize(
    ("heading", "notice"),
    [
        ("0 results for xyzzy gpu", "No exact matches found"),
        ("0 Ergebnisse für xyzzy gpu", "Keine Artikel gefunden"),
    ],
)
def test_snippet_genuine_zero_results_is_empty(heading: str, notice: str) -> None:
    html = (
        "<html><head><title>xyzzy | eBay</title></head><body><div class='srp-main'>"
        f'<h1 class="srp-controls__count-heading"><span class="BOLD">0</span> {heading[2:]}</h1>'
        f'<div class="srp-save-null-search"><h3 class="srp-save-null-search__heading">{notice}</h3></div>'
        "</div></body></html>"
    )
    page = _page(html)
    assert page.status is PageStatus.EMPTY and page.listings == [] and page.cards == 0
    assert page.reason


def test_snippet_zero_results_with_only_answers_in_list_is_empty() -> None:
    answers = '<li class="srp-river-answer srp-river-answer--SAVE_CARD">Save this search</li>'
    page = _page(_results_page(answers, heading="0 results for xyzzy"))
    assert page.status is PageStatus.EMPTY


def test_snippet_pagination_next_present_and_absent() -> None:
    nav = (
        '<nav class="pagination"><a class="pagination__previous" href="/sch/i.html?_nkw=rtx+4090&_pgn=1"></a>'
        '<a class="pagination__next icon-link" href="/sch/i.html?_nkw=rtx+4090&amp;_pgn=3"></a></nav>'
    )
    page = _page(_results_page(_card("226771798286", "RTX 4090", GOOD_ROWS), pagination=nav))
    assert page.next_url == "https://www.ebay.com/sch/i.html?_nkw=rtx+4090&_pgn=3"
    last = (
        '<nav class="pagination"><button class="pagination__next icon-btn" aria-disabled="true" '
        'type="next"></button></nav>'
    )
    assert (
        _page(_results_page(_card("226771798286", "RTX 4090", GOOD_ROWS), pagination=last)).next_url is None
    )
    disabled = (
        '<nav class="pagination"><a class="pagination__next" aria-disabled="true" href="/x?_pgn=3"></a></nav>'
    )
    assert (
        _page(_results_page(_card("226771798286", "RTX 4090", GOOD_ROWS), pagination=disabled)).next_url
        is None
    )
    assert _page(_results_page(_card("226771798286", "RTX 4090", GOOD_ROWS))).next_url is None


def test_snippet_duplicates_and_cards_without_title_are_counted() -> None:
    cards = (
        _card("226771798286", "RTX 4090", GOOD_ROWS)
        + _card("226771798286", "RTX 4090", GOOD_ROWS)
        + _card("226771798287", "", GOOD_ROWS)
    )
    page = _page(_results_page(cards))
    assert page.status is PageStatus.OK and page.cards == 3 and len(page.listings) == 1
    assert page.dropped == {"duplicate_id": 1, "no_title": 1}


def test_snippet_localized_title_noise_is_removed() -> None:
    cards = (
        _card("226771798281", "New ListingRTX 4090 Founders", GOOD_ROWS)
        + _card(
            "226771798282", "Carte RTX 4090S'ouvre dans une nouvelle fenêtre ou un nouvel onglet", GOOD_ROWS
        )
        + _card("226771798283", "Scheda RTX 4090 Si apre in una nuova finestra o scheda", GOOD_ROWS)
        + _card("226771798284", "Tarjeta RTX 4090 Se abre en una nueva ventana o pestaña", GOOD_ROWS)
        + _card("226771798285", "Neues Angebot RTX 4090 Wird in neuem Fenster oder Tab geöffnet", GOOD_ROWS)
    )
    titles = [li.title for li in _page(_results_page(cards)).listings]
    assert titles == [
        "RTX 4090 Founders",
        "Carte RTX 4090",
        "Scheda RTX 4090",
        "Tarjeta RTX 4090",
        "RTX 4090",
    ]


def test_snippet_rewrite_start_inside_list_flags_later_cards() -> None:
    cards = (
        _card("226771798281", "RTX 4090 a", GOOD_ROWS)
        + '<li class="srp-river-answer srp-river-answer--REWRITE_START">Results matching fewer words</li>'
        + _card("226771798282", "RTX 4090 b", GOOD_ROWS)
    )
    page = _page(_results_page(cards))
    assert [li.extra.get("rewritten") for li in page.listings] == [None, "1"]
    assert page.rewritten == 1


def test_snippet_sold_s_card_caption_and_accepted_offer() -> None:
    rows = _row(_price("$900.00", "strikethrough")) + _row(_span("Best offer accepted"))
    cards = _card("226771798281", "RTX 3090", rows, caption="Sold  Oct 27, 2025") + _card(
        "226771798282",
        "RTX 3080",
        _row(_price("$500.00", "bold")) + _row(_span("or Best Offer")),
        caption="Ended  Oct 26, 2025",
    )
    sold, ended = _page(_results_page(cards), sold_view=True).listings
    assert sold.sold and sold.ended and sold.best_offer_accepted and sold.sold_at_text == "Sold Oct 27, 2025"
    assert sold.price_text == "$900.00" and sold.listing_type is BO
    assert ended.ended and not ended.sold and not ended.best_offer_accepted
    assert ended.buying_options == ("FIXED_PRICE", "BEST_OFFER")


def test_snippet_old_s_item_sold_auction() -> None:
    item = (
        '<li class="s-item"><div class="s-item__info">'
        '<div class="s-item__title--tagblock"><span class="POSITIVE">Sold  Oct 3, 2020</span></div>'
        '<a class="s-item__link" href="https://www.ebay.com/itm/NVIDIA-Tesla-V100/283987164379?hash=x">'
        '<h3 class="s-item__title"><span class="LIGHT_HIGHLIGHT">New listing</span>'
        "NVIDIA Tesla V100 16GB</h3></a>"
        '<div class="s-item__subtitle"><span class="SECONDARY_INFO">Pre-Owned</span></div>'
        '<div class="s-item__details">'
        '<div class="s-item__detail s-item__detail--primary"><span class="s-item__price">'
        '<span class="POSITIVE STRIKETHROUGH">$1,200.00</span></span></div>'
        '<div class="s-item__detail s-item__detail--primary"><span class="s-item__bids s-item__bidCount">'
        "5 bids</span></div>"
        '<div class="s-item__detail s-item__detail--primary">'
        '<span class="s-item__shipping s-item__logisticsCost">'
        "+$30.00 shipping</span></div>"
        '<div class="s-item__detail s-item__detail--secondary">'
        '<span class="s-item__location s-item__itemLocation">'
        "from Germany</span></div>"
        '<div class="s-item__detail">'
        '<span class="s-item__seller-info-text">gpu_depot (12,345) 99.8%</span></div>'
        "</div></div></li>"
    )
    li = _page(_results_page(item), sold_view=True).listings[0]
    assert (li.item_id, li.title, li.price_text) == ("283987164379", "NVIDIA Tesla V100 16GB", "$1,200.00")
    assert li.sold and li.sold_at_text == "Sold Oct 3, 2020" and li.best_offer_accepted
    assert (li.bids, li.listing_type, li.shipping_text, li.location) == (
        5,
        ListingType.AUCTION,
        "+$30.00 shipping",
        "Germany",
    )
    assert (li.seller, li.seller_feedback, li.seller_feedback_pct) == ("gpu_depot", 12345, "99.8")


def test_snippet_bytes_are_decoded_as_utf8() -> None:
    html = _results_page(_card("226771798286", "Grafikkarte · RTX 4090", GOOD_ROWS, subtitle="Neu · "))
    li = _page(html.encode("utf-8")).listings[0]  # type: ignore[arg-type]
    assert li.title == "Grafikkarte · RTX 4090" and li.condition_raw == "Neu"


# --- block detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "expect"),
    [
        (
            "<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>"
            "You don't have permission to access this server."
            "<p>Reference&#32;&#35;18&#46;5d3c1002&#46;1700000000&#46;1a2b3c4d</p>"
            "https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18</body></html>",
            403,
            "Access Denied",
        ),
        (
            '<html><body><form action="https://www.ebay.com/splashui/captcha?ap=1"></form></body></html>',
            200,
            "captcha",
        ),
        (
            "<html><title>Security check</title><body>Please verify yourself to continue</body></html>",
            None,
            "verify yourself",
        ),
        ("<html><title>Error</title><body>Too many requests, please solve the captcha</body></html>", 429, "429"),
        ("<html><title>Forbidden</title><body>complete the captcha</body></html>", 403, "challenge"),
    ],
)
def test_detect_block_generic(body: str, status: int | None, expect: str) -> None:
    reason = detect_block(body, status)
    assert reason is not None and expect in reason and "\n" not in reason


def test_detect_block_ignores_ordinary_pages() -> None:
    assert detect_block(_results_page(_card("226771798286", "RTX 4090", GOOD_ROWS))) is None
    assert detect_block("") is None
    # Plain rate limiting is left to the retry middleware (Retry-After), not called a block.
    assert detect_block("<html><title>Error</title><body>slow down</body></html>", 429) is None


# --- text helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expect"),
    [
        ("discountcomputerdepot (132,409) 98.7%", ("discountcomputerdepot", 132409, "98.7")),
        ("poke_provider 99.2% positive (308)", ("poke_provider", 308, "99.2")),
        ("vintage.threads 99.5% positive (1.2K) Top Rated Plus", ("vintage.threads", 1200, "99.5")),
        ("ach011blau 100% ポジティブ (61.2K)", ("ach011blau", 61200, "100")),
        ("haendler_de 99,5 % positiv (1,2K)", ("haendler_de", 1200, "99.5")),
        ("+$5.40 delivery", None),
        ("Located in United States", None),
    ],
)
def test_parse_seller(row: str, expect: tuple[str, int, str] | None) -> None:
    assert tx.parse_seller(row) == expect


@pytest.mark.parametrize(
    ("row", "bids"),
    [
        ("15 bids", 15),
        ("1 bid", 1),
        ("28件の入札", 28),
        ("3 Gebote", 3),
        ("1,024 bids", 1024),
        ("Buy It Now", None),
        ("10+ sold", None),
    ],
)
def test_parse_bids(row: str, bids: int | None) -> None:
    assert tx.parse_bids(row) == bids


def test_pick_condition_prefers_known_label_over_seller_text() -> None:
    rows = [["Genuine Windows 11 OS! Great Condition! Fast Shipping!"], ["Very Good - Refurbished"]]
    assert tx.pick_condition(rows) == "Very Good - Refurbished"
    assert tx.pick_condition([tx.segments(["Brand New · ", "Size US M 13 + more"])]) == "Brand New"
    assert tx.pick_condition([["✅Free Office 365 ✅8GB RAM"]]) is None
    assert tx.pick_condition([tx.segments(["Stan: Nowy · ", "Marka"])]) == "Stan: Nowy"
