"""Deal context: percentile among the same SKU × side × condition over 30 days, n, lowest in N days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gpuprices.market.deals import DEAL_COLUMNS, deal_book
from gpuprices.storage.sqlite import SqliteStore
from tests.e2e import fast_crawl_config, run_cli, write_config
from tests.market_data import insert_observations

TODAY = date(2026, 3, 31)


def _at(days_back: int) -> str:
    return f"{(TODAY - timedelta(days=days_back)).isoformat()}T12:00:00+00:00"


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    with SqliteStore(tmp_path / "deals.db") as db:
        yield db


def _context(store: SqliteStore, price: str, *, condition: str = "used", sold: bool = False,
             sku: str = "h100-80gb-pcie", day: date = TODAY) -> dict[str, Any]:
    book = deal_book(store, today=TODAY)
    return book.context(sku=sku, sold=sold, condition=condition, unit_price_usd=price, day=day)


def test_mid_rank_percentile_over_one_vote_per_listing(store: SqliteStore) -> None:
    rows = [{"item_id": str(i), "price": price, "observed_at": _at(1)} for i, price in
            enumerate(["100", "200", "300", "400"])]
    # listing 0 seen every day for 20 days: still one vote, with its latest price
    rows += [{"item_id": "0", "price": "100", "observed_at": _at(back)} for back in range(2, 22)]
    insert_observations(store, rows)
    assert _context(store, "100") == {"deal_percentile": 12.5, "deal_n": 4, "deal_lowest_days": 22}
    assert _context(store, "250")["deal_percentile"] == 50.0
    assert _context(store, "50")["deal_percentile"] == 0.0
    assert _context(store, "500")["deal_percentile"] == 100.0


def test_groups_are_kept_apart(store: SqliteStore) -> None:
    insert_observations(store, [
        {"item_id": "n1", "price": "30000", "condition": "new", "observed_at": _at(0)},
        {"item_id": "o1", "price": "29000", "condition": "open_box", "observed_at": _at(0)},
        {"item_id": "u1", "price": "20000", "condition": "used", "observed_at": _at(0)},
        {"item_id": "s1", "price": "18000", "condition": "used", "sold": 1, "ended": 1, "sold_at": TODAY.isoformat(),
         "observed_at": _at(0)},
        {"item_id": "x1", "price": "1000", "condition": "used", "quarantined": 1, "observed_at": _at(0)},
    ])
    assert _context(store, "29500", condition="new")["deal_n"] == 2  # new + open box
    used = _context(store, "19000")
    assert used["deal_n"] == 1 and used["deal_percentile"] == 0.0  # the quarantined $1,000 never counts
    assert _context(store, "18000", sold=True)["deal_n"] == 1
    assert _context(store, "100", condition="for_parts") == dict.fromkeys(DEAL_COLUMNS)
    assert _context(store, "100", sku="l4-24gb") == {**dict.fromkeys(DEAL_COLUMNS), "deal_n": 0}


def test_window_and_lowest_in_days(store: SqliteStore) -> None:
    insert_observations(store, [
        {"item_id": "old", "price": "15000", "observed_at": _at(45)},  # outside the 30-day window
        {"item_id": "mid", "price": "19000", "observed_at": _at(10)},
        {"item_id": "now", "price": "25000", "observed_at": _at(0)},
    ])
    context = _context(store, "20000")
    assert context["deal_n"] == 2  # the 45-day-old listing is not in the percentile
    assert context["deal_lowest_days"] == 10  # 19,000 ten days ago was lower: the lowest in 10 days
    assert _context(store, "26000")["deal_lowest_days"] is None  # 25,000 today is lower: no low at all
    assert _context(store, "18000")["deal_lowest_days"] == 45  # lowest since the 15,000 of 45 days ago
    assert _context(store, "14000")["deal_lowest_days"] == 46  # lower than all history there is
    assert _context(store, "18000", day=TODAY - timedelta(days=20))["deal_n"] == 1  # windows end on the listing's day


def test_export_listings_carries_deal_context(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    with SqliteStore(database) as store:
        today = datetime.now(UTC).date()
        insert_observations(store, [
            {"item_id": "a", "price": "20000", "observed_at": f"{today.isoformat()}T01:00:00+00:00"},
            {"item_id": "b", "price": "30000", "observed_at": f"{today.isoformat()}T01:00:00+00:00"},
        ])
        # listing rows need their unit price and condition (insert_observations writes observations only)
        store.db.execute("UPDATE listings SET unit_price_usd = CASE item_id WHEN 'a' THEN '20000' ELSE '30000' END,"
                         " condition = 'used', sold = 0")
    config = write_config(tmp_path / "c.toml", fast_crawl_config(database))
    result = run_cli("--config", str(config), "export", "listings", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["item_id"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert rows["a"]["deal_percentile"] == 25.0 and rows["a"]["deal_n"] == 2
    assert rows["b"]["deal_percentile"] == 75.0
    csv = run_cli("--config", str(config), "export", "listings", "--format", "csv", cwd=tmp_path)
    assert csv.stdout.splitlines()[0].lstrip("\ufeff").endswith("deal_percentile,deal_n,deal_lowest_days")


def test_new_listing_alerts_carry_the_deal_context(store: SqliteStore) -> None:
    from decimal import Decimal

    from gpuprices.alerts.rules import RuleEvaluator
    from gpuprices.alerts.settings import RuleSettings

    insert_observations(store, [{"item_id": f"m{i}", "price": str(20000 + 1000 * i), "observed_at": _at(3)}
                                for i in range(9)])
    insert_observations(store, [{"item_id": "cheap", "price": "19500", "observed_at": _at(0)}])
    crawl_id = int(store.crawl(2)["id"])  # each insert_observations call is one crawl: the second one
    rule = RuleSettings(name="cheap", kind="new_listing_below", sku="h100-80gb-pcie", unit_price_usd=Decimal(21000))
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 18, tzinfo=UTC)
    firings = list(RuleEvaluator(store, [rule], ["ops"], now).new_listing_rules([crawl_id]))
    payload = next(f.alert.payload for f in firings if f.alert.payload["item_id"] == "cheap")
    assert payload["deal_n"] == 10 and payload["deal_percentile"] == 5.0  # cheapest of ten
    assert payload["deal_lowest_days"] == 4  # the lowest of the four days of history
