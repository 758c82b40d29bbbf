"""Raw listing → normalized listing: one pure step shared by crawls, ``parse`` and re-parsing."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

import attrs

from gpuprices.core.items import RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.core.money import ParsedPrice, known_currency, parse_price, parse_shipping
from gpuprices.exceptions import ConversionError, PriceParseError, UnknownCurrencyError
from gpuprices.pipeline.conditions import normalize_condition
from gpuprices.pipeline.currency import UsdConversion, UsdConverter
from gpuprices.pipeline.dates import parse_sold_date

_ISO_CODE = re.compile(r"^[A-Z]{3}$")
NO_RATE_METHOD = "none"
"""``usd_rate_method`` of a listing kept without a USD value: its currency has no known rate."""
UNKNOWN_CURRENCY = "unknown_currency"
"""Drop reason prefix of a price in a currency we cannot name: ``unknown_currency:<symbol>``."""
_IMPLAUSIBLE = Decimal("1e12")
"""No listing costs a trillion in any currency (IDR and VND prices of servers stay far below)."""


class DroppedListing(Exception):
    """A listing that cannot be priced; ``reason`` is counted in the crawl's statistics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _api_price(value: str, currency: str | None) -> ParsedPrice:
    """A price the API gave as a decimal string plus an ISO code: no guessing needed."""
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise PriceParseError(f"API price value {value!r} is not a number") from None
    code = (currency or "").strip().upper()
    if not _ISO_CODE.match(code):
        raise PriceParseError(f"API price currency {currency!r} is not an ISO 4217 code")
    if not known_currency(code):  # kept rows need a real currency; a made-up code is a named drop
        raise UnknownCurrencyError(code, f"{value} {currency}")
    if not amount.is_finite() or amount <= 0:
        raise PriceParseError(f"API price value {value!r} is not positive")
    return ParsedPrice(amount=amount, amount_max=None, currency=code, currency_raw=currency or code)


@attrs.define
class Normalizer:
    """Normalizes raw listings; keeps one exchange-rate table for the whole run."""

    converter: UsdConverter = attrs.Factory(UsdConverter)

    def normalize(self, raw: RawListing) -> NormalizedListing:
        """Normalize one listing or raise :class:`DroppedListing` with a countable reason."""
        try:
            if raw.price_value is not None:
                price = _api_price(raw.price_value, raw.currency_raw)
            elif raw.price_text:
                price = parse_price(raw.price_text, site=raw.site, currency_hint=raw.currency_raw)
            else:
                raise DroppedListing("missing_price", f"item {raw.item_id} shows no price")
        except UnknownCurrencyError as exc:
            # Named per symbol: a new display currency is a health problem to fix, not noise.
            raise DroppedListing(f"{UNKNOWN_CURRENCY}:{exc.symbol}", str(exc)) from None
        except PriceParseError as exc:
            raise DroppedListing("unparseable_price", str(exc)) from None
        # "$0.00 Free" parses (free shipping texts may be 0), but an item is never priced 0.
        if price.amount <= 0:
            raise DroppedListing("zero_price", f"item {raw.item_id} is priced {price.amount}")
        if price.amount >= _IMPLAUSIBLE or (price.amount_max is not None and price.amount_max >= _IMPLAUSIBLE):
            raise DroppedListing("implausible_price", f"item {raw.item_id} is priced {price.amount:.3E}")

        on = raw.observed_at.date()
        try:
            conversion: UsdConversion | None = self.converter.convert(price.amount, price.currency, on)
            price_max_usd = (
                self.converter.convert(price.amount_max, price.currency, on).amount_usd
                if price.amount_max is not None
                else None
            )
        except ConversionError:
            # Kept, exact in its own currency, with no USD value (usd_rate_method "none"): the USD
            # index, premium and alerts skip it, and a configured [fx.rates] entry plus `reparse`
            # values it later. A price is never guessed.
            conversion, price_max_usd = None, None
        if conversion is not None and conversion.amount_usd <= 0:  # "IDR1", "$0.001": at least a cent
            raise DroppedListing("below_one_cent", f"item {raw.item_id}: {price.amount} {price.currency} < $0.01")

        bin_price = None
        if raw.bin_price_text:
            try:
                bin_price = parse_price(raw.bin_price_text, site=raw.site, currency_hint=price.currency).amount
            except PriceParseError:
                bin_price = None  # the main price stands; a garbled BIN price is just not kept

        shipping = shipping_currency = shipping_usd = None
        estimated = False
        if raw.shipping_value is not None:
            try:
                shipping_parsed = _api_price_or_zero(raw.shipping_value, raw.shipping_currency_raw)
            except PriceParseError:
                shipping_parsed = None
            if shipping_parsed is not None:
                shipping, shipping_currency = shipping_parsed
        else:
            parsed_shipping = parse_shipping(raw.shipping_text, site=raw.site, currency_hint=price.currency)
            if parsed_shipping is not None and parsed_shipping.amount is not None:
                shipping = parsed_shipping.amount
                shipping_currency = parsed_shipping.currency or price.currency
                estimated = parsed_shipping.estimated
        if shipping is not None and shipping_currency is not None:
            try:
                shipping_usd = self.converter.convert(shipping, shipping_currency, on).amount_usd
            except ConversionError:
                shipping_usd = None  # kept exact in its own currency; no USD value without a rate

        return NormalizedListing(
            raw=raw,
            price=price.amount,
            price_max=price.amount_max,
            currency=price.currency,
            currency_raw=price.currency_raw,
            price_usd=conversion.amount_usd if conversion else None,
            price_max_usd=price_max_usd,
            usd_rate=conversion.rate if conversion else None,
            usd_rate_date=conversion.rate_date if conversion else None,
            usd_rate_method=conversion.method if conversion else NO_RATE_METHOD,
            bin_price=bin_price,
            shipping=shipping,
            shipping_currency=shipping_currency,
            shipping_usd=shipping_usd,
            shipping_estimated=estimated,
            condition=normalize_condition(raw.condition_raw, raw.condition_id),
            sold_at=parse_sold_date(raw.sold_at_text, observed_at=raw.observed_at) if raw.sold_at_text else None,
        )

    def normalize_all(
        self, raws: Iterable[RawListing], dropped: Counter[str] | None = None
    ) -> Iterator[NormalizedListing]:
        """Normalize many; dropped rows are counted by reason in ``dropped``."""
        for raw in raws:
            try:
                yield self.normalize(raw)
            except DroppedListing as exc:
                if dropped is not None:
                    dropped[exc.reason] += 1


def _api_price_or_zero(value: str, currency: str | None) -> tuple[Decimal, str]:
    """API shipping: 0.00 is a real value (free), unlike a 0 item price."""
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise PriceParseError(f"API shipping value {value!r} is not a number") from None
    code = (currency or "").strip().upper()
    if not _ISO_CODE.match(code) or not amount.is_finite() or amount < 0 or amount >= _IMPLAUSIBLE:
        raise PriceParseError(f"API shipping {value!r} {currency!r} unusable")
    return amount, code
