"""Tests for pipeline.dates: sold/ended captions in English, German and Japanese."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gpuprices.pipeline.dates import parse_sold_date

OBSERVED = datetime(2026, 1, 20, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sold  Oct 27, 2025", date(2025, 10, 27)),
        ("Sold Oct 27, 2025", date(2025, 10, 27)),
        ("Ended  Oct 27, 2025", date(2025, 10, 27)),
        ("Sold  Sep 24, 2025", date(2025, 9, 24)),
        ("Sold Sept 3, 2025", date(2025, 9, 3)),
        ("販売済み  Jan 9, 2026", date(2026, 1, 9)),
        ("Verkauft  27. Okt 2025", date(2025, 10, 27)),
        ("Verkauft 27. Okt. 2025", date(2025, 10, 27)),
        ("Beendet 3. Jan 2026", date(2026, 1, 3)),
        ("Verkauft 1. Mär 2025", date(2025, 3, 1)),
        ("Verkauft 1. März 2025", date(2025, 3, 1)),
        ("Verkauft 5. Mai 2025", date(2025, 5, 5)),
        ("Verkauft 24. Dez. 2025", date(2025, 12, 24)),
        ("Sold 27 Oct 2025", date(2025, 10, 27)),
        ("2026年1月9日", date(2026, 1, 9)),
        ("販売済み 2026年1月9日", date(2026, 1, 9)),
        ("Verkauft 27.10.2025", date(2025, 10, 27)),
        ("2025-10-27", date(2025, 10, 27)),
        ("Sold\u00a0Oct\u00a027,\u00a02025", date(2025, 10, 27)),
    ],
)
def test_absolute_dates(text: str, expected: date) -> None:
    assert parse_sold_date(text) == expected
    assert parse_sold_date(text, observed_at=OBSERVED) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sold  Today", date(2026, 1, 20)),
        ("Verkauft heute", date(2026, 1, 20)),
        ("Sold Yesterday", date(2026, 1, 19)),
        ("Verkauft gestern", date(2026, 1, 19)),
        ("Sold 3 days ago", date(2026, 1, 17)),
        ("Sold 3d ago", date(2026, 1, 17)),
        ("Sold 1 week ago", date(2026, 1, 13)),
        ("Verkauft vor 2 Tagen", date(2026, 1, 18)),
        ("2日前", date(2026, 1, 18)),
        ("Sold 16 hours ago", date(2026, 1, 19)),
        ("Sold 5 mins ago", date(2026, 1, 20)),
        ("Sold Jan 5", date(2026, 1, 5)),  # no year: the last Jan 5 before the observation
        ("Sold Dec 28", date(2025, 12, 28)),
        ("Verkauft 28. Dez", date(2025, 12, 28)),
    ],
)
def test_relative_and_yearless_need_observed_at(text: str, expected: date) -> None:
    assert parse_sold_date(text, observed_at=OBSERVED) == expected
    assert parse_sold_date(text) is None


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "Sold", "NEW LOW PRICE", "Sold Feb 30, 2025", "Sold 31. Foo 2025", "Sold 3 bids"],
)
def test_unparseable_is_none(text: str | None) -> None:
    assert parse_sold_date(text, observed_at=OBSERVED) is None


def test_date_after_observation_is_rejected() -> None:
    assert parse_sold_date("Sold Oct 27, 2027", observed_at=OBSERVED) is None
    # One day of slack: the site's time zone can be ahead of the observer's.
    assert parse_sold_date("Sold Jan 21, 2026", observed_at=OBSERVED) == date(2026, 1, 21)
