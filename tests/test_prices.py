"""Tests for pipeline.prices: displayed prices, ranges, locale traps, shipping, site currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuprices.core.money import ParsedShipping, currency_for_site, parse_price, parse_shipping
from gpuprices.exceptions import PriceParseError

D = Decimal


@pytest.mark.parametrize(
    ("text", "site", "hint", "amount", "amount_max", "currency", "raw"),
    [
        ("$10.44 to $15.96", "ebay.com", None, "10.44", "15.96", "USD", "$"),
        ("£5.99 to £14.99", "ebay.co.uk", None, "5.99", "14.99", "GBP", "£"),
        ("EUR 17,72 bis EUR 18,66", "www.ebay.de", None, "17.72", "18.66", "EUR", "EUR"),
        ("EUR 17,72 bis EUR 18,66", None, None, "17.72", "18.66", "EUR", "EUR"),
        ("EUR 1.234,56", None, None, "1234.56", None, "EUR", "EUR"),
        ("EUR 3,500.00", "ebay.com", None, "3500.00", None, "EUR", "EUR"),
        ("8,916 円", "ebay.com", None, "8916", None, "JPY", "円"),
        ("3,858 円 ～ 13,507 円", "ebay.com", None, "3858", "13507", "JPY", "円"),
        ("IDR1,614,898.07", "ebay.com", None, "1614898.07", None, "IDR", "IDR"),
        ("S$ 12.50", "ebay.com.sg", None, "12.50", None, "SGD", "S$"),
        ("C $25.00", "ebay.ca", None, "25.00", None, "CAD", "C $"),
        ("AU $99.95", None, None, "99.95", None, "AUD", "AU $"),
        ("US $3,971.45", "ebay.de", None, "3971.45", None, "USD", "US $"),
        ("¥1,234", "ebay.co.jp", None, "1234", None, "JPY", "¥"),
        ("¥1,234", None, "JPY", "1234", None, "JPY", "¥"),
        ("¥1,234", None, "CNY", "1234", None, "CNY", "¥"),
        ("¥1,234", None, "RMB", "1234", None, "CNY", "¥"),
        ("￥1,234", None, "元", "1234", None, "CNY", "¥"),
        ("$20.00", "ebay.com", None, "20.00", None, "USD", "$"),
        ("$20.00", "ebay.ca", None, "20.00", None, "CAD", "$"),
        ("$20.00", "ebay.com.au", None, "20.00", None, "AUD", "$"),
        ("$20.00", None, None, "20.00", None, "USD", "$"),
        ("$20.00", "EBAY_AU", None, "20.00", None, "AUD", "$"),
        ("1 234,56 €", None, None, "1234.56", None, "EUR", "€"),
        ("1\u00a0234,56\u00a0€", None, None, "1234.56", None, "EUR", "€"),
        ("PHP 1,234.00", None, None, "1234.00", None, "PHP", "PHP"),
        ("MX $1,000.00", None, None, "1000.00", None, "MXN", "MX $"),
        ("R$ 1.234,56", None, None, "1234.56", None, "BRL", "R$"),
        ("CHF 1'234.50", None, None, "1234.50", None, "CHF", "CHF"),
        ("1 234,50 zł", None, None, "1234.50", None, "PLN", "zł"),
        ("1 234 kr", None, "SEK", "1234", None, "SEK", "kr"),
        ("₹1,23,456.00", None, None, "123456.00", None, "INR", "₹"),
        ("₩1,250,000", None, None, "1250000", None, "KRW", "₩"),
        ("12 - 15 €", None, None, "12", "15", "EUR", "€"),
        ("10,00 € à 20,00 €", "ebay.fr", None, "10.00", "20.00", "EUR", "€"),
        ("10,00 € a 20,00 €", "ebay.es", None, "10.00", "20.00", "EUR", "€"),
        # Prefixes and trailing words that surround real prices.
        ("Was: $37.49", "ebay.com", None, "37.49", None, "USD", "$"),
        ("List price: $795.00 81% off", "ebay.com", None, "795.00", None, "USD", "$"),
        ("$262.74 or Best Offer", "ebay.com", None, "262.74", None, "USD", "$"),
        ("EUR 164,00 oder Preisvorschlag", "ebay.de", None, "164.00", None, "EUR", "EUR"),
        ("Approximately US $3,971.45", "ebay.com", None, "3971.45", None, "USD", "US $"),
        ("+$32.51", "ebay.com", None, "32.51", None, "USD", "$"),
        # No symbol: the hint, else the site's currency.
        ("1.234", "www.ebay.de", None, "1234", None, "EUR", ""),
        ("12.50", "http://127.0.0.1:8123", "USD", "12.50", None, "USD", ""),
        ("12.50", "ebay.com", "GBP", "12.50", None, "GBP", ""),
    ],
)
def test_parse_price_forms(
    text: str,
    site: str | None,
    hint: str | None,
    amount: str,
    amount_max: str | None,
    currency: str,
    raw: str,
) -> None:
    p = parse_price(text, site=site, currency_hint=hint)
    assert (p.amount, p.amount_max, p.currency, p.currency_raw) == (
        D(amount),
        D(amount_max) if amount_max else None,
        currency,
        raw,
    )
    assert isinstance(p.amount, Decimal)


@pytest.mark.parametrize(
    ("text", "site", "hint", "amount"),
    [
        ("3.350", "ebay.de", None, "3350"),  # German thousands point, not 3.35
        ("EUR 3.350", "EBAY_DE", None, "3350"),
        ("EUR 3.350", None, None, "3350"),  # no site: one separator + 3 digits = grouping
        (",89", "ebay.de", None, "0.89"),  # not 89
        ("$.75", "ebay.com", None, "0.75"),
        ("1,234,567.890", None, "USD", "1234567.890"),  # not 1234567890; digits kept as written
        ("1.234", "ebay.de", None, "1234"),
        ("$1.23", "ebay.com", None, "1.23"),
        ("$1.234", "ebay.com", None, "1.234"),  # decimal point on a point-decimal site
        ("1,234", "ebay.com", None, "1234"),
        ("1,234 円", "ebay.de", None, "1234"),  # JPY has no minor unit: always grouping
        ("0.899", "ebay.de", None, "0.899"),  # cannot be grouping
        ("EUR 1.234.567", None, None, "1234567"),
    ],
)
def test_locale_traps(text: str, site: str | None, hint: str | None, amount: str) -> None:
    assert parse_price(text, site=site, currency_hint=hint).amount == D(amount)


def test_three_decimal_number_keeps_its_digits() -> None:
    assert str(parse_price("1,234,567.890", currency_hint="USD").amount) == "1234567.890"


@pytest.mark.parametrize(
    ("text", "site", "hint"),
    [
        ("", None, None),
        ("Free", "ebay.com", None),  # parse_price needs a number; shipping handles "Free"
        ("Price on request", "ebay.com", None),
        ("$", None, None),
        ("12.50", None, None),  # no symbol, site or hint
        ("12.50", "http://127.0.0.1:8123", None),
        ("100 kr", None, None),  # SEK, NOK, DKK and ISK all write kr
        ("₴100", "ebay.com", None),  # a symbol we do not map is not the site's currency
        ("$0.00", "ebay.com", None),
        ("EUR 0,00", "ebay.de", None),
        ("-$5.00", "ebay.com", None),
        ("$-5.00", "ebay.com", None),
        ("−5,00 €", None, None),
        ("$20 to $10", None, None),
        ("$12,34.5", None, None),
    ],
)
def test_garbage_raises(text: str, site: str | None, hint: str | None) -> None:
    with pytest.raises(PriceParseError) as err:
        parse_price(text, site=site, currency_hint=hint)
    assert "\n" not in str(err.value)


def test_zero_allowed_only_when_text_says_free() -> None:
    assert parse_price("$0.00 Free", site="ebay.com").amount == 0


@pytest.mark.parametrize(
    ("text", "amount", "currency", "free", "estimated"),
    [
        ("Free shipping", "0", "USD", True, False),
        ("Free International Shipping", "0", "USD", True, False),
        ("Free postage", "0", "USD", True, False),
        ("Kostenloser Versand", "0", "USD", True, False),
        ("送料無料", "0", "USD", True, False),
        ("+$32.51 delivery", "32.51", "USD", False, False),
        ("+$46.75 shipping estimate", "46.75", "USD", False, True),
        ("+ £23.91 postage estimate", "23.91", "GBP", False, True),
        ("+EUR 10,24 Lieferung", "10.24", "EUR", False, False),
        ("+ ca. EUR 12,96 Versand", "12.96", "EUR", False, True),
        ("＋送料3,391 円", "3391", "JPY", False, False),
        ("＋見積り送料 15,549 円", "15549", "JPY", False, True),
        ("+$9.95 delivery by Sat, Nov. 1", "9.95", "USD", False, False),
        ("+$9.95 delivery · Free returns", "9.95", "USD", False, False),
        ("EUR 150.00 (approx US $170.21) DHL", "150.00", "EUR", False, False),
        ("+$0.00 shipping", "0.00", "USD", True, False),
    ],
)
def test_parse_shipping(text: str, amount: str, currency: str, free: bool, estimated: bool) -> None:
    s = parse_shipping(text, site="ebay.com")
    assert s is not None
    assert (s.amount, s.currency, s.free, s.estimated, s.raw) == (
        D(amount),
        currency,
        free,
        estimated,
        text,
    )


def test_free_shipping_currency_follows_site() -> None:
    s = parse_shipping("Kostenloser Versand", site="ebay.de")
    assert s == ParsedShipping(D(0), "EUR", True, False, "Kostenloser Versand")
    no_site = parse_shipping("Free shipping")
    assert no_site is not None and no_site.amount == 0 and no_site.currency is None


@pytest.mark.parametrize(
    "text",
    ["Shipping not specified", "Freight", "Local pickup", "See description", "delivery soon", "+ $ TBD"],
)
def test_unknown_shipping_is_none_never_zero(text: str) -> None:
    s = parse_shipping(text, site="ebay.com")
    assert s is not None
    assert s.amount is None and s.currency is None and not s.free


@pytest.mark.parametrize("text", [None, "", "   "])
def test_no_shipping_text(text: str | None) -> None:
    assert parse_shipping(text, site="ebay.com") is None


@pytest.mark.parametrize(
    ("site", "currency"),
    [
        ("ebay.com", "USD"),
        ("www.ebay.de", "EUR"),
        ("ebay.co.uk", "GBP"),
        ("ebay.com.au", "AUD"),
        ("ebay.ca", "CAD"),
        ("ebay.com.sg", "SGD"),
        ("ebay.co.jp", "JPY"),
        ("https://www.ebay.fr/sch/i.html?_nkw=rtx", "EUR"),
        ("EBAY_US", "USD"),
        ("EBAY_DE", "EUR"),
        ("EBAY_GB", "GBP"),
        ("EBAY_MOTORS_US", "USD"),
        ("EBAY-FRCA", "CAD"),
        ("http://127.0.0.1:8123", None),
        ("localhost:8000", None),
        ("example.io", None),
        ("", None),
        (None, None),
    ],
)
def test_currency_for_site(site: str | None, currency: str | None) -> None:
    assert currency_for_site(site) == currency


# --- properties -------------------------------------------------------------------------------

_CENTS = st.decimals(min_value=D("0.01"), max_value=D("999999999.99"), places=2)
_SITES = st.sampled_from([None, "ebay.com", "www.ebay.de", "EBAY_GB", "ebay.co.jp"])


def _de(a: Decimal) -> str:
    return f"{a:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


@settings(max_examples=300)
@given(amount=_CENTS, site=_SITES, style=st.sampled_from(["en", "de", "idr"]))
def test_locale_round_trip(amount: Decimal, site: str | None, style: str) -> None:
    text, currency = {
        "en": (f"${amount:,.2f}", "USD"),
        "de": (f"EUR {_de(amount)}", "EUR"),
        "idr": (f"IDR{amount:,.2f}", "IDR"),
    }[style]
    if style == "en" and site == "ebay.co.jp":
        site = None  # "$" on a yen site is USD too, but keep the case about formats
    p = parse_price(text, site=site)
    assert (p.amount, p.currency) == (amount, currency)


@settings(max_examples=200)
@given(amount=st.integers(min_value=1, max_value=10**12), site=_SITES)
def test_yen_round_trip(amount: int, site: str | None) -> None:
    p = parse_price(f"{amount:,} 円", site=site)
    assert (p.amount, p.currency) == (D(amount), "JPY")


_NO_DIGITS = st.text().filter(lambda s: not any(c in "0123456789０１２３４５６７８９" for c in s))


@settings(max_examples=300)
@given(text=_NO_DIGITS, site=_SITES, hint=st.sampled_from([None, "USD", "CNY", "$"]))
def test_text_without_digits_always_raises(text: str, site: str | None, hint: str | None) -> None:
    with pytest.raises(PriceParseError):
        parse_price(text, site=site, currency_hint=hint)


@settings(max_examples=300)
@given(text=st.text(alphabet="0123456789.,' $€£¥円kr-~toUSDEURC%Free+＋～", max_size=24), site=_SITES)
def test_any_text_parses_or_raises_price_parse_error(text: str, site: str | None) -> None:
    try:
        p = parse_price(text, site=site)
    except PriceParseError:
        return
    assert p.amount > 0 or "Free" in text
    assert p.amount_max is None or p.amount_max >= p.amount
    shipping = parse_shipping(text, site=site)
    assert shipping is None or shipping.amount is None or shipping.amount >= 0
