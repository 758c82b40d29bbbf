"""Property-based tests: prices in every supported locale, the classifier, unit prices, USD conversion.

They extend ``test_prices.py`` (which round-trips en/de/IDR on a few sites and fuzzes a small
alphabet) to every locale eBay writes, ranges, random unicode text, shipping texts, the title
classifier, the unit price of lots and the ECB conversion.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from gpuprices.core.items import RawListing
from gpuprices.core.money import parse_price, parse_shipping
from gpuprices.exceptions import PriceParseError
from gpuprices.pipeline.classify import ExcludedReason, classify, load_catalog
from gpuprices.pipeline.currency import UsdConverter
from gpuprices.pipeline.enrich import Enricher, unit_price_of
from gpuprices.pipeline.normalize import DroppedListing, Normalizer

D = Decimal
CENT = D("0.01")
HALF_CENT = D("0.005")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CATALOG = load_catalog()
CONVERTER = UsdConverter()  # one ECB table for the module
NORMALIZER = Normalizer(converter=CONVERTER)

# --- how each site writes an amount -------------------------------------------------------------

# Spaces eBay puts between digit groups and before a trailing code: plain, no-break, narrow no-break.
_SPACES = (" ", "\u00a0", "\u202f")


def _en(amount: Decimal | int) -> str:
    """1,234.56 (or 1,234 for a whole amount)."""
    return f"{amount:,.2f}" if isinstance(amount, Decimal) else f"{amount:,}"


def _de(amount: Decimal | int) -> str:
    """1.234,56"""
    return _en(amount).translate(str.maketrans(",.", ".,"))


def _fr(amount: Decimal | int, space: str) -> str:
    """1 234,56 with a (no-break) space between groups."""
    return _en(amount).replace(",", "_").replace(".", ",").replace("_", space)


def _ch(amount: Decimal | int) -> str:
    """1'234.50"""
    return _en(amount).replace(",", "'")


# name → (site, ISO currency, template with {} for the number, number formatter, range word)
LOCALES: dict[str, tuple[str, str, str, str, str]] = {
    "en-US": ("ebay.com", "USD", "${}", "en", "to"),
    "en-GB": ("ebay.co.uk", "GBP", "£{}", "en", "to"),
    "de": ("ebay.de", "EUR", "EUR {}", "de", "bis"),
    "fr": ("ebay.fr", "EUR", "{}{sp}EUR", "fr", "à"),
    "it": ("ebay.it", "EUR", "EUR {}", "de", "a"),
    "es": ("ebay.es", "EUR", "{} EUR", "de", "a"),
    "idr": ("ebay.com", "IDR", "IDR{}", "en", "to"),
    "en-AU": ("ebay.com.au", "AUD", "AU ${}", "en", "to"),
    "en-CA": ("ebay.ca", "CAD", "C ${}", "en", "to"),
    "en-SG": ("ebay.com.sg", "SGD", "S${}", "en", "to"),
    "de-CH": ("ebay.ch", "CHF", "CHF {}", "ch", "bis"),
    "us-on-de": ("ebay.de", "USD", "US ${}", "en", "bis"),  # "US $3,971.45" as ebay.de shows converted prices
}
# Zero-decimal display: whole amounts, digits grouped with commas.
ZERO_DECIMAL: dict[str, tuple[str, str, str]] = {
    "ja on ebay.co.jp": ("ebay.co.jp", "JPY", "{} 円"),
    "ja UI on ebay.com": ("ebay.com", "JPY", "{} 円"),
    "yen sign on ebay.co.jp": ("ebay.co.jp", "JPY", "¥{}"),
    "idr whole": ("ebay.com", "IDR", "IDR{}"),
}


def _number(style: str, amount: Decimal | int, space: str) -> str:
    if style == "de":
        return _de(amount)
    if style == "fr":
        return _fr(amount, space)
    if style == "ch":
        return _ch(amount)
    return _en(amount)


def _write(locale: str, amount: Decimal | int, space: str = "\u00a0") -> str:
    _site, _ccy, template, style, _word = LOCALES[locale]
    return template.replace("{sp}", space).format(_number(style, amount, space))


_CENTS = st.decimals(min_value=D("0.01"), max_value=D("9999999.99"), places=2)  # [0.01, 10^7)
_WHOLE = st.integers(min_value=1, max_value=10**7 - 1)


@THOROUGH
@given(locale=st.sampled_from(sorted(LOCALES)), amount=_CENTS, space=st.sampled_from(_SPACES))
def test_every_locale_round_trips(locale: str, amount: Decimal, space: str) -> None:
    site, currency, *_ = LOCALES[locale]
    text = _write(locale, amount, space)
    note(f"{text!r} on {site}")
    p = parse_price(text, site=site)
    assert (p.amount, p.amount_max, p.currency) == (amount, None, currency)
    assert p.currency_raw and p.currency_raw in text.replace("\u00a0", " ")


# ebay.de shows converted dollar prices in US notation but always with cents ("US $3,971.45"); a whole
# "US $1,000" there is read with the site's decimal comma (1.000 USD), so that form is left out.
_WHOLE_LOCALES = sorted(set(LOCALES) - {"us-on-de"})


@FAST
@given(locale=st.sampled_from(_WHOLE_LOCALES), amount=_WHOLE, space=st.sampled_from(_SPACES))
def test_whole_amounts_round_trip_in_every_locale(locale: str, amount: int, space: str) -> None:
    """Without decimals a lone separator before 3 digits is digit grouping in every locale."""
    site, currency, *_ = LOCALES[locale]
    text = _write(locale, amount, space)
    note(f"{text!r} on {site}")
    p = parse_price(text, site=site)
    assert (p.amount, p.currency) == (D(amount), currency)


@THOROUGH
@given(kind=st.sampled_from(sorted(ZERO_DECIMAL)), amount=_WHOLE)
def test_zero_decimal_display_round_trips(kind: str, amount: int) -> None:
    site, currency, template = ZERO_DECIMAL[kind]
    text = template.format(f"{amount:,}")
    note(f"{text!r} on {site}")
    p = parse_price(text, site=site)
    assert (p.amount, p.amount_max, p.currency) == (D(amount), None, currency)


@THOROUGH
@given(locale=st.sampled_from(sorted(LOCALES)), pair=st.lists(_CENTS, min_size=2, max_size=2),
       space=st.sampled_from(_SPACES))
def test_ranges_parse_to_min_and_max(locale: str, pair: list[Decimal], space: str) -> None:
    site, currency, _template, _style, word = LOCALES[locale]
    low, high = sorted(pair)
    text = f"{_write(locale, low, space)} {word} {_write(locale, high, space)}"
    note(f"{text!r} on {site}")
    p = parse_price(text, site=site)
    assert (p.amount, p.amount_max, p.currency) == (low, high, currency)


@FAST
@given(pair=st.lists(_WHOLE, min_size=2, max_size=2), site=st.sampled_from(["ebay.co.jp", "ebay.com"]),
       sep=st.sampled_from([" ～ ", " ~ ", " 〜 ", "～"]))
def test_yen_ranges_parse_to_min_and_max(pair: list[int], site: str, sep: str) -> None:
    low, high = sorted(pair)
    text = f"{low:,} 円{sep}{high:,} 円"
    note(f"{text!r} on {site}")
    p = parse_price(text, site=site)
    assert (p.amount, p.amount_max, p.currency) == (D(low), D(high), "JPY")


# --- nothing becomes 0 unless it says free ----------------------------------------------------------

_FREE_WORD = re.compile(r"free|kostenlos|gratuit|gratis|無料", re.IGNORECASE)
_PRICE_BITS = st.sampled_from([
    "$", "€", "£", "円", "¥", "￥", "EUR", "US $", "C $", "AU $", "S$", "CHF", "IDR", "kr", "₴", " ", "\u00a0",
    "\u202f", ",", ".", "'", "-", "–", "−", "+", "＋", "0", "00", "0.00", "0,00", "1", "12", "123", "1,234",
    "1.234", "1 234", "1'234", ".5", ",89", "to", "bis", "～", "~", "à", "%", "Free", "free", "gratis", "０",
    "１", "e", "E", "NaN", "Infinity", "²", "٣", "½", "or Best Offer", "Was:", "approx",
])
# All of unicode (surrogates and unassigned code points included), and price-like fragment soups.
_ANY_TEXT = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=())),
    st.lists(st.one_of(_PRICE_BITS, st.text(max_size=3)), max_size=12).map("".join),
)
_ANY_SITE = st.sampled_from([None, "ebay.com", "ebay.de", "ebay.fr", "ebay.co.jp", "ebay.ch", "EBAY_GB",
                             "ebay.com.au", "http://127.0.0.1:8123"])
_ANY_HINT = st.sampled_from([None, "USD", "EUR", "JPY", "CNY", "$", "kr", "SEK", "", "garbage"])


@settings(max_examples=1500, deadline=None)
@given(text=_ANY_TEXT, site=_ANY_SITE, hint=_ANY_HINT)
def test_any_text_is_a_positive_price_or_a_price_parse_error(text: str, site: str | None, hint: str | None) -> None:
    try:
        p = parse_price(text, site=site, currency_hint=hint)
    except PriceParseError as exc:
        assert "\n" not in str(exc)
        return
    assert p.amount.is_finite()
    assert p.amount > 0 or _FREE_WORD.search(text), p
    assert p.amount_max is None or (p.amount_max.is_finite() and p.amount_max >= p.amount)
    assert re.fullmatch(r"[A-Z]{3}", p.currency)


@settings(max_examples=800, deadline=None)
@given(text=_ANY_TEXT, site=_ANY_SITE, hint=_ANY_HINT)
def test_any_shipping_text_is_unknown_or_a_non_negative_cost(text: str, site: str | None, hint: str | None) -> None:
    s = parse_shipping(text, site=site, currency_hint=hint)
    if s is None:
        assert not text.strip()
        return
    assert s.raw == text
    if s.amount is None:
        assert s.currency is None and not s.free
    else:
        assert s.amount.is_finite() and s.amount >= 0
        assert s.free == (s.amount == 0)
        assert not (s.free and s.estimated)


_FREE_SHIPPING = st.sampled_from([
    "Free shipping", "Free Shipping", "FREE shipping", "Free delivery", "Free postage", "Free International Shipping",
    "Free international postage", "Free Standard Shipping", "Kostenloser Versand", "Versand kostenlos",
    "Livraison gratuite", "Envío gratis", "Spedizione gratuita", "送料無料", "国際配送無料",
])
_SHIPPING_TAILS = st.sampled_from([
    "", " · Free returns", " delivery by Sat, Nov. 1", " in 2-4 days", " (3 business days)", " from Germany",
    " to 10 countries", "!", " ✓",
])


@FAST
@given(head=st.sampled_from(["", "+", "＋", " ", "Shipping: "]), free=_FREE_SHIPPING, tail=_SHIPPING_TAILS,
       site=_ANY_SITE)
def test_free_shipping_is_zero(head: str, free: str, tail: str, site: str | None) -> None:
    text = f"{head}{free}{tail}"
    s = parse_shipping(text, site=site)
    assert s is not None
    assert (s.amount, s.free, s.estimated) == (D(0), True, False)


_DIGITS = set("0123456789０１２３４５６７８９")


@THOROUGH
@given(text=st.text(alphabet=st.characters(exclude_categories=()), min_size=1), site=_ANY_SITE)
def test_garbage_shipping_is_unknown_never_zero(text: str, site: str | None) -> None:
    """Text without any digit and without a "free" word has no cost: unknown (None), never 0."""
    assume(not _DIGITS & set(text) and not _FREE_WORD.search(text) and text.strip())
    s = parse_shipping(text, site=site)
    assert s is not None
    assert s.amount is None and s.currency is None and not s.free


@pytest.mark.parametrize(("text", "site"), [
    ("Delivery in 2-4 days", "ebay.com"),
    ("Delivery by Sat, Nov 9", "ebay.com"),
    ("Lieferung bis 12. Nov", "ebay.de"),
])
def test_shipping_row_without_a_cost_is_unknown(text: str, site: str) -> None:
    # The card parser takes any row mentioning delivery/shipping/Lieferung as the shipping row
    # (spiders/parsers/ebay_search_cards.py), so such rows reach parse_shipping.
    s = parse_shipping(text, site=site)
    assert s is not None and s.amount is None


# --- the classifier ----------------------------------------------------------------------------------

_BRANDS = ["NVIDIA", "nvidia", "AMD", "PNY", "Dell", "HPE", "Supermicro", "Tesla", "Instinct", "Radeon", "GeForce",
           "Lenovo", "Gigabyte"]
_MODELS = ["H100", "H200", "H800", "GH200", "B200", "A100", "A800", "A40", "A30", "A10", "L40S", "L40", "L4", "T4",
           "V100", "P100", "MI300X", "MI250X", "MI250", "RTX A5000", "RTX A6000", "RTX 6000 Ada", "RTX 4090",
           "RTX 5090", "H100 NVL", "A100X", "A10G", "A2", "K80", "3090", "Quadro RTX 8000", "Tesla M40"]
_MEMORY = ["80GB", "80 G", "80GB HBM2e", "80 GB HBM3", "80G", "40GB", "94GB", "141GB", "16GB", "32GB", "24 GB",
           "48GB GDDR6", "640GB", "192GB", "0GB", "1.5GB", "999999999999GB", "12 GB", "96GB"]
_FORMS = ["PCIe", "PCI-E", "PCIe 4.0 x16", "SXM", "SXM2", "SXM4", "SXM5", "NVL", "OAM", "HGX", "DGX", "Module",
          "Superchip", "Full Height", "Passive", "8-GPU", "GPU baseboard", "Dual Slot"]
_COUNTS = ["5pcs", "LOT OF 2", "x10", "Lot of 0", "lot of 99999999999999999999", "2x", "8x", "Qty 4", "x0", "0pcs",
           "set of 3", "pair", "(4)", "1000pcs", "x 16", "Lot of 8"]
_ACCESSORIES = ["heatsink", "fan", "bracket", "box only", "empty box", "photo", "picture", "cable", "power cable",
                "server", "workstation", "PC", "laptop", "shroud", "riser", "waterblock", "backplate",
                "NVLink bridge", "for parts", "not working", "as-is", "broken", "manual"]
_NEGATIONS = ["no", "not", "without", "w/o", "does not include", "no box", "no cable", "not for parts",
              "GPU only", "card only", "no heatsink"]
_GLUE = ["GPU", "Graphics Card", "Accelerator", "Video Card", "Data Center", "/", "-", "+", "&", "|", "(", ")",
         "New", "Used", "Refurbished", "Tested", "Working", ",", "w/"]
_FRAGMENT = st.sampled_from(_BRANDS + _MODELS + _MEMORY + _FORMS + _COUNTS + _ACCESSORIES + _NEGATIONS + _GLUE)
_TITLES = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=())),
    st.lists(_FRAGMENT, max_size=10).map(" ".join),
    st.lists(st.one_of(_FRAGMENT, st.text(max_size=4)), max_size=10).map("".join),
    st.builds(lambda *parts: " ".join(p for p in parts if p), st.sampled_from(["", *_BRANDS]),
              st.sampled_from(_MODELS), st.sampled_from(["", *_MEMORY]), st.sampled_from(["", *_FORMS]),
              st.sampled_from(["", *_COUNTS]), st.sampled_from(["", *_NEGATIONS]),
              st.sampled_from(["", *_ACCESSORIES])),
)
_CONDITIONS = st.sampled_from([None, "", "New", "Used", "Pre-Owned", "For parts or not working", "Neu", "中古",
                               "Open box"])


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_TITLES, condition=_CONDITIONS)
def test_classifier_never_raises_and_is_consistent(title: str, condition: str | None) -> None:
    c = classify(title, catalog=CATALOG, condition=condition)
    assert isinstance(c.gpu_count, int) and c.gpu_count >= 0
    assert isinstance(c.classification_note, str) and c.classification_note
    assert c.excluded_reason is None or isinstance(c.excluded_reason, ExcludedReason)
    if c.excluded_reason is not None:
        assert c.sku is None
    if c.sku is not None:
        sku = CATALOG.get(c.sku)
        assert sku is not None, c
        assert (c.memory_gb, c.form_factor, c.model) == (sku.memory_gb, sku.form_factor, sku.model), c
        assert c.excluded_reason is None
    if c.model is not None and c.model.startswith("other:"):
        assert c.sku is None


# --- unit price of a lot -----------------------------------------------------------------------------

_USD = st.decimals(min_value=D("0.01"), max_value=D("99999999.99"), places=2)


@THOROUGH
@given(price=_USD, shipping=st.one_of(st.none(), st.just(D("0.00")), _USD), count=st.integers(1, 16),
       is_range=st.booleans())
def test_unit_price_times_count_is_the_total(price: Decimal, shipping: Decimal | None, count: int,
                                             is_range: bool) -> None:
    unit, note_text = unit_price_of(price_usd=price, shipping_usd=shipping, gpu_count=count, excluded_reason=None,
                                    system=False, best_offer_accepted=False, price_is_range=is_range)
    total = price + (shipping or D(0))
    assert unit is not None and unit == unit.quantize(CENT)
    assert abs(unit * count - total) <= HALF_CENT * count
    assert ("shipping unknown" in note_text) == (shipping is None)


@FAST
@given(price=_USD, shipping=st.one_of(st.none(), _USD), count=st.one_of(st.none(), st.integers(-3, 16)),
       excluded=st.sampled_from([None, "accessory", "box_only"]), system=st.booleans(), accepted=st.booleans())
def test_unit_price_is_none_exactly_when_not_separable(price: Decimal, shipping: Decimal | None, count: int | None,
                                                      excluded: str | None, system: bool, accepted: bool) -> None:
    unit, note_text = unit_price_of(price_usd=price, shipping_usd=shipping, gpu_count=count, excluded_reason=excluded,
                                    system=system, best_offer_accepted=accepted)
    expect_none = bool(excluded) or system or not count or count <= 0 or accepted
    assert (unit is None) == expect_none, note_text
    assert note_text


_LOT_TITLES = ["LOT OF {n} NVIDIA H100 80GB PCIe", "{n}pcs NVIDIA H100 80GB PCIe GPU"]
_OBSERVED = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)


@FAST
@given(locale=st.sampled_from(["en-US", "en-GB", "de", "fr", "en-CA", "en-AU", "de-CH"]), price=_CENTS,
       shipping=st.one_of(st.none(), st.just("free"), _CENTS), count=st.integers(1, 16),
       title=st.sampled_from(_LOT_TITLES))
def test_lot_unit_price_through_the_pipeline(locale: str, price: Decimal, shipping: Decimal | str | None,
                                            count: int, title: str) -> None:
    """Normalize + enrich a lot: gpu_count is the lot size and unit × count is price + shipping in USD."""
    site = LOCALES[locale][0]
    shipping_text = (None if shipping is None else f"+{_write(locale, shipping)} delivery"
                     if isinstance(shipping, Decimal) else "Free shipping")
    raw = RawListing(source="ebay", site=site, item_id="123456789012", title=title.format(n=count),
                     price_text=_write(locale, price), shipping_text=shipping_text, observed_at=_OBSERVED)
    listing = Enricher(catalog=CATALOG).enrich(NORMALIZER.normalize(raw))
    assert listing.sku == "h100-80gb-pcie" and listing.gpu_count == count
    expected_shipping = None if shipping is None else D(0) if shipping == "free" else shipping
    assert listing.shipping == expected_shipping
    total = listing.price_usd + (listing.shipping_usd or D(0))
    assert listing.unit_price_usd is not None
    assert abs(listing.unit_price_usd * count - total) <= HALF_CENT * count


# --- USD conversion ----------------------------------------------------------------------------------

_FIRST_DAY = date(2000, 1, 1)
_CURRENCIES = st.sampled_from(["EUR", "GBP", "JPY", "CAD", "AUD", "CHF"])


def _ecb_rate(currency: str, day: date) -> Decimal:
    """USD per unit straight from the bundled ECB table, crossed via EUR (independent of UsdConverter)."""
    cc = CONVERTER.converter
    usd = D(str(cc.convert(1, "EUR", "USD", date=day)))
    other = D(str(cc.convert(1, "EUR", currency, date=day)))
    with localcontext() as ctx:
        ctx.prec = 40
        return usd / other


@THOROUGH
@given(data=st.data(), currency=_CURRENCIES,
       amount=st.decimals(min_value=D("0.01"), max_value=D("99999999.99"), places=2))
def test_usd_conversion_uses_a_recent_ecb_rate(data: st.DataObject, currency: str, amount: Decimal) -> None:
    day = data.draw(st.dates(min_value=_FIRST_DAY, max_value=CONVERTER.last_date), label="day")
    conv = CONVERTER.convert(amount, currency, day)
    assert conv.rate > 0
    assert day - timedelta(days=14) <= conv.rate_date <= day
    assert conv.method == ("ecb" if conv.rate_date == day else "ecb-nearest-earlier")
    # The rate is the ECB cross rate of the rate date (12 significant digits).
    assert abs(conv.rate / _ecb_rate(currency, conv.rate_date) - 1) < D("1e-11")
    with localcontext() as ctx:
        ctx.prec = 60
        exact = amount * conv.rate
        assert conv.amount_usd == exact.quantize(CENT, rounding=ROUND_HALF_EVEN)
        assert abs(conv.amount_usd - exact) <= HALF_CENT


@FAST
@given(currency=_CURRENCIES, days_after=st.integers(1, 3000), amount=_CENTS)
def test_after_the_bundled_data_the_latest_rate_is_used(currency: str, days_after: int, amount: Decimal) -> None:
    day = CONVERTER.last_date + timedelta(days=days_after)
    conv = CONVERTER.convert(amount, currency, day)
    assert conv.rate > 0 and conv.rate_date <= CONVERTER.last_date
    assert conv.method == "ecb-latest-available"


@FAST
@given(day=st.dates(min_value=_FIRST_DAY, max_value=date(2040, 1, 1)), amount=_CENTS)
def test_usd_is_identity(day: date, amount: Decimal) -> None:
    conv = CONVERTER.convert(amount, "USD", day)
    assert (conv.amount_usd, conv.rate, conv.rate_date, conv.method) == (amount, D(1), day, "identity")


# --- bugs found ---------------------------------------------------------------------------------------


def _raw(price_text: str | None = None, *, site: str = "ebay.com", price_value: str | None = None,
         currency: str | None = None, shipping_text: str | None = None,
         shipping_value: str | None = None) -> RawListing:
    return RawListing(source="ebay-api" if price_value else "ebay", site=site, item_id="123456789012",
                      title="NVIDIA H100 80GB PCIe", price_text=price_text, price_value=price_value,
                      currency_raw=currency, shipping_text=shipping_text, shipping_value=shipping_value,
                      shipping_currency_raw=currency if shipping_value else None, observed_at=_OBSERVED)


@pytest.mark.parametrize("raw", [
    _raw("$1,000,000,000,000,000,000,000,000,000.00"),
    _raw(price_value="1E+30", currency="USD", site="EBAY_US"),
    _raw("$100.00", shipping_text="+$999,999,999,999,999,999,999,999,999.00 delivery"),
    _raw(price_value="100.00", currency="USD", shipping_value="1e30", site="EBAY_US"),
], ids=["price-text", "api-price", "shipping-text", "api-shipping"])
def test_absurd_amounts_are_dropped_not_crashing(raw: RawListing) -> None:
    try:
        listing = NORMALIZER.normalize(raw)
    except DroppedListing:
        return
    assert listing.price_usd is not None and listing.price_usd > 0


@pytest.mark.parametrize("raw", [
    _raw("IDR1"),
    _raw("$0.001"),
    _raw(price_value="1e-30", currency="USD", site="EBAY_US"),
], ids=["idr1", "sub-cent-text", "sub-cent-api"])
def test_a_stored_price_is_never_zero_usd(raw: RawListing) -> None:
    try:
        listing = NORMALIZER.normalize(raw)
    except DroppedListing:
        return
    assert listing.price > 0
    assert listing.price_usd > 0
