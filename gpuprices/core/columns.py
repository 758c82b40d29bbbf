"""The listing schema, declared once: every column of the ``listings`` and ``observations`` tables.

Each :class:`Column` says where its value comes from (an attribute of a
:class:`~gpuprices.core.listing.NormalizedListing`, ``raw.…`` for its raw listing; none for what the
store fills in), its portable :data:`KINDS` type (each backend maps it to its SQL type), which tables
hold it, the SQLite schema version that added it, and what it means elsewhere: part of the flat row
``gpuprices parse`` prints, rewritten by ``gpuprices reclassify``, text this program writes itself (no
spreadsheet-formula check on export).

Derived from :data:`COLUMNS`: :func:`~gpuprices.core.listing.listing_row`, both backends' ``CREATE
TABLE`` columns of ``listings`` and ``observations``, the stores' insert and update column lists, the
0/1 flag columns, the export's cell kinds, the fields reclassify rewrites and compares, and what
``gpuprices classify`` prints. A table's column order (:func:`table_columns`) is schema version, then
group (:data:`GROUPS`), then declaration order: the order the tables were first created in, so new
and old databases agree. The declaration itself is in the order of :func:`listing_row`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

KINDS = ("id", "text", "integer", "money", "day", "time", "flag")
"""``money``: exact decimal (text in SQLite); ``day``: ISO date; ``time``: ISO date-time of ours;
``flag``: a boolean stored as 0/1; ``id``: the row id."""
GROUPS = ("identity", "origin", "raw", "price", "seller", "classification", "enrichment", "record")
"""``raw``: what the page wrote; ``classification``: what the classifier decides; ``enrichment``: unit
price and quarantine derived from it; ``record``: the store's own history of the row."""
TABLES = ("listings", "observations")
RECLASSIFIED_GROUPS = ("classification", "enrichment")
"""Groups ``gpuprices reclassify`` recomputes for every stored observation."""
_OWN_KINDS = frozenset({"id", "integer", "money", "day", "time", "flag"})


def _text(value: Decimal | date | None) -> str | None:
    return None if value is None else str(value)


def _iso(value: datetime) -> str:
    return value.isoformat()


def _enum(value: Any) -> Any:
    return None if value is None else value.value


def _joined(values: tuple[str, ...]) -> str | None:
    return ",".join(values) or None


def _json(value: dict[str, str]) -> str | None:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None


_CONVERT: dict[str, Callable[[Any], Any]] = {"money": _text, "day": _text, "time": _iso}


@attrs.frozen
class Column:
    """One column of the listing schema."""

    name: str
    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    group: str = attrs.field(validator=attrs.validators.in_(GROUPS))
    tables: tuple[str, ...]
    source: str | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.matches_re(r"(raw\.)?[a-z_]+")))
    """Attribute path on the normalized listing (``raw.title``); ``None``: the store fills it in."""
    row: bool = True
    """Part of :func:`~gpuprices.core.listing.listing_row` (needs a ``source``)."""
    own: bool = False
    """Text this program writes (codes, names of its own): exports skip the formula check. Numbers,
    dates and flags are always its own."""
    explains: bool = False
    """A note on how another value was decided: a changed note alone is not a changed class."""
    convert: Callable[[Any], Any] | None = None
    """Attribute value → column value when the kind's own conversion is not it."""
    since: int = 1
    """SQLite schema version that added the column (PostgreSQL's first version has versions ≤ 4)."""
    not_null: bool = False
    default: str | None = None
    references: str | None = None
    """Table whose ``id`` this column holds."""

    @property
    def own_text(self) -> bool:
        return self.own or self.kind in _OWN_KINDS

    @property
    def reclassified(self) -> bool:
        return self.group in RECLASSIFIED_GROUPS

    @property
    def converter(self) -> Callable[[Any], Any] | None:
        """Attribute value → column value (money and dates as exact text, times as ISO text); ``None``:
        the value as it is."""
        return self.convert or _CONVERT.get(self.kind)


_L, _O, _LO = ("listings",), ("observations",), ("listings", "observations")


def _c(name: str, kind: str, group: str, tables: tuple[str, ...], source: str | None = None,
       **options: Any) -> Column:
    return Column(name=name, kind=kind, group=group, tables=tables, source=source,
                  row=options.pop("row", source is not None), **options)


COLUMNS: tuple[Column, ...] = (
    _c("id", "id", "identity", _LO),
    _c("family", "text", "identity", _L, own=True, not_null=True),
    _c("listing_id", "integer", "identity", _O, references="listings"),
    _c("crawl_id", "integer", "identity", _O, references="crawls"),
    _c("source", "text", "origin", _LO, "raw.source", own=True),
    _c("site", "text", "origin", _LO, "raw.site", own=True),
    _c("item_id", "text", "identity", _L, "raw.item_id", not_null=True),
    _c("variation_id", "text", "identity", _L, "raw.variation_id", not_null=True, default=""),
    _c("title", "text", "raw", _LO, "raw.title"),
    _c("url", "text", "origin", _L, "raw.url"),
    _c("price", "money", "price", _LO, "price"),
    _c("price_max", "money", "price", _LO, "price_max"),
    _c("currency", "text", "price", _LO, "currency", own=True),
    _c("currency_raw", "text", "price", _LO, "currency_raw"),
    _c("price_usd", "money", "price", _LO, "price_usd"),
    _c("price_max_usd", "money", "price", _LO, "price_max_usd"),
    _c("usd_rate", "money", "price", _LO, "usd_rate"),
    _c("usd_rate_date", "day", "price", _LO, "usd_rate_date"),
    _c("usd_rate_method", "text", "price", _LO, "usd_rate_method", own=True),
    _c("price_text", "text", "raw", _O, "raw.price_text"),
    _c("price_value_raw", "text", "raw", _O, "raw.price_value", row=False),
    _c("currency_value_raw", "text", "raw", _O, "raw.currency_raw", row=False),
    _c("bin_price", "money", "price", _LO, "bin_price"),
    _c("bin_price_text", "text", "raw", _O, "raw.bin_price_text", row=False),
    _c("shipping", "money", "price", _LO, "shipping"),
    _c("shipping_currency", "text", "price", _LO, "shipping_currency", own=True),
    _c("shipping_usd", "money", "price", _LO, "shipping_usd"),
    _c("shipping_estimated", "flag", "price", _LO, "shipping_estimated"),
    _c("shipping_text", "text", "raw", _O, "raw.shipping_text"),
    _c("shipping_value_raw", "text", "raw", _O, "raw.shipping_value", row=False),
    _c("condition", "text", "price", _LO, "condition"),
    _c("condition_raw", "text", "price", _LO, "raw.condition_raw"),
    _c("listing_type", "text", "price", _LO, "raw.listing_type", own=True, convert=_enum),
    _c("buying_options", "text", "price", _LO, "raw.buying_options", own=True, convert=_joined),
    _c("bids", "integer", "price", _LO, "raw.bids"),
    _c("seller", "text", "seller", _L, "raw.seller"),
    _c("seller_feedback", "integer", "seller", _L, "raw.seller_feedback"),
    _c("location", "text", "seller", _L, "raw.location"),
    _c("availability", "text", "price", _LO, "raw.availability", since=3),
    _c("sold", "flag", "price", _LO, "raw.sold"),
    _c("ended", "flag", "price", _LO, "raw.ended"),
    _c("best_offer_accepted", "flag", "price", _LO, "raw.best_offer_accepted"),
    _c("sold_at", "day", "price", _LO, "sold_at"),
    _c("sold_at_text", "text", "raw", _O, "raw.sold_at_text", row=False),
    _c("created_at", "text", "seller", _L, "raw.created_at", own=True),
    _c("observed_at", "time", "origin", _O, "raw.observed_at"),
    _c("query", "text", "origin", _O, "raw.query"),
    _c("page_url", "text", "origin", _O, "raw.page_url", row=False),
    _c("model", "text", "classification", _LO, "model", own=True),
    _c("sku", "text", "classification", _LO, "sku", own=True),
    _c("memory_gb", "integer", "classification", _LO, "memory_gb"),
    _c("form_factor", "text", "classification", _LO, "form_factor", own=True),
    _c("gpu_count", "integer", "classification", _LO, "gpu_count"),
    _c("working", "flag", "classification", _LO, "working"),
    _c("excluded_reason", "text", "classification", _LO, "excluded_reason"),
    _c("classification_note", "text", "classification", _LO, "classification_note", explains=True),
    _c("unit_price_usd", "money", "enrichment", _LO, "unit_price_usd"),
    _c("unit_price_note", "text", "enrichment", _LO, "unit_price_note", explains=True),
    _c("quarantined", "flag", "enrichment", _LO, "quarantined"),
    _c("quarantine_reason", "text", "enrichment", _LO, "quarantine_reason"),
    _c("first_seen_at", "time", "record", _L),
    _c("last_seen_at", "time", "record", _L),
    _c("first_crawl_id", "integer", "record", _L),
    _c("last_crawl_id", "integer", "record", _L),
    _c("extra", "text", "record", _O, "raw.extra", row=False, convert=_json),
)
"""The listing schema, in :func:`~gpuprices.core.listing.listing_row` order."""

BY_NAME: dict[str, Column] = {column.name: column for column in COLUMNS}


def table_columns(table: str, *, until: int | None = None, since: int = 1) -> tuple[Column, ...]:
    """Columns of ``table`` in table order; only those added in schema versions ``since``..``until``."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    chosen = [(column.since, GROUPS.index(column.group), position, column)
              for position, column in enumerate(COLUMNS) if table in column.tables
              and since <= column.since <= (until if until is not None else column.since)]
    return tuple(entry[-1] for entry in sorted(chosen, key=lambda entry: entry[:3]))


def names(columns: tuple[Column, ...] | list[Column]) -> tuple[str, ...]:
    return tuple(column.name for column in columns)


ROW_COLUMNS: tuple[str, ...] = names([column for column in COLUMNS if column.row])
"""Keys of :func:`~gpuprices.core.listing.listing_row`, in order (CSV headers even without rows)."""
SOURCED: tuple[Column, ...] = tuple(column for column in COLUMNS if column.source is not None)
"""Columns whose value a listing carries (the rest the store fills in)."""
FLAG_COLUMNS: frozenset[str] = frozenset(column.name for column in COLUMNS if column.kind == "flag")
"""Stored as 0/1 integers; exports and the API turn them back into booleans."""
INTEGER_COLUMNS: frozenset[str] = frozenset(column.name for column in COLUMNS if column.kind in ("id", "integer"))
OWN_TEXT: frozenset[str] = frozenset(column.name for column in COLUMNS if column.own_text)
RECLASSIFIED: tuple[str, ...] = names([column for column in COLUMNS if column.reclassified])
"""What ``gpuprices reclassify`` rewrites on every observation (and the keys of ``Enricher.assess``)."""
CLASSIFICATION: tuple[str, ...] = names([column for column in COLUMNS if column.group == "classification"])
"""What the classifier decides about a title (``gpuprices classify`` prints these)."""
CLASS_IDENTITY: tuple[str, ...] = names([column for column in COLUMNS
                                          if column.group == "classification" and not column.explains])
"""The classification fields whose change means a listing changed class."""



def row_value(name: str, value: Any) -> Any:
    """A value of column ``name`` as :func:`~gpuprices.core.listing.listing_row` writes it (money and
    dates as exact text)."""
    convert = BY_NAME[name].converter
    return value if convert is None or value is None else convert(value)
