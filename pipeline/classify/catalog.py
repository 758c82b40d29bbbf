"""The GPU SKU catalog: built-in ``catalog.toml`` plus the user's additions, and list prices by date."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import attrs

from gpuprices.exceptions import ConfigError

__all__ = ["FORM_FACTORS", "Catalog", "ListPrice", "Sku", "load_catalog"]

# A package resource, not a file path: the package may run from a zipped egg (Scrapyd workers).
BUILTIN_PATH: Path | Traversable = files(__package__ or "gpuprices.pipeline.classify") / "catalog.toml"
FORM_FACTORS = frozenset({"pcie", "sxm2", "sxm3", "sxm4", "sxm5", "sxm6", "nvl", "oam", "module", "superchip"})
_SKU_KEYS = frozenset(
    {"id", "model", "vendor", "memory_gb", "form_factor", "aliases", "part_numbers", "tdp_w", "list_prices",
     "source", "classification_note"}
)
_REQUIRED_NEW = ("model", "memory_gb", "form_factor")


@attrs.frozen
class ListPrice:
    """A dated list (launch / reference) price of one SKU."""

    date: date
    """Day the price applies from."""
    usd: Decimal
    """Price in US dollars."""
    source: str
    """Where the figure comes from; "approx." marks press estimates."""


@attrs.frozen
class Sku:
    """One product: a model in one memory size and form factor."""

    id: str
    """Canonical id, e.g. ``h100-80gb-pcie``."""
    model: str
    """Display name as in the labels: ``H100``, ``RTX 4090``, ``MI300X``."""
    vendor: str
    """``nvidia`` or ``amd``."""
    memory_gb: int
    """GPU memory in GB."""
    form_factor: str
    """``pcie``, ``sxm2``…``sxm5``, ``nvl``, ``oam``, ``module`` or ``superchip``."""
    aliases: tuple[str, ...] = ()
    """Plain spellings of the model (lowercase), matched loosely by the classifier."""
    part_numbers: tuple[str, ...] = ()
    """Board/OEM part numbers or prefixes (uppercase) that identify this SKU's form factor."""
    tdp_w: tuple[int, ...] = ()
    """Board power options in W."""
    list_prices: tuple[ListPrice, ...] = ()
    """Dated list prices, oldest first."""
    source: str = ""
    """Where memory, form factor, TDP and part numbers come from (datasheet, OEM parts list)."""
    classification_note: str = ""
    """Why a title that leaves something out still settles on this SKU (e.g. the only PCIe board)."""


@attrs.frozen(eq=False)
class Catalog:
    """An immutable set of SKUs, indexed by id and by model."""

    skus: tuple[Sku, ...]
    """All SKUs in file order (user additions last)."""
    _by_id: dict[str, Sku] = attrs.field(init=False, repr=False)
    _by_model: dict[str, tuple[Sku, ...]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        by_model: dict[str, list[Sku]] = {}
        for sku in self.skus:
            by_model.setdefault(sku.model, []).append(sku)
        object.__setattr__(self, "_by_id", {sku.id: sku for sku in self.skus})
        object.__setattr__(self, "_by_model", {m: tuple(v) for m, v in by_model.items()})

    def __iter__(self) -> Iterator[Sku]:
        return iter(self.skus)

    def __len__(self) -> int:
        return len(self.skus)

    def __contains__(self, sku_id: object) -> bool:
        return sku_id in self._by_id

    def get(self, sku_id: str) -> Sku | None:
        """The SKU with this id, or ``None``."""
        return self._by_id.get(sku_id)

    def closest(self, text: str, count: int = 3) -> list[str]:
        """The ids most like ``text`` (an unknown SKU someone typed): ids containing it first, then
        the nearest spellings."""
        import difflib

        key = text.strip().lower()
        containing = [sku_id for sku_id in self._by_id if key and key in sku_id]
        near = difflib.get_close_matches(key, list(self._by_id), n=count, cutoff=0.4)
        return list(dict.fromkeys([*containing, *near]))[:count]

    def unknown(self, text: str) -> str:
        """One line for an unknown SKU id, naming the closest ones."""
        closest = self.closest(text)
        hint = f"closest: {', '.join(closest)}" if closest else "see `gpuprices skus`"
        return f"unknown SKU {text!r}; {hint}"

    def models(self) -> list[str]:
        """Model names in catalog order, each once."""
        return list(self._by_model)

    def skus_of(self, model: str) -> tuple[Sku, ...]:
        """The SKUs of one model (empty when unknown)."""
        return self._by_model.get(model, ())

    def list_price(self, sku_id: str, on: date) -> ListPrice | None:
        """The newest list price dated on or before ``on``; ``None`` for unknown SKUs or earlier days."""
        sku = self._by_id.get(sku_id)
        if sku is None:
            return None
        best: ListPrice | None = None
        for price in sku.list_prices:
            if price.date <= on and (best is None or price.date >= best.date):
                best = price
        return best


def load_catalog(extra: Mapping[str, Any] | None = None, path: Path | None = None) -> Catalog:
    """Load the built-in catalog (or ``path``) and apply the user's ``extra`` additions.

    ``extra`` looks like ``{"skus": [{...}], "list_prices": {"h100-80gb-pcie": [{"date": ...,
    "usd": "30000", "source": "my broker"}]}}``. A ``skus`` entry with a known id overrides the
    fields it gives (its list prices are added); one with a new id adds a SKU. Invalid data raises
    :class:`ConfigError` naming the key.
    """
    file: Path | Traversable = path or BUILTIN_PATH
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"catalog file {file}: {_one_line(exc)}") from None
    entries = data.get("skus")
    if not isinstance(entries, list):
        raise ConfigError(f"catalog file {file}: 'skus' must be an array of tables")
    skus: dict[str, Sku] = {}
    for i, entry in enumerate(entries):
        sku = _new_sku(entry, f"{file.name}: skus[{i}]")
        if sku.id in skus:
            raise ConfigError(f"{file.name}: skus[{i}].id: duplicate id {sku.id!r}")
        skus[sku.id] = sku
    if extra:
        _apply_extra(skus, extra)
    return Catalog(tuple(skus.values()))


def _apply_extra(skus: dict[str, Sku], extra: Mapping[str, Any]) -> None:
    if not isinstance(extra, Mapping):
        raise ConfigError("catalog: must be a table with 'skus' and/or 'list_prices'")
    unknown = set(extra) - {"skus", "list_prices"}
    if unknown:
        raise ConfigError(f"catalog.{sorted(unknown)[0]}: unknown key (expected 'skus' or 'list_prices')")
    entries = extra.get("skus", [])
    if not isinstance(entries, list):
        raise ConfigError("catalog.skus: must be a list of tables")
    for i, entry in enumerate(entries):
        where = f"catalog.skus[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a table")
        sku_id = entry.get("id")
        if isinstance(sku_id, str) and sku_id.strip().lower() in skus:
            old = skus[sku_id.strip().lower()]
            skus[old.id] = _override(old, entry, where)
        else:
            sku = _new_sku(entry, where)
            skus[sku.id] = sku
    prices = extra.get("list_prices", {})
    if not isinstance(prices, Mapping):
        raise ConfigError("catalog.list_prices: must be a table of SKU id -> list of prices")
    for sku_id, items in prices.items():
        where = f"catalog.list_prices.{sku_id}"
        key = str(sku_id).strip().lower()
        if key not in skus:
            raise ConfigError(f"{where}: unknown SKU id")
        added = _prices(items, where)
        skus[key] = attrs.evolve(skus[key], list_prices=_merge_prices(skus[key].list_prices, added))


def _new_sku(entry: Any, where: str) -> Sku:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be a table")
    _check_keys(entry, where)
    for key in ("id", *_REQUIRED_NEW):
        if key not in entry:
            raise ConfigError(f"{where}.{key}: required for a new SKU")
    return Sku(
        id=_ident(entry["id"], f"{where}.id"),
        model=_text(entry["model"], f"{where}.model"),
        vendor=_text(entry.get("vendor", "nvidia"), f"{where}.vendor").lower(),
        memory_gb=_positive_int(entry["memory_gb"], f"{where}.memory_gb"),
        form_factor=_form_factor(entry["form_factor"], f"{where}.form_factor"),
        aliases=_aliases(entry.get("aliases", []), f"{where}.aliases"),
        part_numbers=_part_numbers(entry.get("part_numbers", []), f"{where}.part_numbers"),
        tdp_w=_tdp(entry.get("tdp_w"), f"{where}.tdp_w"),
        list_prices=_merge_prices((), _prices(entry.get("list_prices", []), f"{where}.list_prices")),
        source=_optional_text(entry.get("source"), f"{where}.source"),
        classification_note=_optional_text(entry.get("classification_note"), f"{where}.classification_note"),
    )


def _override(old: Sku, entry: Mapping[str, Any], where: str) -> Sku:
    _check_keys(entry, where)
    changes: dict[str, Any] = {}
    if "model" in entry:
        changes["model"] = _text(entry["model"], f"{where}.model")
    if "vendor" in entry:
        changes["vendor"] = _text(entry["vendor"], f"{where}.vendor").lower()
    if "memory_gb" in entry:
        changes["memory_gb"] = _positive_int(entry["memory_gb"], f"{where}.memory_gb")
    if "form_factor" in entry:
        changes["form_factor"] = _form_factor(entry["form_factor"], f"{where}.form_factor")
    if "aliases" in entry:  # user aliases are added to the built-in ones
        changes["aliases"] = _unique(old.aliases + _aliases(entry["aliases"], f"{where}.aliases"))
    if "part_numbers" in entry:
        added = _part_numbers(entry["part_numbers"], f"{where}.part_numbers")
        changes["part_numbers"] = _unique(old.part_numbers + added)
    if "tdp_w" in entry:
        changes["tdp_w"] = _tdp(entry["tdp_w"], f"{where}.tdp_w")
    if "list_prices" in entry:
        added_prices = _prices(entry["list_prices"], f"{where}.list_prices")
        changes["list_prices"] = _merge_prices(old.list_prices, added_prices)
    for key in ("source", "classification_note"):
        if key in entry:
            changes[key] = _optional_text(entry[key], f"{where}.{key}")
    return attrs.evolve(old, **changes)


def _check_keys(entry: Mapping[str, Any], where: str) -> None:
    for key in entry:
        if key not in _SKU_KEYS:
            raise ConfigError(f"{where}.{key}: unknown key")


def _ident(value: Any, where: str) -> str:
    text = _text(value, where).lower()
    if any(ch.isspace() for ch in text):
        raise ConfigError(f"{where}: must not contain spaces, got {value!r}")
    return text


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: must be a non-empty string, got {value!r}")
    return value.strip()


def _optional_text(value: Any, where: str) -> str:
    return "" if value is None else _text(value, where)


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: must be a positive integer, got {value!r}")
    return value


def _form_factor(value: Any, where: str) -> str:
    text = _text(value, where).lower()
    if text not in FORM_FACTORS:
        raise ConfigError(f"{where}: must be one of {', '.join(sorted(FORM_FACTORS))}, got {value!r}")
    return text


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: must be a list of non-empty strings")
    return [v.strip() for v in value]


def _aliases(value: Any, where: str) -> tuple[str, ...]:
    return _unique(tuple(" ".join(v.lower().split()) for v in _str_list(value, where)))


def _part_numbers(value: Any, where: str) -> tuple[str, ...]:
    return _unique(tuple(v.upper() for v in _str_list(value, where)))


def _tdp(value: Any, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    return tuple(_positive_int(v, where) for v in values)


def _prices(value: Any, where: str) -> tuple[ListPrice, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of {{date, usd, source}} tables")
    out = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{here}: must be a table with date, usd and source")
        for key in item:
            if key not in ("date", "usd", "source"):
                raise ConfigError(f"{here}.{key}: unknown key")
        if "date" not in item or "usd" not in item:
            raise ConfigError(f"{here}: needs 'date' and 'usd'")
        out.append(
            ListPrice(
                date=_date(item["date"], f"{here}.date"),
                usd=_usd(item["usd"], f"{here}.usd"),
                source=_text(item.get("source", "user configuration"), f"{here}.source"),
            )
        )
    return tuple(out)


def _date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: must be a date YYYY-MM-DD, got {value!r}")


def _usd(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ConfigError(f"{where}: must be a decimal string like \"30000\", got {value!r}")
    try:
        amount = Decimal(str(value).strip().replace(",", "").lstrip("$"))
    except InvalidOperation:
        raise ConfigError(f"{where}: must be a decimal string like \"30000\", got {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ConfigError(f"{where}: must be a positive amount, got {value!r}")
    return amount


def _merge_prices(old: tuple[ListPrice, ...], added: tuple[ListPrice, ...]) -> tuple[ListPrice, ...]:
    """Later entries replace earlier ones of the same date; result sorted by date."""
    by_date = {p.date: p for p in old}
    by_date.update({p.date: p for p in added})
    return tuple(sorted(by_date.values(), key=lambda p: p.date))


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
