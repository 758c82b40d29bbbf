"""The SKU catalog: the built-in file, user additions, list prices by date, config errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from gpuprices.exceptions import ConfigError
from gpuprices.pipeline.classify import Catalog, ListPrice, Sku, load_catalog

_REQUIRED = (
    "h100-80gb-pcie h100-80gb-sxm5 h100-94gb-nvl h200-141gb-sxm h800-80gb-pcie gh200 a100-40gb-pcie "
    "a100-80gb-pcie a100-40gb-sxm4 a100-80gb-sxm4 a800-80gb-pcie l40s-48gb l40-48gb l4-24gb a40-48gb a30-24gb "
    "a10-24gb t4-16gb v100-16gb-pcie v100-16gb-sxm2 v100-32gb-pcie v100-32gb-sxm2 b200 mi300x-192gb mi250x "
    "rtx-4090 rtx-5090 rtx-a5000"
)
REQUIRED_IDS = _REQUIRED.split()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_required_skus_are_present(catalog: Catalog) -> None:
    missing = [sku_id for sku_id in REQUIRED_IDS if sku_id not in catalog]
    assert not missing
    assert "P100" in catalog.models()


def test_ids_are_unique_and_fields_are_sane(catalog: Catalog) -> None:
    ids = [s.id for s in catalog]
    assert len(ids) == len(set(ids)) == len(catalog)
    for sku in catalog:
        assert sku.model and sku.vendor in ("nvidia", "amd")
        assert sku.memory_gb > 0 and sku.tdp_w
        assert sku.form_factor in ("pcie", "sxm2", "sxm3", "sxm4", "sxm5", "nvl", "oam", "module", "superchip")
        assert all(a == a.lower() for a in sku.aliases)


def test_every_sku_has_a_dated_sourced_list_price(catalog: Catalog) -> None:
    for sku in catalog:
        assert sku.list_prices, sku.id
        for price in sku.list_prices:
            assert isinstance(price.usd, Decimal) and price.usd > 0
            assert price.source.strip()
        dates = [p.date for p in sku.list_prices]
        assert dates == sorted(dates)


def test_h100_pcie_list_price_is_about_36000(catalog: Catalog) -> None:
    price = catalog.list_price("h100-80gb-pcie", date(2024, 1, 1))
    assert price is not None and price.usd == Decimal("36000")


def test_lookups(catalog: Catalog) -> None:
    sku = catalog.get("a100-80gb-sxm4")
    assert isinstance(sku, Sku)
    assert (sku.model, sku.memory_gb, sku.form_factor) == ("A100", 80, "sxm4")
    assert catalog.get("nope") is None
    assert {s.id for s in catalog.skus_of("A100")} == {
        "a100-40gb-pcie", "a100-80gb-pcie", "a100-40gb-sxm4", "a100-80gb-sxm4"
    }
    assert catalog.models().count("A100") == 1
    assert hash(catalog) == hash(catalog)  # usable as a cache key


def test_builtin_file_is_package_data() -> None:
    text = resources.files("gpuprices.pipeline").joinpath("classify/catalog.toml").read_text(encoding="utf-8")
    assert "h100-80gb-pcie" in text


def test_list_price_is_newest_on_or_before_the_day() -> None:
    catalog = load_catalog(
        {
            "list_prices": {
                "h100-80gb-pcie": [
                    {"date": "2026-01-01", "usd": "30000", "source": "my broker"},
                    {"date": date(2025, 1, 1), "usd": 33000, "source": "quote"},
                ]
            }
        }
    )
    first = catalog.list_price("h100-80gb-pcie", date(2023, 4, 14))
    assert first is not None and first.usd == Decimal("36000")
    assert catalog.list_price("h100-80gb-pcie", date(2023, 4, 13)) is None
    assert catalog.list_price("h100-80gb-pcie", date(2025, 6, 1)) == ListPrice(
        date(2025, 1, 1), Decimal("33000"), "quote"
    )
    newest = catalog.list_price("h100-80gb-pcie", date(2030, 1, 1))
    assert newest is not None and (newest.usd, newest.source) == (Decimal("30000"), "my broker")
    assert catalog.list_price("unknown-sku", date(2030, 1, 1)) is None


def test_user_skus_add_and_override() -> None:
    catalog = load_catalog(
        {
            "skus": [
                {
                    "id": "rtx-4080",
                    "model": "RTX 4080",
                    "memory_gb": 16,
                    "form_factor": "pcie",
                    "aliases": ["rtx 4080", "geforce rtx 4080"],
                    "tdp_w": 320,
                    "list_prices": [{"date": "2022-11-16", "usd": "1199", "source": "MSRP"}],
                },
                {"id": "h100-80gb-pcie", "tdp_w": [310, 350], "aliases": ["hopper pcie"]},
            ]
        }
    )
    added = catalog.get("rtx-4080")
    assert added is not None and added.vendor == "nvidia" and added.list_prices[0].usd == Decimal("1199")
    h100 = catalog.get("h100-80gb-pcie")
    assert h100 is not None
    assert h100.tdp_w == (310, 350)
    assert "hopper pcie" in h100.aliases and "h100" in h100.aliases
    assert h100.list_prices  # built-in prices kept
    assert load_catalog().get("h100-80gb-pcie") != h100  # the built-in catalog is not changed


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"skus": [{"id": "x", "model": "X", "memory_gb": "lots", "form_factor": "pcie"}]}, "skus[0].memory_gb"),
        ({"skus": [{"id": "x", "model": "X", "memory_gb": 8, "form_factor": "agp"}]}, "skus[0].form_factor"),
        ({"skus": [{"id": "x", "model": "X", "memory_gb": 8}]}, "skus[0].form_factor"),
        ({"skus": [{"id": "h100-80gb-pcie", "colour": "red"}]}, "skus[0].colour"),
        ({"skus": {"id": "x"}}, "catalog.skus"),
        ({"list_prices": {"nope": [{"date": "2025-01-01", "usd": "1"}]}}, "list_prices.nope"),
        ({"list_prices": {"h100-80gb-pcie": [{"date": "yesterday", "usd": "1"}]}}, "h100-80gb-pcie[0].date"),
        ({"list_prices": {"h100-80gb-pcie": [{"date": "2025-01-01", "usd": "cheap"}]}}, "h100-80gb-pcie[0].usd"),
        ({"list_prices": {"h100-80gb-pcie": [{"date": "2025-01-01", "usd": "-5"}]}}, "h100-80gb-pcie[0].usd"),
        ({"list_prices": {"h100-80gb-pcie": {"date": "2025-01-01"}}}, "list_prices.h100-80gb-pcie"),
        ({"prices": {}}, "catalog.prices"),
    ],
)
def test_invalid_user_data_names_the_key(extra: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_catalog(extra)
    message = str(info.value)
    assert key in message
    assert "\n" not in message


def test_custom_catalog_file(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(
        '[[skus]]\nid = "t4-16gb"\nmodel = "T4"\nmemory_gb = 16\nform_factor = "pcie"\n'
        'aliases = ["tesla t4"]\ntdp_w = 70\n'
        'list_prices = [{ date = 2019-01-01, usd = "2000", source = "test" }]\n',
        encoding="utf-8",
    )
    catalog = load_catalog(path=path)
    assert [s.id for s in catalog] == ["t4-16gb"]
    price = catalog.list_price("t4-16gb", date(2020, 1, 1))
    assert price is not None and price.usd == Decimal("2000")


def test_broken_catalog_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[skus]\nid=", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_catalog(path=path)
    with pytest.raises(ConfigError):
        load_catalog(path=tmp_path / "missing.toml")
