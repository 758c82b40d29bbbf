"""The raw page archive: every fetched page kept, history repaired by re-parsing, crawls replayed offline."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path

import pytest

from gpuprices.storage.archive import page_body
from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.httpserver import LocalServer, Reply


@pytest.fixture
def crawled(tmp_path: Path, corpus: Path):  # type: ignore[no-untyped-def]
    """A database after one search crawl (active + sold page) against a local server."""
    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        server.route(lambda p, q: "LH_Sold" in q, Reply(
            (corpus / "ebay-sold/s-card-completed-2025-10-ebay-com-champion-reverse-weave.html").read_bytes()))
        server.route("/sch/i.html", Reply((corpus / "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html")
                                          .read_bytes()))
        config = write_config(tmp_path / "c.toml", fast_crawl_config(tmp_path / "p.db") + f"""
[sources.ebay]
base_url = "{server.url}"
queries = ["lenovo laptop"]
max_pages = 1
""")
        done = run_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    return config


def test_every_fetched_page_is_archived_compressed(crawled: Path, corpus: Path) -> None:
    db = crawled.parent / "p.db"
    pages = query(db, "SELECT * FROM raw_pages ORDER BY id")
    assert len(pages) == 2  # robots.txt is not archived
    original = (corpus / "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html").read_bytes()
    first = next(p for p in pages if "LH_Sold" not in p["url"])
    assert page_body(first["body"]) == original and first["body"][:4] == b"\x28\xb5\x2f\xfd"  # zstd
    assert len(first["body"]) < len(original) / 3
    assert first["status"] == 200 and first["crawl_id"] == 1 and first["source"] == "ebay"
    assert '"query": "lenovo laptop"' in first["meta"]


def test_reparse_is_idempotent_and_repairs_history(crawled: Path) -> None:
    db = crawled.parent / "p.db"
    before = query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"]
    # Simulate an old parser bug: prices stored wrong and a listing's title mangled.
    conn = sqlite3.connect(db)
    conn.execute("UPDATE observations SET price = '1.00', title = 'broken'")
    conn.commit()
    conn.close()
    done = run_cli("--config", str(crawled), "reparse", "--source", "ebay", cwd=crawled.parent)
    assert done.returncode == 0, done.stderr
    assert "re-parsed 2 archived pages: 120 listings" in done.stdout
    after = query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"]
    assert after == before == 120
    assert query(db, "SELECT COUNT(*) AS n FROM observations WHERE price = '1.00' OR title = 'broken'")[0]["n"] == 0
    lenovo = query(db, "SELECT o.price FROM observations o JOIN listings l ON l.id = o.listing_id "
                       "WHERE l.item_id = '254654754368'")
    assert [r["price"] for r in lenovo] == ["149.26"]
    again = run_cli("--config", str(crawled), "reparse", cwd=crawled.parent)
    assert again.returncode == 0
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 120
    assert query(db, "SELECT COUNT(*) AS n FROM listings")[0]["n"] == 120


def test_replay_builds_a_crawl_offline(crawled: Path) -> None:
    db = crawled.parent / "p.db"
    # No server is running now: a replay must not need the network.
    done = run_cli("--config", str(crawled), "crawl", "--replay", "--source", "ebay", cwd=crawled.parent)
    assert done.returncode == 0, done.stderr
    assert "replayed offline from crawl 1" in done.stdout
    crawls = query(db, "SELECT * FROM crawls ORDER BY id")
    assert len(crawls) == 2
    assert crawls[1]["status"] == "ok" and crawls[1]["pages"] == 2 and crawls[1]["listings"] == 120
    assert crawls[1]["listings_new"] == 0
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 240


def test_replay_without_archive_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", fast_crawl_config(tmp_path / "p.db"))
    done = run_cli("--config", str(config), "crawl", "--replay", "--source", "ebay", cwd=tmp_path)
    assert done.returncode == 1 and "nothing archived" in done.stderr


def test_item_pages_are_archived_and_reparsed(tmp_path: Path, corpus: Path) -> None:
    page = (corpus / "ebay-item/itm-226771798286-rtx-5090-fe-2025-06-ebay-com.html").read_bytes()
    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        server.route("/itm/226771798286", Reply(page))
        config = write_config(tmp_path / "c.toml", fast_crawl_config(tmp_path / "p.db") + f"""
[sources.ebay-item]
base_url = "{server.url}"
items = ["226771798286"]
""")
        assert run_cli("--config", str(config), "crawl", "--source", "ebay-item", cwd=tmp_path).returncode == 0
    db = tmp_path / "p.db"
    assert query(db, "SELECT source, status FROM raw_pages") == [{"source": "ebay-item", "status": 200}]
    done = run_cli("--config", str(config), "reparse", "--source", "ebay-item", cwd=tmp_path)
    assert "re-parsed 1 archived pages: 1 listings" in done.stdout, done.stderr
    replayed = run_cli("--config", str(config), "crawl", "--replay", "--source", "ebay-item", cwd=tmp_path)
    assert replayed.returncode == 0 and "ebay-item: ok" in replayed.stdout
    assert query(db, "SELECT price, currency FROM listings") == [{"price": "3500.00", "currency": "EUR"}]


def test_pages_archived_by_earlier_versions_zlib_stay_readable(tmp_path: Path) -> None:
    from gpuprices.storage.archive import archive_page, archived_pages
    from gpuprices.storage.sqlite import SqliteStore

    with SqliteStore(tmp_path / "a.db") as store:
        crawl = store.start_crawl("ebay")
        new = archive_page(store, crawl_id=crawl, source="ebay", url="https://x.test/new", status=200,
                           body=b"<html>new")
        old = archive_page(store, crawl_id=crawl, source="ebay", url="https://x.test/old", status=200, body=b"")
        store.db.execute("UPDATE raw_pages SET body = ? WHERE id = ?", [zlib.compress(b"<html>old", 6), old])
        assert {p.id: p.body for p in archived_pages(store)} == {new: b"<html>new", old: b"<html>old"}
