"""Tests for pipeline.currency: ECB cross rates via EUR, weekends, stale data, rounding."""

from __future__ import annotations

from collections import namedtuple
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest
from currency_converter import CurrencyConverter, RateNotFoundError

from gpuprices.exceptions import ConversionError
from gpuprices.pipeline.currency import LazyEcbConverter, UsdConversion, UsdConverter

D = Decimal
FRIDAY, SATURDAY, SUNDAY = date(2025, 10, 24), date(2025, 10, 25), date(2025, 10, 26)


@pytest.fixture(scope="module")
def conv() -> UsdConverter:
    return UsdConverter()


def test_usd_is_identity(conv: UsdConverter) -> None:
    r = conv.convert(D("3971.45"), "USD", SATURDAY)
    assert r == UsdConversion(D("3971.45"), D(1), SATURDAY, "identity")


def test_eur_on_a_business_day(conv: UsdConverter) -> None:
    r = conv.convert(D("100"), "EUR", date(2025, 10, 27))
    # ECB reference rate of 2025-10-27: 1 EUR = 1.1640 USD.
    assert r == UsdConversion(D("116.40"), D("1.164"), date(2025, 10, 27), "ecb")


@pytest.mark.parametrize("day", [SATURDAY, SUNDAY])
def test_weekend_uses_friday_rate(conv: UsdConverter, day: date) -> None:
    friday = conv.convert(D("100"), "EUR", FRIDAY)
    r = conv.convert(D("100"), "EUR", day)
    assert friday.method == "ecb"
    assert (r.rate, r.rate_date, r.method) == (friday.rate, FRIDAY, "ecb-nearest-earlier")


def test_holiday_uses_previous_business_day(conv: UsdConverter) -> None:
    r = conv.convert(D("1"), "GBP", date(2025, 12, 25))
    assert (r.rate_date, r.method) == (date(2025, 12, 24), "ecb-nearest-earlier")


def test_cross_rate_via_eur(conv: UsdConverter) -> None:
    # 2025-10-27: 1 EUR = 1.1640 USD = 177.93 JPY.
    r = conv.convert(D("8916"), "JPY", date(2025, 10, 27))
    assert r.rate == (D("1.164") / D("177.93")).quantize(D("1e-14"))
    assert len(r.rate.as_tuple().digits) >= 8
    assert r.amount_usd == (D("8916") * r.rate).quantize(D("0.01"))
    assert r.amount_usd.as_tuple().exponent == -2


def test_after_bundled_data_uses_latest_available(conv: UsdConverter) -> None:
    later = conv.last_date + timedelta(days=40)
    r = conv.convert(D("10"), "EUR", later)
    assert r.method == "ecb-latest-available"
    assert r.rate_date <= conv.last_date and conv.last_date - r.rate_date < timedelta(days=7)


def test_datetime_and_lower_case_are_accepted(conv: UsdConverter) -> None:
    a = conv.convert(D("5"), "eur", datetime(2025, 10, 27, 23, 59))
    b = conv.convert(D("5"), "EUR", date(2025, 10, 27))
    assert a == b


@pytest.mark.parametrize(
    ("currency", "day"),
    [
        ("XYZ", date(2025, 10, 27)),  # not a currency
        ("", date(2025, 10, 27)),
        ("RUB", date(2025, 10, 27)),  # ECB stopped quoting RUB in 2022: no stale fallback
        ("EUR", date(1998, 12, 31)),  # before the ECB series
    ],
)
def test_no_rate_raises(conv: UsdConverter, currency: str, day: date) -> None:
    with pytest.raises(ConversionError) as err:
        conv.convert(D("1"), currency, day)
    assert "\n" not in str(err.value)


def test_float_amount_is_refused(conv: UsdConverter) -> None:
    with pytest.raises(TypeError):
        conv.convert(1.5, "EUR", FRIDAY)  # type: ignore[arg-type]
    with pytest.raises(ConversionError):
        conv.convert(D("NaN"), "EUR", FRIDAY)


def test_bundled_converter_is_shared() -> None:
    assert UsdConverter().converter is UsdConverter().converter


def test_lazy_loading_gives_the_full_load() -> None:
    """Currency by currency, the lazily loaded table is the library's full load: same currencies,
    bounds (the reference currency's too) and rates, gaps (weekends, holidays) included."""
    full = CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)
    lazy = LazyEcbConverter()
    assert lazy.currencies == full.currencies
    assert lazy.bounds["EUR"] == full.bounds["EUR"]
    for currency in sorted(full.currencies - {"EUR"}):
        assert lazy.bounds[currency] == full.bounds[currency], currency
        assert dict(lazy._rates[currency]) == dict(full._rates[currency]), currency
    with pytest.raises(ValueError, match="not a supported currency"):
        lazy.convert(1, "EUR", "XXX", date=FRIDAY)
    with pytest.raises(RateNotFoundError):
        lazy.convert(1, "EUR", "USD", date=SATURDAY)


# --- a tiny stand-in for CurrencyConverter, to pin rounding and caching ------------------------

_Bounds = namedtuple("_Bounds", "first_date last_date")


class _FakeECB:
    """Weekdays only; 1 EUR = 1.25 USD = 1 GBP, so 1 GBP = 1.25 USD exactly."""

    currencies = frozenset({"EUR", "USD", "GBP"})
    bounds: ClassVar[dict[str, _Bounds]] = {
        c: _Bounds(date(2020, 1, 1), date(2020, 12, 31)) for c in currencies
    }

    def __init__(self) -> None:
        self.calls = 0

    def convert(self, amount: float, cur: str, new: str, date: date) -> float:
        self.calls += 1
        if date.weekday() >= 5 or not self.bounds[new].first_date <= date <= self.bounds[new].last_date:
            raise RateNotFoundError(f"{new} has no rate for {date}")
        return amount * {"USD": 1.25, "GBP": 1.0, "EUR": 1.0}[new]


@pytest.mark.parametrize(("gbp", "usd"), [("0.02", "0.02"), ("0.06", "0.08"), ("0.1", "0.12")])
def test_round_half_even(gbp: str, usd: str) -> None:
    # 0.025 -> 0.02, 0.075 -> 0.08, 0.125 -> 0.12 (banker's rounding, not half-up).
    r = UsdConverter(_FakeECB()).convert(D(gbp), "GBP", date(2020, 3, 2))
    assert r.amount_usd == D(usd)


def test_rates_are_cached_per_currency_and_day() -> None:
    fake = _FakeECB()
    conv = UsdConverter(fake)
    conv.convert(D("1"), "GBP", date(2020, 3, 7))  # Saturday: walks back to Friday
    calls = fake.calls
    again = conv.convert(D("2"), "GBP", date(2020, 3, 7))
    assert fake.calls == calls
    assert (again.rate_date, again.method) == (date(2020, 3, 6), "ecb-nearest-earlier")


def test_lookback_is_bounded() -> None:
    conv = UsdConverter(_FakeECB(), max_lookback_days=1)
    with pytest.raises(ConversionError):
        conv.convert(D("1"), "GBP", date(2020, 3, 8))  # Sunday; Friday is 2 days back
