"""The ``ebay`` search spider end to end: real Scrapy downloader, a real server on 127.0.0.1,
corpus pages, a fresh database, then the CSV export checked row by row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.httpserver import LocalServer, Reply

ALLOW_ALL = Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})


def _page(corpus: Path, name: str) -> Reply:
    return Reply((corpus / name).read_bytes())


def _is_search(page: int, sold: bool):  # type: ignore[no-untyped-def]
    def match(path: str, q: dict[str, list[str]]) -> bool:
        return (path == "/sch/i.html" and q.get("_pgn", ["1"]) == [str(page)]
                and ("LH_Sold" in q) == sold)
    return match


@pytest.fixture
def search_site(corpus: Path):  # type: ignore[no-untyped-def]
    with LocalServer() as server:
        server.route("/robots.txt", ALLOW_ALL)
        # Page 1 fails once with 503 + Retry-After, then succeeds: the retry must wait and recover.
        server.route(_is_search(1, False),
                     Reply(b"busy", 503, {"Retry-After": "1", "Content-Type": "text/plain"}),
                     _page(corpus, "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html"))
        server.route(_is_search(2, False), _page(corpus, "ebay-search/s-item-2021-01-ebay-co-uk-warhammer-army.html"))
        server.route(_is_search(1, True),
                     _page(corpus, "ebay-sold/s-card-completed-2025-10-ebay-com-champion-reverse-weave.html"))
        server.route(_is_search(2, True),
                     _page(corpus, "ebay-sold/s-card-sold-2026-01-ebay-com-ja-ui-pink-floyd-cd-jpy.html"))
        yield server


def _config(tmp_path: Path, server: LocalServer, **overrides: str) -> Path:
    db = tmp_path / "prices.db"
    section = f"""
[sources.ebay]
base_url = "{server.url}"
queries = ["nvidia h100 80gb"]
max_pages = {overrides.get("max_pages", "2")}
include_sold = {overrides.get("include_sold", "true")}
"""
    return write_config(tmp_path / "config.toml", fast_crawl_config(db) + section)


def test_search_crawl_pagination_retry_sold_and_export(tmp_path: Path, search_site: LocalServer) -> None:
    config = _config(tmp_path, search_site)
    db = tmp_path / "prices.db"
    done = run_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ebay: ok" in done.stdout

    crawl = query(db, "SELECT * FROM crawls")[0]
    assert crawl["status"] == "ok"
    assert crawl["pages"] == 4  # 2 active pages via pagination + 2 sold pages; the 503 retry is not a page
    assert crawl["listings"] == 60 + 61 + 60 + 55
    assert crawl["listings_new"] == crawl["listings"]
    assert crawl["blocked_pages"] == 0

    # The 503 was retried after the Retry-After delay, on the same URL.
    first_pages = [r for r in search_site.requests if r.path == "/sch/i.html" and "_pgn" not in r.query
                   and "LH_Sold" not in r.query]
    assert len(first_pages) == 2
    assert first_pages[1].at - first_pages[0].at >= 0.9
    # The user agent is ours and robots.txt was read first.
    assert search_site.requests[0].path == "/robots.txt"
    assert all("gpuprices" in r.headers.get("user-agent", "") for r in search_site.requests)

    # Sold view: 56 sold + 4 ended on the completed page; all 55 of the Japanese page sold.
    sold = query(db, "SELECT sold, ended, best_offer_accepted, currency FROM observations WHERE page_url LIKE "
                     "'%LH_Sold=1%'")
    assert len(sold) == 115
    assert sum(r["sold"] for r in sold) == 56 + 55
    assert sum(r["ended"] and not r["sold"] for r in sold) == 4
    assert sum(r["best_offer_accepted"] for r in sold) == 4 + 6
    assert {r["currency"] for r in sold} == {"USD", "JPY"}

    # A second crawl adds observations, never duplicate listings.
    again = run_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    second = query(db, "SELECT * FROM crawls ORDER BY id")[1]
    assert second["listings_new"] == 0 and second["listings_updated"] == 236
    assert query(db, "SELECT COUNT(*) AS n FROM listings")[0]["n"] == 236
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 472

    # CSV export, row by row against the database.
    out = run_cli("--config", str(config), "export", "listings", "--format", "csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    stored = {r["item_id"]: r for r in query(db, "SELECT * FROM listings")}
    assert len(rows) == len(stored) == 236
    for row in rows:
        db_row = stored[row["item_id"]]
        assert row["price"] == db_row["price"]
        assert row["currency"] == db_row["currency"]
        assert row["price_usd"] == db_row["price_usd"]
        title = db_row["title"]
        expected = "'" + title if title[0] in "=+-@" else title
        assert row["title"] == expected
    lenovo = next(r for r in rows if r["item_id"] == "254654754368")
    assert lenovo["price"] == "149.26" and lenovo["currency"] == "USD" and lenovo["shipping"] == "151.38"
    assert lenovo["condition"] == "refurbished"
    # A title written by a stranger that starts with "-" is neutralized, numbers are not.
    captain = next(r for r in rows if r["item_id"] == "264935200308")
    assert captain["title"].startswith("'- INDOMITUS CAPTAIN")
    assert captain["price"] == "12.99" and captain["currency"] == "GBP"
    assert float(captain["price_usd"]) > 0


def test_search_crawl_export_filters(tmp_path: Path, search_site: LocalServer) -> None:
    config = _config(tmp_path, search_site, max_pages="1", include_sold="false")
    assert run_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path).returncode == 0
    out = run_cli("--config", str(config), "export", "observations", "--format", "json", "--source", "ebay",
                  "--since", "2000-01-01", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 60
    none = run_cli("--config", str(config), "export", "observations", "--source", "ebay-api", cwd=tmp_path)
    assert none.stdout.splitlines()[0].startswith("family,item_id")  # header only
    assert len(none.stdout.splitlines()) == 1
    crawls = run_cli("--config", str(config), "export", "crawls", "-o", str(tmp_path / "c.csv"), cwd=tmp_path)
    assert crawls.returncode == 0
    assert len(list(csv.DictReader((tmp_path / "c.csv").open(encoding="utf-8-sig")))) == 1


def test_bot_check_page_is_blocked_not_empty(tmp_path: Path, corpus: Path) -> None:
    with LocalServer() as server:
        server.route("/robots.txt", ALLOW_ALL)
        server.route("/sch/i.html", _page(corpus, "ebay-blocked/pardon-our-interruption-2026-07-ebay-com.html"))
        config = _config(tmp_path, server, include_sold="false")
        done = run_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path)
    assert done.returncode == 1
    assert "ebay: blocked" in done.stdout
    db = tmp_path / "prices.db"
    crawl = query(db, "SELECT * FROM crawls")[0]
    assert crawl["status"] == "blocked" and crawl["blocked_pages"] == 1 and crawl["listings"] == 0
    page = query(db, "SELECT * FROM pages")[0]
    assert page["status"] == "blocked" and "Pardon" in page["reason"]


def test_akamai_error_is_blocked_and_not_retried(tmp_path: Path, corpus: Path) -> None:
    with LocalServer() as server:
        server.route("/robots.txt", ALLOW_ALL)
        server.route("/sch/i.html", Reply((corpus / "ebay-blocked/akamai-service-unavailable-2025-08.html")
                                          .read_bytes(), 503))
        config = _config(tmp_path, server, include_sold="false")
        done = run_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path)
        assert len(server.seen("/sch/i.html")) == 1  # a block is reported, not fought
    assert done.returncode == 1
    page = query(tmp_path / "prices.db", "SELECT * FROM pages")[0]
    assert page["status"] == "blocked" and page["http_status"] == 503


def test_robots_disallow_in_the_crawl_blocks_pages_with_a_reason_pointing_to_the_api(tmp_path: Path) -> None:
    """The crawl obeys robots.txt itself too (the source check before it may not have been able to read it)."""
    from gpuprices.config import load_settings
    from gpuprices.crawling import run_crawl

    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nDisallow: /sch/\n", headers={"Content-Type": "text/plain"}))
        config = _config(tmp_path, server, include_sold="false")
        row = run_crawl(load_settings(str(config)), "ebay")
        assert server.seen("/sch/i.html") == []
    assert row["status"] == "blocked"
    page = query(tmp_path / "prices.db", "SELECT * FROM pages")[0]
    assert page["status"] == "blocked" and "robots.txt" in page["reason"] and "ebay-api" in page["reason"]
