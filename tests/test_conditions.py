"""Tests for pipeline.conditions: eBay condition ids and en/de/fr/ja condition texts."""

from __future__ import annotations

import pytest

from gpuprices.pipeline.conditions import CONDITIONS, normalize_condition


@pytest.mark.parametrize(
    ("condition_id", "expected"),
    [
        (1000, "new"),
        ("1500", "open_box"),
        (1750, "open_box"),
        (2000, "refurbished"),
        (2010, "refurbished"),
        (2020, "refurbished"),
        (2030, "refurbished"),
        ("2500", "refurbished"),
        (2750, "used"),
        (3000, "used"),
        (4000, "used"),
        (5000, "used"),
        (6000, "used"),
        (" 7000 ", "for_parts"),
    ],
)
def test_ebay_condition_ids(condition_id: str | int, expected: str) -> None:
    assert normalize_condition(None, condition_id) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Brand New", "new"),
        ("Brand new", "new"),
        ("New", "new"),
        ("New (Other)", "open_box"),
        ("Open box", "open_box"),
        ("Open Box · Lenovo · 1 TB", "open_box"),
        ("Pre-Owned", "used"),
        ("Pre-owned", "used"),
        ("Used", "used"),
        ("Like New", "used"),
        ("Good - Refurbished", "refurbished"),
        ("Very Good - Refurbished", "refurbished"),
        ("Excellent - Refurbished · Lenovo · 512 GB", "refurbished"),
        ("Certified - Refurbished", "refurbished"),
        ("Seller refurbished", "refurbished"),
        ("For parts or not working", "for_parts"),
        ("Parts Only", "for_parts"),
        ("Neu", "new"),
        ("Neu: Sonstige (siehe Artikelbeschreibung)", "open_box"),
        ("Gebraucht", "used"),
        ("Generalüberholt", "refurbished"),
        ("Als Ersatzteil / defekt", "for_parts"),
        ("Neuwertig", "used"),
        ("Neuf", "new"),
        ("Occasion", "used"),
        ("Pour pièces", "for_parts"),
        ("真新しい新品", "new"),
        ("新品", "new"),
        ("新品 (その他)", "open_box"),
        ("中古", "used"),
        ("新品・未使用", "new"),
        ("未使用に近い", "used"),
        ("ジャンク", "for_parts"),
        ("部品取り", "for_parts"),
        # Seller noise after the separator.
        ("Good - Refurbished · HP", "refurbished"),
        ("Neu | Gewerblich", "new"),
        ("Brand New · Size US M 11 + more", "new"),
        ("  brand   NEW  ", "new"),
    ],
)
def test_condition_texts(raw: str, expected: str) -> None:
    assert normalize_condition(raw) == expected
    assert expected in CONDITIONS


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "Genuine Windows 11 OS! Great Condition! Fast Shipping!",
        "Shop With Confidence, Buy From Newegg",
        "✅Free Office 365 ✅8GB|12GB|20GB RAM",
        "Gewerblich",
    ],
)
def test_unknown_text_is_none(raw: str | None) -> None:
    assert normalize_condition(raw) is None


def test_id_wins_over_text() -> None:
    assert normalize_condition("Used", 1000) == "new"
    assert normalize_condition("Brand New", "7000") == "for_parts"


@pytest.mark.parametrize("condition_id", ["abc", 9999, "", True])
def test_unknown_id_falls_back_to_text(condition_id: str | int) -> None:
    assert normalize_condition("Pre-Owned", condition_id) == "used"
    assert normalize_condition(None, condition_id) is None
