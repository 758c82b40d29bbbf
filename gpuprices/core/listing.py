"""A listing after normalization: exact money, ISO currency, USD with the rate it used."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from gpuprices.core.columns import ROW_COLUMNS, SOURCED, Column
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
    price_usd: Decimal | None
    """``price`` in US dollars at ``usd_rate``; ``None`` when no rate is known for ``currency`` (the row
    is kept, exact in its own currency, and left out of every USD statistic)."""
    price_max_usd: Decimal | None = None
    """``price_max`` in US dollars."""
    usd_rate: Decimal | None
    """US dollars per one unit of ``currency``; ``None`` when there is no rate."""
    usd_rate_date: date | None
    """Date of the rate used (the ECB day: the observation date or the nearest earlier one)."""
    usd_rate_method: str
    """How the rate was found: ``identity``, ``ecb``, ``ecb-nearest-earlier``, ``ecb-latest-available``,
    ``peg``, ``config:<source>`` (the config's ``[fx.rates]``) or ``none`` (no rate: no USD value)."""
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
    def total_usd(self) -> Decimal | None:
        """Price plus shipping in USD (shipping counted as 0 only when known to be free/0)."""
        return None if self.price_usd is None else self.price_usd + (self.shipping_usd or Decimal(0))


def _value(number: int, column: Column, namespace: dict[str, Any]) -> str:
    """The expression of one column's value read from ``listing`` (its converter put in ``namespace``)."""
    value = f"listing.{column.source}"
    if column.converter is not None:
        namespace[f"convert_{number}"] = column.converter
        value = f"convert_{number}({value})"
    return value


def _row_function(columns: tuple[Column, ...]) -> Callable[[NormalizedListing], dict[str, Any]]:
    """``listing → {column: value}`` compiled from the declaration into one dict display, as fast as one
    written out by hand (a call per column made storing a batch 1.5 times slower). The attribute paths
    are the declaration's own, checked by :class:`Column`."""
    namespace: dict[str, Any] = {}
    entries = [f"{column.name!r}: {_value(number, column, namespace)}" for number, column in enumerate(columns)]
    exec(f"def row(listing):\n    return {{{', '.join(entries)}}}\n", namespace)
    return namespace["row"]


def values_function(groups: Sequence[Sequence[str]], *, args: Sequence[str] = (),
                    flags: Collection[str] = ()) -> Callable[..., tuple[list[Any], ...]]:
    """``(listing, *args)`` → for each group of column names, a list of their values in that order (a
    database row), compiled from the declaration: each value read and converted once even when in
    several groups, the columns in ``flags`` as 0/1 (``None`` kept), those named in ``args`` from the
    arguments. Storing a batch this way skips the :func:`stored_values` dict and a getter per group."""
    by_name = {column.name: column for column in SOURCED}
    names = list(dict.fromkeys(name for group in groups for name in group if name not in args))
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"columns without a source: {', '.join(unknown)}")
    namespace: dict[str, Any] = {}
    local = {name: f"v{number}" for number, name in enumerate(names)} | {name: name for name in args}
    body = []
    for number, name in enumerate(names):
        body.append(f"    v{number} = {_value(number, by_name[name], namespace)}\n")
        if name in flags:
            body.append(f"    if v{number} is not None:\n        v{number} = 1 if v{number} else 0\n")
    rows = ", ".join("[" + ", ".join(local[name] for name in group) + "]" for group in groups)
    exec(f"def values(listing, {', '.join(args)}):\n{''.join(body)}    return ({rows},)\n", namespace)
    return namespace["values"]


listing_row = _row_function(tuple(column for column in SOURCED if column.row))
"""The flat row used by ``gpuprices parse`` and the exports, keys :data:`ROW_COLUMNS`: money stays a
decimal string (exact), dates are ISO strings."""
stored_values = _row_function(SOURCED)
"""Every column value a listing carries (:data:`~gpuprices.core.columns.SOURCED`): the row plus the raw
texts only observations keep."""


__all__ = ["ROW_COLUMNS", "NormalizedListing", "listing_row", "stored_values", "values_function"]
