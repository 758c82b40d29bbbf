"""Fuzzing the parsers with mutated corpus pages: real search/sold pages and Browse API responses, damaged.

Every mutation is drawn from a seeded ``random.Random``, so each case is reproducible from its id.
The properties: the parsers never raise (the API parser raises nothing but ``ParseError``), the page
status is a ``PageStatus`` that matches what was yielded, every listing has an id and a title, and a
listing is either priced > 0 by the normalizer or dropped with a counted reason, never stored at 0.
"""

from __future__ import annotations

import copy
import functools
import pickle
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from gpuprices.core.items import PageStatus, RawListing
from gpuprices.exceptions import ParseError
from gpuprices.pipeline.normalize import DroppedListing, Normalizer
from gpuprices.spiders.parsers.ebay_api import load_api_payload, parse_api_response
from gpuprices.spiders.parsers.ebay_search import SearchPage, parse_search_page
from tests.conftest import corpus_site

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
NORMALIZER = Normalizer()
DROP_REASONS = {"missing_price", "unparseable_price", "no_usd_rate", "zero_price", "implausible_price",
                "below_one_cent"}

PAGES = (
    "ebay-search/s-item-2021-01-ebay-co-uk-warhammer-army.html",
    "ebay-search/s-item-2025-03-ebay-com-shirts-usd.html",
    "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html",
    "ebay-search/s-card-2025-08-ebay-co-uk-blu-ray-gbp.html",
    "ebay-search/s-card-2026-02-ebay-com-nike-shoes-idr-display.html",
    "ebay-search/s-card-2026-04-ebay-de-lego-nan-eur.html",
    "ebay-search/s-card-2026-07-ebay-com-pokemon-usd.html",
    "ebay-sold/s-card-completed-2025-10-ebay-com-champion-reverse-weave.html",
    "ebay-sold/s-card-sold-2026-01-ebay-com-ja-ui-pink-floyd-cd-jpy.html",
)
API_FILES = (
    "browse-getitem-tesla-t4-265708278354-2023-11.md",
    "browse-search-iphone-limit100-envelope-2023-07.py",
    "browse-search-nvidia-a10-2023-12.json",
    "browse-search-nvidia-a100-pcie-2023-12.json",
    "browse-search-nvidia-h100-pcie-2023-12.json",
    "browse-search-nvidia-l40s-2023-12.json",
    "browse-search-nvidia-rtx-a5000-2023-12.json",
    "browse-search-nvidia-t4-2023-12.json",
    "browse-search-nvidia-t4-aspect-refinements-2023-11.md",
    "browse-search-nvidia-geforce-rtx-5090-2025-11.json",
)

_RESULTS = "//ul[contains(concat(' ', normalize-space(@class), ' '), ' srp-results ')]"
_PRICE_CLASS = re.compile(r"(?:^|\s)s-(?:card|item)__price(?:\s|$)")
_DIGITS_ONLY = re.compile(r"[0-9]+")




@functools.cache
def _page_bytes(root: Path, name: str) -> bytes:
    path = root / name
    if not path.exists():
        pytest.skip(f"{name} not in this corpus")
    return path.read_bytes()


# --- HTML mutations (each takes the page bytes and a seeded rng, returns the mutated page) ---------------

# Junk written into price spans: empty, zero, negative, free, foreign, absurd and malformed prices.
_JUNK = [
    "", " ", "$", "€", "£", "円", "EUR", "US $", "abc", "Free", "FREE", "$0.00", "EUR 0,00", "0", "0,00 €", "-$5.00",
    "$-5.00", "−5,00 €", "$20 to $10", "$12,34.5", "1.2.3", "NaN", "Infinity", "∞", "$1e5", "$ 12 34", "¥", "kr 100",
    "₴100", "100 лв", "See price", "Price on request", "<b>$5</b>", "$\u200b12.50", "＄１２．５０", "12.50",
    "Was: $37.49", "$262.74 or Best Offer", "1 234,56", "C $", "IDR", "999,999,999,999.99", "%", "50% off",
    "\ufffd\ufffd", "$" * 40, "9" * 12, "$" + "1," * 8 + "000.00", "EUR 17,72 bis EUR 18,66", "3,858 円 ～ 13,507 円",
]
_JUNK_ALPHABET = "0123456789.,' $€£¥円-~+%abcEURUSDto～\u00a0\u202f\u200b０１２"


def _junk(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(_JUNK)
    return "".join(rng.choice(_JUNK_ALPHABET) for _ in range(rng.randint(0, 12)))


_UTF8 = lxml.html.HTMLParser(encoding="utf-8")  # saved pages carry no charset: never let lxml guess latin-1


def _tree(html: bytes) -> Any:
    return lxml.html.document_fromstring(html, parser=_UTF8)


def _results_elements(root: Any) -> list[Any]:
    return [el for ul in root.xpath(_RESULTS) for el in ul.iterdescendants() if isinstance(el.tag, str)]


def _serialize(root: Any) -> bytes:
    return bytes(lxml.html.tostring(root, encoding="utf-8", doctype="<!DOCTYPE html>"))


def drop_nodes(html: bytes, rng: random.Random) -> bytes:
    """Remove random elements inside ul.srp-results (cards, titles, links, price spans …)."""
    root = _tree(html)
    elements = _results_elements(root)
    for el in rng.sample(elements, min(len(elements), rng.randint(1, 60))):
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, like a node that was never rendered
    return _serialize(root)


def mangle_attributes(html: bytes, rng: random.Random) -> bytes:
    """Shuffle class lists, remove a random class, or strip all attributes of random elements."""
    root = _tree(html)
    for el in _results_elements(root):
        roll = rng.random()
        classes = (el.get("class") or "").split()
        if roll < 0.3 and len(classes) > 1:
            rng.shuffle(classes)
            el.set("class", "  ".join(classes) if rng.random() < 0.5 else " ".join(classes))
        elif roll < 0.45 and classes:
            classes.remove(rng.choice(classes))
            el.set("class", " ".join(classes))
        elif roll < 0.5:
            el.attrib.clear()
    return _serialize(root)


def truncate(html: bytes, rng: random.Random) -> bytes:
    """Cut the page at a random byte, mostly inside the result cards (UTF-8 sequences may be split)."""
    start = html.find(b"srp-results")
    end = max(html.rfind(b"s-card__price"), html.rfind(b"s-item__price"))
    if 0 < start < end and rng.random() < 0.8:
        return html[: rng.randint(start, end)]
    return html[: rng.randint(0, len(html) - 1)]


def junk_prices(html: bytes, rng: random.Random) -> bytes:
    """Replace or extend the text of random price spans with junk."""
    root = _tree(html)
    prices = [el for el in _results_elements(root) if _PRICE_CLASS.search(el.get("class") or "")]
    for el in prices:
        if rng.random() < 0.6:
            if rng.random() < 0.7:
                for child in list(el):
                    el.remove(child)
                el.text = _junk(rng)
            else:
                el.text = (el.text or "") + _junk(rng)
    return _serialize(root)


def no_prices(html: bytes, rng: random.Random) -> bytes:
    """The price markup moved: every price span in the results is gone."""
    root = _tree(html)
    for el in _results_elements(root):
        if _PRICE_CLASS.search(el.get("class") or "") and el.getparent() is not None:
            el.drop_tree()
    return _serialize(root)


def no_cards(html: bytes, rng: random.Random) -> bytes:
    """The result list is there but holds nothing we know (cards renamed to a random class, or removed)."""
    root = _tree(html)
    for ul in root.xpath(_RESULTS):
        for li in list(ul):
            if not isinstance(li.tag, str) or rng.random() < 0.5:
                ul.remove(li)
            else:
                li.set("class", f"x-{rng.randrange(10**6)}")
    return _serialize(root)


def everything(html: bytes, rng: random.Random) -> bytes:
    """drop, attrs and junk in a random order, then (half the time) a truncation."""
    steps: list[Callable[[bytes, random.Random], bytes]] = [drop_nodes, mangle_attributes, junk_prices]
    rng.shuffle(steps)
    for step in steps:
        html = step(html, rng)
    return truncate(html, rng) if rng.random() < 0.5 else html


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "drop": drop_nodes, "attrs": mangle_attributes, "truncate": truncate, "junk": junk_prices, "all": everything,
    "no_prices": no_prices, "no_cards": no_cards,
}
CASES = [(page, kind) for page in PAGES for kind in MUTATIONS]  # 63 mutated pages


def _check_listing(listing: RawListing) -> None:
    assert listing.item_id and _DIGITS_ONLY.fullmatch(listing.item_id), listing.item_id
    assert listing.title and listing.title.strip()
    try:
        normalized = NORMALIZER.normalize(listing)
    except DroppedListing as exc:
        assert exc.reason in DROP_REASONS or exc.reason.startswith("unknown_currency:")
        if listing.price_text is None and listing.price_value is None:
            assert exc.reason == "missing_price"
        return
    assert normalized.price is not None and normalized.price > 0, (listing.price_text, normalized.price)
    assert normalized.price_usd is not None and normalized.price_usd >= 0
    assert normalized.price_max is None or normalized.price_max >= normalized.price
    assert normalized.shipping is None or normalized.shipping >= 0
    assert (normalized.shipping is None) == (normalized.shipping_usd is None)


def _check_page(page: SearchPage) -> None:
    assert isinstance(page.status, PageStatus)
    assert page.status is not PageStatus.FAILED  # a parser never claims a fetch failure
    assert page.cards >= len(page.listings)
    if page.status in (PageStatus.EMPTY, PageStatus.BLOCKED):
        assert page.listings == [] and page.reason
    if page.status is PageStatus.LAYOUT_CHANGE:
        # 0 listings, or (documented) listings none of which has a price: nothing gets priced.
        assert page.reason
        assert all(listing.price_text is None for listing in page.listings)
    if page.status is PageStatus.OK:
        assert page.listings
    assert len({(li.item_id, li.variation_id) for li in page.listings}) == len(page.listings)


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[f"{p.split('/')[1][:28]}-{k}" for p, k in CASES])
def test_mutated_search_page(corpus: Path, name: str, kind: str) -> None:
    seed = f"{name}:{kind}"
    rng = random.Random(seed)
    html = MUTATIONS[kind](_page_bytes(corpus, name), rng)
    as_text = rng.random() < 0.5  # the parser takes str (Scrapy) and bytes (saved files)
    site = corpus_site(name)
    page = parse_search_page(
        html.decode("utf-8", errors="replace") if as_text else html,
        url=f"https://www.{site}/sch/i.html?_nkw=test", site=site, observed_at=NOW, query="test",
        sold_view=name.startswith("ebay-sold/"),
    )
    _check_page(page)
    for listing in page.listings:
        _check_listing(listing)
    if kind == "no_prices":  # a layout change, and nothing is priced
        assert page.status is PageStatus.LAYOUT_CHANGE and "price" in page.reason
    if kind == "no_cards":  # never "0 listings found", unless the page itself says "0 results" (blu-ray)
        assert page.listings == [] and page.cards == 0
        assert page.status is PageStatus.LAYOUT_CHANGE or (
            page.status is PageStatus.EMPTY and page.reason.startswith("0 results"))


def test_mutations_really_change_the_outcome(corpus: Path) -> None:
    """Guard against a fuzzer that does nothing: the mutated pages differ from the originals in what they yield."""
    changed = 0
    for name in PAGES[:3]:
        original = parse_search_page(_page_bytes(corpus, name), url="https://www.ebay.com/sch/i.html",
                                     site=corpus_site(name), observed_at=NOW)
        for kind in ("drop", "junk", "truncate"):
            mutated = parse_search_page(MUTATIONS[kind](_page_bytes(corpus, name), random.Random(f"{name}:{kind}")),
                                        url="https://www.ebay.com/sch/i.html", site=corpus_site(name), observed_at=NOW)
            before = [(li.item_id, li.price_text) for li in original.listings]
            after = [(li.item_id, li.price_text) for li in mutated.listings]
            changed += before != after
    assert changed >= 7


def test_item_ids_are_ascii_digits() -> None:
    html = """<html><body><div class="srp-river"><ul class="srp-results srp-list">
    <li class="s-card" data-listingid="１２３４５６７８９０"><a href="https://www.ebay.com/itm/１２３４５６７８９０">
      <div class="s-card__title"><span>NVIDIA H100 80GB PCIe</span></div></a>
      <span class="s-card__price">$25,000.00</span></li>
    <li class="s-card"><a href="https://www.ebay.com/itm/٣٣٣٣٣٣٣٣٣٣">
      <div class="s-card__title"><span>NVIDIA A100 80GB PCIe</span></div></a>
      <span class="s-card__price">$9,000.00</span></li>
    </ul></div></body></html>"""
    page = parse_search_page(html, url="https://www.ebay.com/sch/i.html", site="ebay.com", observed_at=NOW)
    assert all(_DIGITS_ONLY.fullmatch(listing.item_id) for listing in page.listings), page.listings


@pytest.mark.parametrize("text", ["$0.00 Free", "$0.00 to Free", "FREE EUR 0,00"])
def test_a_free_item_price_is_dropped_not_stored_at_zero(text: str) -> None:
    # Found by junk_prices: a price span reading "$0.00 0 FREE" became a listing priced 0.
    listing = RawListing(source="ebay", site="ebay.com", item_id="123456789012", title="NVIDIA H100 80GB PCIe",
                         price_text=text, observed_at=NOW)
    with pytest.raises(DroppedListing):
        NORMALIZER.normalize(listing)


# --- Browse API responses ------------------------------------------------------------------------------

_BRIEF_VALUES: tuple[Any, ...] = (None, "", "abc", -1)
_MORE_VALUES: tuple[Any, ...] = (0, "0", "-0.00", "NaN", "Infinity", "1e-3", [], {}, True, "   ", "１２３", "v1|x|y",
                                 "http://[::1", "12.50", {"value": "abc"}, [None])


@functools.cache
def _payload(root: Path, name: str) -> Any:
    path = root / "ebay-api" / name
    if not path.exists():
        pytest.skip(f"{name} not in this corpus")
    return load_api_payload(path.read_text(encoding="utf-8"))


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in the document: dict keys and list indexes."""
    stack = [node]
    while stack:
        current = stack.pop()
        pairs = current.items() if isinstance(current, dict) else enumerate(current)
        for key, value in pairs:
            out.append((current, key))
            if isinstance(value, dict | list):
                stack.append(value)
    return out


def _containers(node: Any) -> list[int]:
    """ids of ``node`` and of every dict and list inside it."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict | list):
            found.append(id(current))
            stack.extend(current.values() if isinstance(current, dict) else current)
    return found


def _mutate_api(payload: Any, rng: random.Random, values: tuple[Any, ...]) -> Any:
    """A copy of ``payload`` with 1-6 slots (drawn uniformly from the document as it stands at each
    step) deleted or replaced by one of ``values``.

    The slots are listed once; a mutation marks the containers it removed as gone and lists the slots
    of what it inserted, and a drawn slot that no longer exists is drawn again (uniform over the rest).
    """
    doc = pickle.loads(pickle.dumps(payload))  # a deep copy of plain JSON data, ~10x faster than deepcopy
    slots = _slots(doc, []) if isinstance(doc, dict | list) else []
    gone: set[int] = set()
    removed: list[Any] = []  # kept alive, so that no new container reuses the id of a gone one

    def exists(slot: tuple[Any, Any]) -> bool:
        container, key = slot
        return id(container) not in gone and (not isinstance(container, dict) or key in container)

    for _ in range(rng.randint(1, 6)):
        drawn = next((slot for slot in (rng.choice(slots) for _ in range(50) if slots) if exists(slot)), None)
        if drawn is None:  # mostly gone: draw from what is left
            slots = [slot for slot in slots if exists(slot)]
            if not slots:
                break
            drawn = rng.choice(slots)
        container, key = drawn
        old = container[key]
        if isinstance(old, dict | list):
            gone.update(_containers(old))
            removed.append(old)
        if isinstance(container, dict) and rng.random() < 0.4:
            del container[key]
        else:
            container[key] = new = copy.deepcopy(rng.choice(values))
            if isinstance(new, dict | list):
                _slots(new, slots)
    return doc


def _check_api(doc: Any) -> None:
    try:
        page = parse_api_response(doc, site="EBAY_US", observed_at=NOW, page_url="https://api.ebay.com/x")
    except ParseError:
        return
    assert isinstance(page.status, PageStatus) and page.status is not PageStatus.BLOCKED
    assert page.cards >= len(page.listings)
    assert (page.status is PageStatus.OK) == bool(page.listings)
    for listing in page.listings:
        assert listing.item_id and listing.title
        try:
            normalized = NORMALIZER.normalize(listing)
        except DroppedListing as exc:
            assert exc.reason in DROP_REASONS or exc.reason.startswith("unknown_currency:")
            continue
        assert normalized.price > 0
        # No rate for the currency: kept exact without a USD value, and marked so.
        assert (normalized.price_usd is None) == (normalized.usd_rate_method == "none")
        assert normalized.price_usd is None or normalized.price_usd >= 0
        assert normalized.shipping is None or normalized.shipping >= 0


@pytest.mark.parametrize("name", API_FILES)
def test_mutated_api_response(corpus: Path, name: str) -> None:
    payload = _payload(corpus, name)
    rng = random.Random(name)
    for _ in range(20):
        _check_api(_mutate_api(payload, rng, _BRIEF_VALUES + _MORE_VALUES))


@pytest.mark.parametrize("name", API_FILES[2:5])
def test_mutated_api_response_any_field(corpus: Path, name: str) -> None:
    payload = _payload(corpus, name)
    rng = random.Random(f"any:{name}")
    for _ in range(60):
        _check_api(_mutate_api(payload, rng, _BRIEF_VALUES))
    # The same with a broken listing URL, which the brief's values cannot produce.
    broken = copy.deepcopy(payload)
    _check_api(_set_everywhere(broken, "itemWebUrl", "http://[::1"))


def _set_everywhere(doc: Any, key: str, value: Any) -> Any:
    for container, k in _slots(doc, []):
        if isinstance(container, dict) and k == key:
            container[k] = value
    return doc


def test_scalar_for_a_list_field_is_a_parse_error_or_ignored() -> None:
    item = {"itemId": "v1|123456789012|0", "title": "NVIDIA H100 80GB PCIe", "buyingOptions": -1,
            "price": {"value": "100.00", "currency": "USD"}}
    _check_api([item])


def test_broken_item_url_is_not_fatal() -> None:
    item = {"itemId": "v1|123456789012|0", "title": "NVIDIA H100 80GB PCIe", "itemWebUrl": "http://[::1",
            "price": {"value": "100.00", "currency": "USD"}}
    _check_api([item])


def test_api_mutations_keep_some_listings_priced(corpus: Path) -> None:
    """The API fuzzer still reaches the normalizer: most mutated responses keep priced listings."""
    payload = _payload(corpus, "browse-search-nvidia-h100-pcie-2023-12.json")
    rng = random.Random("coverage")
    priced = 0
    for _ in range(20):
        doc = _mutate_api(payload, rng, _BRIEF_VALUES)
        try:
            page = parse_api_response(doc, site="EBAY_US", observed_at=NOW)
        except ParseError:
            continue
        priced += sum(1 for li in page.listings if li.price_value and Decimal(li.price_value) > 0)
    assert priced > 50
