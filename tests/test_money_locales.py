"""Every display currency eBay shows, in every written form: symbol or code, before or after the amount,
with or without a space (plain, no-break, narrow no-break), grouped with , . space or ', comma or point
decimals. Property tests generate the forms; a fixed table pins the forms seen on real pages."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from gpuprices.alerts.health import HealthRules, check_crawl
from gpuprices.core.items import RawListing
from gpuprices.core.money import parse_price
from gpuprices.exceptions import PriceParseError, UnknownCurrencyError
from gpuprices.pipeline.normalize import Normalizer

D = Decimal
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (currency mark as written, ISO code, site that settles ambiguous marks or None, zero-decimal display)
MARKS: list[tuple[str, str, str | None, bool]] = [
    ("$", "USD", "ebay.com", False), ("US $", "USD", None, False), ("US$", "USD", None, False),
    ("USD", "USD", None, False), ("C $", "CAD", None, False), ("C$", "CAD", None, False),
    ("CAD", "CAD", None, False), ("AU $", "AUD", None, False), ("AU$", "AUD", None, False),
    ("A$", "AUD", None, False), ("NZ $", "NZD", None, False), ("NZ$", "NZD", None, False),
    ("HK$", "HKD", None, False), ("HK $", "HKD", None, False), ("NT$", "TWD", None, False),
    ("S$", "SGD", None, False), ("SGD", "SGD", None, False), ("MX$", "MXN", None, False),
    ("MX $", "MXN", None, False), ("R$", "BRL", None, False), ("S/.", "PEN", None, False),
    ("S/", "PEN", None, False), ("PEN", "PEN", None, False), ("RM", "MYR", None, False),
    ("MYR", "MYR", None, False), ("₱", "PHP", None, False), ("PHP", "PHP", None, False),
    ("₹", "INR", None, False), ("Rs.", "INR", None, False), ("INR", "INR", None, False),
    ("₩", "KRW", None, True), ("KRW", "KRW", None, True), ("฿", "THB", None, False),
    ("THB", "THB", None, False), ("zł", "PLN", None, False), ("PLN", "PLN", None, False),
    ("Kč", "CZK", None, False), ("CZK", "CZK", None, False), ("kr", "SEK", "ebay.se", False),
    ("kr", "NOK", "ebay.no", False), ("kr.", "DKK", "ebay.dk", False), ("SEK", "SEK", None, False),
    ("NOK", "NOK", None, False), ("DKK", "DKK", None, False), ("CHF", "CHF", None, False),
    ("Ft", "HUF", None, True), ("HUF", "HUF", None, True), ("lei", "RON", None, False),
    ("RON", "RON", None, False), ("₺", "TRY", None, False), ("TL", "TRY", None, False),
    ("TRY", "TRY", None, False), ("₪", "ILS", None, False), ("ILS", "ILS", None, False),
    ("R", "ZAR", None, False), ("ZAR", "ZAR", None, False), ("AED", "AED", None, False),
    ("€", "EUR", None, False), ("EUR", "EUR", None, False), ("£", "GBP", None, False),
    ("GBP", "GBP", None, False), ("¥", "JPY", "ebay.co.jp", True), ("円", "JPY", None, True),
    ("JPY", "JPY", None, True), ("IDR", "IDR", None, False), ("Rp", "IDR", None, True),
    ("CNY", "CNY", None, False), ("RMB", "CNY", None, False), ("¥", "CNY", None, False),
]
# "R" is only a rand right before the digits; symbols that are letters need no space rules beyond that.
_PREFIX_ONLY = {"R", "S/.", "S/", "$", "US $", "C $", "AU $", "NZ $", "HK $", "MX $"}
# (thousands separator, decimal mark)
GROUPINGS = [(",", "."), (".", ","), (" ", ","), ("\u00a0", ","), ("\u202f", ","), ("'", "."), ("", "."),
             ("", ",")]
SPACES = ["", " ", "\u00a0", "\u202f"]


def _digits(amount: Decimal | int, thousands: str, decimal: str) -> str:
    text = f"{amount:,.2f}" if isinstance(amount, Decimal) else f"{amount:,}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def _hint(iso: str, mark: str) -> str | None:
    return "CNY" if (mark, iso) == ("¥", "CNY") else None


@SETTINGS
@given(mark=st.sampled_from(MARKS), grouping=st.sampled_from(GROUPINGS), space=st.sampled_from(SPACES),
       after=st.booleans(), cents=st.decimals(min_value=D("1.00"), max_value=D("9999999.99"), places=2),
       whole=st.integers(min_value=1, max_value=99_999_999))
def test_every_display_currency_in_every_form(mark: tuple[str, str, str | None, bool], grouping: tuple[str, str],
                                             space: str, after: bool, cents: Decimal, whole: int) -> None:
    written, iso, site, zero_decimal = mark
    after = after and written not in _PREFIX_ONLY
    thousands, decimal = grouping
    amount: Decimal | int = whole if zero_decimal else cents
    if (zero_decimal and thousands in ("", "'")) or (zero_decimal and decimal == "," and thousands == ","):
        thousands = ","
    number = _digits(amount, thousands, decimal)
    if written == "R" and not after:
        space = space if space in ("", " ") else " "
    text = f"{number}{space}{written}" if after else f"{written}{space}{number}"
    note(repr(text))
    p = parse_price(text, site=site, currency_hint=_hint(iso, written))
    assert p.currency == iso
    assert p.amount == D(amount)
    assert p.amount_max is None


@SETTINGS
@given(mark=st.sampled_from([m for m in MARKS if not m[3]]),
       pair=st.lists(st.decimals(min_value=D("1.00"), max_value=D("99999.99"), places=2), min_size=2, max_size=2),
       word=st.sampled_from([" to ", " bis ", " à ", " a ", " - ", " – ", " ~ "]))
def test_ranges_in_every_display_currency(mark: tuple[str, str, str | None, bool], pair: list[Decimal],
                                          word: str) -> None:
    written, iso, site, _ = mark
    low, high = sorted(pair)
    text = f"{written} {low:,.2f}{word}{written} {high:,.2f}"
    note(repr(text))
    p = parse_price(text, site=site, currency_hint=_hint(iso, written))
    assert (p.amount, p.amount_max, p.currency) == (low, high, iso)


@pytest.mark.parametrize(
    ("text", "site", "amount", "currency"),
    [
        ("S/. 44.38", "ebay.com", "44.38", "PEN"),  # a real ebay.com page shown to a visitor from Peru
        ("S/.1,234.50", "ebay.com", "1234.50", "PEN"),
        ("R 1 234,56", "ebay.com", "1234.56", "ZAR"),
        ("R$ 1.234,56", "ebay.com", "1234.56", "BRL"),
        ("AED 3,672.50", "ebay.com", "3672.50", "AED"),
        ("1.234,56 TL", "ebay.com", "1234.56", "TRY"),
        ("NT$1,234", "ebay.com", "1234", "TWD"),
        ("Rs. 1,23,456.00", "ebay.com", "123456.00", "INR"),
        ("12 345 Ft", "ebay.com", "12345", "HUF"),
        ("1\u202f234,56\u00a0zł", "ebay.pl", "1234.56", "PLN"),
        ("SFr. 12.50", "ebay.ch", "12.50", "CHF"),
        ("kr 1 234,00", "ebay.no", "1234.00", "NOK"),
        ("1.234,00 kr.", "ebay.dk", "1234.00", "DKK"),
        ("1 234,00 kr", "ebay.se", "1234.00", "SEK"),
    ],
)
def test_real_display_forms(text: str, site: str, amount: str, currency: str) -> None:
    p = parse_price(text, site=site)
    assert (p.amount, p.currency) == (D(amount), currency)


def test_kronor_without_a_site_stay_ambiguous() -> None:
    with pytest.raises(PriceParseError, match="ambiguous"):
        parse_price("1 234 kr", site="ebay.com")


@pytest.mark.parametrize(("text", "symbol"), [("₦1,234.00", "₦"), ("XYZ 12.00", "XYZ"), ("12.00 ABC", "ABC"),
                                              ("₸ 1 234", "₸"), ("₴100", "₴")])
def test_unknown_currency_is_named(text: str, symbol: str) -> None:
    with pytest.raises(UnknownCurrencyError) as err:
        parse_price(text, site="ebay.com")
    assert err.value.symbol == symbol
    assert symbol in str(err.value) and "\n" not in str(err.value)


def _raw(item_id: str, price: str) -> RawListing:
    return RawListing(source="ebay", site="ebay.com", item_id=item_id, title="NVIDIA Tesla T4 16GB",
                      observed_at=datetime(2025, 6, 1, tzinfo=UTC), price_text=price)


def test_unknown_currency_is_a_counted_drop_reason_and_a_health_problem() -> None:
    dropped: Counter[str] = Counter()
    rows = list(Normalizer().normalize_all([_raw("1", "₦1,234.00"), _raw("2", "₦99.00"), _raw("3", "$10.00")],
                                           dropped))
    assert [r.raw.item_id for r in rows] == ["3"]
    assert dropped == Counter({"unknown_currency:₦": 2})
    crawl = {"id": 7, "source": "ebay", "status": "ok", "pages": 1, "listings": 1, "dropped": json.dumps(dropped)}
    health = check_crawl(crawl, [], HealthRules())
    assert not health.healthy
    assert any("unknown currency" in p and "₦" in p for p in health.problems)


def test_pegged_currency_converts_at_its_peg() -> None:
    row = next(Normalizer().normalize_all([_raw("1", "AED 3,672.50")]))
    assert (row.currency, row.price_usd, row.usd_rate_method) == ("AED", D("1000.00"), "peg")
