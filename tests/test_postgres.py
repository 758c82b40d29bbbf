"""PostgreSQL against a real server: the same index, premium, breakeven and exports as SQLite; db copy
both ways (resumable, verified); two deliverers sending each alert once; one scheduler per database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gpuprices.alerts.outbox import Alert, Outbox
from gpuprices.alerts.settings import AlertsSettings, ChannelSettings
from gpuprices.daemon import DaemonLockedError, DatabaseLock
from gpuprices.market.breakeven import breakeven_table
from gpuprices.market.index import compute_index, index_rows, utc_today
from gpuprices.market.premium import premium_table
from gpuprices.pipeline.classify.catalog import load_catalog
from gpuprices.storage.copy import copy_store
from gpuprices.storage.exports import EXPORT_TABLES
from gpuprices.storage.factory import open_store
from gpuprices.storage.pg_schema import MIGRATIONS as PG_MIGRATIONS
from gpuprices.storage.pg_schema import TABLES
from gpuprices.storage.schema import MIGRATIONS as SQLITE_MIGRATIONS
from tests.market_data import insert_observations, synthetic_market
from tests.test_rental import SETTINGS, _listing, _offer
from tests.webhook_receiver import WebhookReceiver


def _cli() -> Any:
    from gpuprices.cli import cli

    return cli


_NOW = datetime.now(UTC)
_LISTINGS = [
    *(_listing(f"h{p}", "h100-80gb-sxm5", p) for p in ("30000", "32000", "34000")),
    *(_listing(f"as{p}", "a100-80gb-sxm4", p, sold=True) for p in ("10000", "11000", "12000", "13000", "14000")),
]
_OFFERS = [_offer("vast", "2.305", at=_NOW, spot="0.20"), _offer("vast", "1.735", at=_NOW, sku="a100-80gb-sxm4")]


def _fill(store: Any, rows: list[dict[str, Any]]) -> None:
    insert_observations(store, rows)
    store.save_listings(store.start_crawl("ebay-api"), _LISTINGS)
    store.save_rentals(store.start_crawl("rental"), _OFFERS)


def _market_rows() -> list[dict[str, Any]]:
    today = utc_today()
    rows = list(synthetic_market(start=today - timedelta(days=29), days=30, listings_per_day=40,
                                 sightings_per_day=3))
    day = f"{(today - timedelta(days=3)).isoformat()}T10:00:00+00:00"
    later = f"{(today - timedelta(days=1)).isoformat()}T10:00:00+00:00"
    rows += [  # an undated sale seen twice (counts once, on the first day), one a later sighting dates
        {"item_id": "undated", "price": "21000", "sold": 1, "ended": 1, "observed_at": day},
        {"item_id": "undated", "price": "21000", "sold": 1, "ended": 1, "observed_at": later},
        {"item_id": "dated-later", "price": "22000", "sold": 1, "ended": 1, "observed_at": day},
        {"item_id": "dated-later", "price": "22000", "sold": 1, "ended": 1, "observed_at": later,
         "sold_at": (today - timedelta(days=2)).isoformat()},
    ]
    return rows


def test_both_backends_give_the_same_index_premium_breakeven_and_exports(tmp_path: Path, postgres: Any) -> None:
    catalog = load_catalog()
    rows = _market_rows()
    lite, pg = open_store(tmp_path / "a.db"), open_store(postgres.new_database())
    for store in (lite, pg):
        _fill(store, rows)
    today = utc_today()
    indexes = [compute_index(s, catalog, days=30, min_samples=5) for s in (lite, pg)]
    assert len(indexes[0]) > 100 and len(indexes[0]) == len(indexes[1])
    for column in ("day", "sku", "side", "condition_group", "n", "sellers", "indicative", "list_price_usd"):
        assert indexes[0][column].tolist() == indexes[1][column].tolist(), column
    for column in ("median_usd", "p25_usd", "p75_usd", "iqr_usd", "min_usd", "premium"):
        assert indexes[1][column].to_numpy() == pytest.approx(indexes[0][column].to_numpy(), rel=1e-12, nan_ok=True)
    assert premium_table(indexes[0], today=today) == premium_table(indexes[1], today=today)
    exported = [list(index_rows(s, catalog, since=None, days=30, min_samples=5)) for s in (lite, pg)]
    assert exported[0] == exported[1]
    assert breakeven_table(lite, catalog, SETTINGS) == breakeven_table(pg, catalog, SETTINGS) != []
    for table in EXPORT_TABLES:
        mine, theirs = list(lite.export_rows(table)), list(pg.export_rows(table))
        assert len(mine) == len(theirs) > 0
        for a, b in zip(mine, theirs, strict=True):
            if table == "crawls":  # start and finish times are each store's own clock
                a, b = ({k: v for k, v in r.items() if not k.endswith("_at")} for r in (a, b))
            assert a == b, table
    lite.close()
    pg.close()


def _counts(store: Any) -> dict[str, int]:
    return {t: int(store.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in TABLES}


def test_db_copy_sqlite_to_postgres_and_back_resumes_and_verifies(tmp_path: Path, postgres: Any) -> None:
    source = tmp_path / "source.db"
    with open_store(source) as lite:
        _fill(lite, _market_rows()[:3000])
        lite.add_watch("ebay-item", "123")
        lite.add_api_calls("ebay-api", 7)
        lite.archive_page(crawl_id=1, source="ebay", url="https://www.ebay.com/sch", status=200, body=b"<html>")
        expected = _counts(lite)
        listings = list(lite.export_rows("observations"))
    url = postgres.new_database()

    class Interrupted(Exception):
        pass

    def stop_after_two_batches(table: str, copied: int) -> None:
        if table == "observations" and copied >= 1000:
            raise Interrupted

    with open_store(source) as lite, open_store(url) as pg, pytest.raises(Interrupted):
        copy_store(lite, pg, batch=500, progress=stop_after_two_batches)
    with open_store(url) as pg:
        assert _counts(pg)["observations"] == 1000  # two whole batches, committed
    result = CliRunner().invoke(_cli(), ["db", "copy", str(source), url, "--batch", "700"])
    assert result.exit_code == 0, result.output
    total = expected["observations"]
    assert f"observations: {total - 1000} copied, {total} in source, {total} in destination — ok" in result.output
    with open_store(url) as pg:
        assert _counts(pg) == expected
        assert list(pg.export_rows("observations")) == listings
        new_crawl = pg.start_crawl("ebay")  # the id sequence moved past the copied ids
        assert new_crawl == expected["crawls"] + 1
    back = tmp_path / "back.db"
    result = CliRunner().invoke(_cli(), ["db", "copy", url, str(back)])
    assert result.exit_code == 0, result.output
    with open_store(back) as again:
        counts = _counts(again)
        assert counts == {**expected, "crawls": expected["crawls"] + 1}
        assert list(again.export_rows("observations")) == listings
        assert again.watches("ebay-item") == ["123"] and again.api_calls_today("ebay-api") == 7
        assert [p.body for p in again.archived_pages()] == [b"<html>"]


def test_db_copy_reports_a_mismatch_and_migrate_reports_the_version(tmp_path: Path, postgres: Any) -> None:
    url = postgres.new_database()
    result = CliRunner().invoke(_cli(), ["db", "migrate", url])
    assert result.exit_code == 0
    assert result.output.strip() == f"schema version {len(PG_MIGRATIONS)} (already current)"
    result = CliRunner().invoke(_cli(), ["db", "migrate", str(tmp_path / "new.db")])
    assert result.exit_code == 0 and result.output.strip() == f"schema version {len(SQLITE_MIGRATIONS)} (was 0)"
    with open_store(tmp_path / "new.db") as lite:
        lite.start_crawl("ebay")
    with open_store(url) as pg:
        pg.start_crawl("ebay")
        pg.start_crawl("ebay")  # ids 1 and 2: id 1 is skipped as already copied, counts then differ
    from gpuprices.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["db", "copy", str(tmp_path / "new.db"), url])
    assert exited.value.code == 1


def test_two_deliverers_on_one_database_send_each_alert_once(postgres: Any) -> None:
    url = postgres.new_database()
    with WebhookReceiver() as rx:
        settings = AlertsSettings(channels=[ChannelSettings(name="ops", kind="webhook", url=rx.url)])
        outboxes = [Outbox(open_store(url), settings) for _ in range(2)]
        for n in range(40):
            outboxes[0].enqueue(Alert(rule="r", kind="new_listing_below", key=f"k{n}", dedupe_key=f"d{n}",
                                      title=f"alert {n}", payload={}), ["ops"])
        barrier = threading.Barrier(2)
        reports: list[Any] = []

        def deliver(outbox: Outbox) -> None:
            barrier.wait()
            reports.append(outbox.deliver_due())

        threads = [threading.Thread(target=deliver, args=(o,)) for o in outboxes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sum(r.delivered for r in reports) == 40
        assert len(rx.accepted) == 40 and all(len(bodies) == 1 for bodies in rx.accepted.values())
        assert len(rx.attempts) == 40
        assert outboxes[1].summary() == {"pending": 0, "delivered": 40, "dead": 0}
        for outbox in outboxes:
            outbox.store.close()


def test_one_scheduler_per_postgres_database(postgres: Any) -> None:
    url = postgres.new_database()
    with DatabaseLock(url):
        with pytest.raises(DaemonLockedError, match=r"another gpuprices scheduler is already running for 127\.0\.0\.1"):
            DatabaseLock(url).acquire()
        with DatabaseLock(postgres.new_database()):  # another database has its own scheduler
            pass
    with DatabaseLock(url):  # released with its connection
        pass


def test_both_schemas_end_with_the_same_tables_and_columns(tmp_path: Path, postgres: Any) -> None:
    with open_store(tmp_path / "lite.db") as lite, open_store(postgres.new_database()) as pg:
        for table in TABLES:
            assert set(lite.column_kinds(table)) == set(pg.column_kinds(table)), table
        assert set(lite.column_kinds("crawls")) >= {"kind", "pid", "queries"}
