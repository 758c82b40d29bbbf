"""The materialized daily index: refreshed incrementally, it equals a from-scratch computation, row by row."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gpuprices.core.items import ListingType, RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.market.index import refresh_index, scratch_index
from gpuprices.storage.index import INDEX_ROW_COLUMNS
from gpuprices.storage.sqlite import SqliteStore
from tests.market_data import insert_observations

START = date(2026, 3, 1)
SKUS = ("h100-80gb-pcie", "a100-80gb-pcie")
ZONES = (UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9)))


def _listing(item: int, day: int, hour: int, zone: int, price: int, kind: str, sale_back: int, seller: int,
             condition: str | None, page: int) -> NormalizedListing:
    when = datetime(START.year, START.month, START.day, tzinfo=ZONES[zone]) + timedelta(days=day, hours=hour)
    sold = kind in ("sold", "undated", "best_offer")
    raw = RawListing(source="ebay", site="ebay.com", item_id=str(item), title=f"NVIDIA GPU {item}",
                     price_value=str(price), currency_raw="USD", listing_type=ListingType.BUY_IT_NOW,
                     seller=f"seller{seller}", observed_at=when, page_url=f"https://ebay.test/page{page}",
                     sold=sold, ended=sold or kind == "ended", best_offer_accepted=kind == "best_offer")
    amount = Decimal(price)
    return NormalizedListing(
        raw=raw, price=amount, currency="USD", currency_raw="USD", price_usd=amount, usd_rate=Decimal(1),
        usd_rate_date=when.date(), usd_rate_method="identity", condition=condition, sku=SKUS[item % 2],
        gpu_count=1, working=True, unit_price_usd=amount,
        sold_at=(when.date() - timedelta(days=sale_back)) if kind in ("sold", "best_offer") else None)


listings = st.tuples(
    st.integers(0, 3),  # item (a small pool: listings are seen again, sell, change seller)
    st.integers(0, 3),  # day
    st.integers(0, 23),  # hour
    st.integers(0, len(ZONES) - 1),
    st.integers(1000, 1100),
    st.sampled_from(["asking", "asking", "sold", "undated", "undated", "ended", "best_offer"]),
    st.integers(0, 2),  # a sale dated up to 2 days before the sighting: a late fact for a closed day
    st.integers(0, 2),  # seller
    st.sampled_from(["used", "used", "new", None, "for_parts"]),
    st.integers(0, 1),  # page
)
operations = st.one_of(
    st.tuples(st.just("crawl"), st.lists(listings, min_size=1, max_size=6)),
    st.tuples(st.just("reparse"), st.integers(0, 10), st.integers(0, 1), st.lists(listings, max_size=4)),
    st.tuples(st.just("quarantine"), st.integers(0, 200), st.booleans()),
    st.tuples(st.just("reclassify"), st.integers(0, 200),
              st.sampled_from([{"working": 0}, {"working": 1}, {"sku": SKUS[0]}, {"sku": SKUS[1]},
                               {"excluded_reason": "accessory"}, {"excluded_reason": None},
                               {"condition": "for_parts"}, {"condition": "new"}])),
    st.tuples(st.just("refresh")),
    st.tuples(st.just("refresh")),
)


def _stored(store: SqliteStore) -> pd.DataFrame:
    rows = store.read_index(START - timedelta(days=30), START + timedelta(days=30))
    return _sorted(pd.DataFrame.from_records(rows, columns=list(INDEX_ROW_COLUMNS)))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"day": str})
    return frame.sort_values(["day", "sku", "side", "condition_group"], ignore_index=True)


def _assert_exact(store: SqliteStore) -> None:
    refresh_index(store)
    assert store.dirty_index_days() == []
    incremental = _stored(store)
    scratch = _sorted(scratch_index(store, START - timedelta(days=30), START + timedelta(days=30))
                      .assign(day=lambda f: f["day"].dt.date.astype(str)))
    assert incremental.to_dict("records") == scratch.to_dict("records"), f"{incremental}\n!=\n{scratch}"


def _apply(store: SqliteStore, operation: tuple[Any, ...], crawls: list[int]) -> None:
    kind = operation[0]
    observations = [row[0] for row in store.db.execute("SELECT id, listing_id FROM observations ORDER BY id")]
    if kind == "crawl":
        crawls.append(store.start_crawl("ebay"))
        store.save_listings(crawls[-1], [_listing(*spec) for spec in operation[1]])
    elif kind == "reparse" and crawls:
        _, crawl, page, specs = operation
        store.save_listings(crawls[crawl % len(crawls)], [_listing(*spec) for spec in specs],
                            replace_page=f"https://ebay.test/page{page}")
    elif kind == "quarantine" and observations:
        obs_id = observations[operation[1] % len(observations)]
        listing_id = store.db.execute("SELECT listing_id FROM observations WHERE id = ?", [obs_id]).fetchone()[0]
        store.set_quarantine(obs_id, listing_id, "price outlier" if operation[2] else None)
    elif kind == "reclassify" and observations:
        store.update_observation_classes([(observations[operation[1] % len(observations)], operation[2])])
        store.sync_listing_classes()
    elif kind == "refresh":
        _assert_exact(store)


def _seen(item: int, day: int, kind: str = "asking", *, seller: int = 0, back: int = 0, page: int = 0) -> Any:
    return (item, day, 12, 0, 1000 + 10 * item + day, kind, back, seller, "used", page)


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly migrated, empty database."""
    path = tmp_path_factory.mktemp("index") / "empty.db"
    with SqliteStore(path):
        pass
    return path


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, min_size=1, max_size=16))
# The late facts that reach back into closed days, each at least once:
@example([("crawl", [_seen(1, 0, "undated")]), ("refresh",), ("crawl", [_seen(1, 3, "sold", back=1)])])
@example([("crawl", [_seen(1, 0, seller=0), _seen(3, 0, seller=1)]), ("refresh",),
          ("crawl", [_seen(3, 2, seller=0)])])
@example([("crawl", [_seen(1, 0, "undated")]), ("crawl", [_seen(1, 2, "sold", back=1)]), ("refresh",),
          ("quarantine", 1, True)])
@example([("crawl", [_seen(1, 0, page=1)]), ("refresh",), ("reparse", 0, 1, [_seen(3, 1, page=1)])])
@example([("crawl", [_seen(0, 0), _seen(2, 0, "sold")]), ("refresh",), ("reclassify", 1, {"sku": SKUS[1]}),
          ("refresh",), ("reclassify", 0, {"working": 0})])
def test_incremental_index_equals_from_scratch(empty_database: Path, sequence: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "index.db"
        shutil.copyfile(empty_database, database)  # migrated once: each example starts from a copy
        with SqliteStore(database) as store:
            crawls: list[int] = []
            for operation in sequence:
                _apply(store, operation, crawls)
            _assert_exact(store)


def test_closed_days_are_not_recomputed_and_late_sales_reopen_them(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "index.db") as store:
        insert_observations(store, [{"item_id": str(i), "price": str(20000 + i), "seller": f"s{i}",
                                     "observed_at": f"2026-03-0{d}T12:00:00+00:00"} for i in range(3)
                                    for d in (1, 2, 3)])
        assert refresh_index(store) == 3
        assert refresh_index(store) == 0  # nothing written: nothing recomputed
        crawl = store.start_crawl("ebay")
        store.save_listings(crawl, [_listing(9, 4, 12, 0, 1050, "asking", 0, 0, "used", 0)])
        assert [day for day, _ in store.dirty_index_days()] == [date(2026, 3, 5)]  # today only
        assert refresh_index(store) == 1
        # seen sold on the 5th, sold on the 2nd: the closed day 2 is recomputed, and only it
        store.save_listings(crawl, [_listing(9, 4, 13, 0, 1050, "sold", 3, 0, "used", 0)])
        assert [day for day, _ in store.dirty_index_days()] == [date(2026, 3, 2), date(2026, 3, 5)]
        refresh_index(store)
        sold = [row for row in store.read_index(date(2026, 3, 2), date(2026, 3, 2)) if row[2] == "sold"]
        assert [(row[0], row[1], row[3], row[4], row[6]) for row in sold] == [
            ("2026-03-02", "a100-80gb-pcie", "all", 1, 1050.0), ("2026-03-02", "a100-80gb-pcie", "used", 1, 1050.0)]


def test_a_day_marked_again_during_a_refresh_stays_dirty(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "index.db") as store:
        insert_observations(store, [{"item_id": "a", "observed_at": "2026-03-01T12:00:00+00:00"}])
        stale = store.dirty_index_days()
        store.mark_index_dirty([date(2026, 3, 1)])  # a crawl wrote meanwhile
        store.put_index_days(stale, [])
        assert [day for day, _ in store.dirty_index_days()] == [date(2026, 3, 1)]
