"""A listing after normalization: exact money, ISO currency, USD with the rate it used."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

import attrs

from gpuprices.core.items import RawListing


@attrs.define(kw_only=True)
class NormalizedListing:
    """A :class:`RawListing` plus every value derived from it, each with how it was derived."""

    raw: RawListing
    """What the source showed, unchanged."""
    price: Decimal
    """Price in the listing's currency (the minimum of a range)."""
    price_max: Decimal | None = None
    """Upper end of a price range ("$10 to $15"); ``None`` for a single price."""
    currency: str
    """ISO 4217 code of ``price``."""
    currency_raw: str
    """The currency as written (``£``, ``EUR``, ``円``)."""
    price_usd: Decimal
    """``price`` in US dollars at ``usd_rate``."""
    price_max_usd: Decimal | None = None
    """``price_max`` in US dollars."""
    usd_rate: Decimal
    """US dollars per one unit of ``currency``."""
    usd_rate_date: date
    """Date of the ECB reference rate used (the observation date or the nearest earlier one)."""
    usd_rate_method: str
    """How the rate was found: ``identity``, ``ecb``, ``ecb-nearest-earlier``, ``ecb-latest-available``."""
    bin_price: Decimal | None = None
    """An auction's Buy It Now price, in ``currency``."""
    shipping: Decimal | None = None
    """Shipping cost; 0 when free, ``None`` when unknown (never guessed)."""
    shipping_currency: str | None = None
    """ISO 4217 code of ``shipping``."""
    shipping_usd: Decimal | None = None
    """Shipping in US dollars."""
    shipping_estimated: bool = False
    """The page called the shipping cost an estimate."""
    condition: str | None = None
    """``new``, ``open_box``, ``refurbished``, ``used`` or ``for_parts``."""
    sold_at: date | None = None
    """Sale (or end) date on sold/completed pages."""
    # Filled by the classifier (pipeline.classify); defaults mean "not classified".
    model: str | None = None
    """GPU model name (``H100``, ``RTX 4090``), ``other:…`` for GPUs outside the catalog."""
    sku: str | None = None
    """Catalog SKU id, empty when memory or form factor cannot be decided."""
    memory_gb: int | None = None
    """GPU memory in GB."""
    form_factor: str | None = None
    """``pcie``, ``sxm2``/``sxm4``/``sxm5``, ``nvl`` or ``ambiguous``."""
    gpu_count: int | None = None
    """GPUs sold in this listing (lots and multi-GPU boards count each GPU)."""
    working: bool | None = None
    """False for "for parts", "non working", "as-is"."""
    excluded_reason: str | None = None
    """Why this is not a GPU of the catalog (accessory, box_only, …); empty for real GPUs."""
    classification_note: str | None = None
    """Why the classifier decided what it did."""
    unit_price_usd: Decimal | None = None
    """(price + shipping in USD) / gpu_count; ``None`` when not separable."""
    unit_price_note: str | None = None
    """How ``unit_price_usd`` was derived, or why there is none."""
    quarantined: bool = False
    """Kept out of statistics: an outlier far below its SKU's robust centre, or a risky seller."""
    quarantine_reason: str | None = None
    """Why it is quarantined."""

    @property
    def total_usd(self) -> Decimal:
        """Price plus shipping in USD (shipping counted as 0 only when known to be free/0)."""
        return self.price_usd + (self.shipping_usd or Decimal(0))


def _text(value: Decimal | date | None) -> str | None:
    return None if value is None else str(value)


def _json(extra: dict[str, str]) -> str | None:
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


# Every value a listing gives the database, as an expression of `listing` and `raw` (its RawListing),
# written once: :func:`listing_row` and the stores' row builders (:func:`row_values`) are compiled
# from it, so a save builds each row in one call, converting only the columns that need it.
_ROW = {
    "source": "raw.source",
    "site": "raw.site",
    "item_id": "raw.item_id",
    "variation_id": "raw.variation_id",
    "title": "raw.title",
    "url": "raw.url",
    "price": "_text(listing.price)",
    "price_max": "_text(listing.price_max)",
    "currency": "listing.currency",
    "currency_raw": "listing.currency_raw",
    "price_usd": "_text(listing.price_usd)",
    "price_max_usd": "_text(listing.price_max_usd)",
    "usd_rate": "_text(listing.usd_rate)",
    "usd_rate_date": "_text(listing.usd_rate_date)",
    "usd_rate_method": "listing.usd_rate_method",
    "price_text": "raw.price_text",
    "bin_price": "_text(listing.bin_price)",
    "shipping": "_text(listing.shipping)",
    "shipping_currency": "listing.shipping_currency",
    "shipping_usd": "_text(listing.shipping_usd)",
    "shipping_estimated": "listing.shipping_estimated",
    "shipping_text": "raw.shipping_text",
    "condition": "listing.condition",
    "condition_raw": "raw.condition_raw",
    "listing_type": "raw.listing_type.value if raw.listing_type else None",
    "buying_options": "','.join(raw.buying_options) or None",
    "bids": "raw.bids",
    "seller": "raw.seller",
    "seller_feedback": "raw.seller_feedback",
    "location": "raw.location",
    "availability": "raw.availability",
    "sold": "raw.sold",
    "ended": "raw.ended",
    "best_offer_accepted": "raw.best_offer_accepted",
    "sold_at": "_text(listing.sold_at)",
    "created_at": "raw.created_at",
    "observed_at": "raw.observed_at.isoformat()",
    "query": "raw.query",
    "model": "listing.model",
    "sku": "listing.sku",
    "memory_gb": "listing.memory_gb",
    "form_factor": "listing.form_factor",
    "gpu_count": "listing.gpu_count",
    "working": "listing.working",
    "excluded_reason": "listing.excluded_reason",
    "classification_note": "listing.classification_note",
    "unit_price_usd": "_text(listing.unit_price_usd)",
    "unit_price_note": "listing.unit_price_note",
    "quarantined": "listing.quarantined",
    "quarantine_reason": "listing.quarantine_reason",
}
_SIGHTING = {  # what only an observation keeps: where the values were read, as read
    "page_url": "raw.page_url",
    "price_value_raw": "raw.price_value",
    "currency_value_raw": "raw.currency_raw",
    "bin_price_text": "raw.bin_price_text",
    "shipping_value_raw": "raw.shipping_value",
    "sold_at_text": "raw.sold_at_text",
    "extra": "_json(raw.extra)",
}


def _compile(body: str, args: Sequence[str] = ()) -> Callable[..., Any]:
    """``def f(listing, *args)`` with ``body`` (statements) from this module's fixed expressions, never
    user input."""
    namespace: dict[str, Any] = {"_text": _text, "_json": _json, "_flag": _flag}
    exec(f"def f(listing{''.join(', ' + arg for arg in args)}):\n    raw = listing.raw\n{body}\n", namespace)
    return cast(Callable[..., Any], namespace["f"])


_listing_row = _compile("    return {" + ", ".join(f"{name!r}: {value}" for name, value in _ROW.items()) + "}")


def listing_row(listing: NormalizedListing) -> dict[str, Any]:
    """The flat row used by ``gpuprices parse``, the database and the exports.

    Money stays a decimal string (exact); dates are ISO strings.
    """
    return cast(dict[str, Any], _listing_row(listing))


def row_values(*groups: Sequence[str], flags: Collection[str] = (),
               args: Sequence[str] = ()) -> Callable[..., tuple[tuple[Any, ...], ...]]:
    """A function ``(listing, *args)`` → for each group of columns, the values of a database row in
    that order: the :func:`listing_row` values and an observation's own (page, raw values, extra),
    ``flags`` as 0/1, the columns named in ``args`` from the arguments, any other column ``None``.
    A column in several groups is converted once."""
    names = list(dict.fromkeys(name for group in groups for name in group if name not in args))
    local = {name: f"v{index}" for index, name in enumerate(names)} | {name: name for name in args}

    def expression(name: str) -> str:
        value = _ROW.get(name) or _SIGHTING.get(name) or "None"
        return f"_flag({value})" if name in flags else value
    assignments = "".join(f"    {local[name]} = {expression(name)}\n" for name in names)
    rows = ", ".join("(" + "".join(f"{local[name]}, " for name in group) + ")" for group in groups)
    return _compile(f"{assignments}    return ({rows},)", args)


ROW_COLUMNS: tuple[str, ...] = tuple(
    listing_row(
        NormalizedListing(
            raw=RawListing(source="", site="", item_id="", title="", observed_at=date.min),  # type: ignore[arg-type]
            price=Decimal(0), currency="", currency_raw="", price_usd=Decimal(0), usd_rate=Decimal(0),
            usd_rate_date=date.min, usd_rate_method="",
        )
    )
)
"""Column order of :func:`listing_row` (for CSV headers even when there are no rows)."""
