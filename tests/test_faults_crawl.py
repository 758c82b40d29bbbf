"""Fault injection, crawl side: the real ``gpuprices`` CLI in a subprocess, the real Scrapy downloader, a
misbehaving site on 127.0.0.1. For each fault: the crawl and page statuses, the health verdict, and never an
invented or zero price in the database."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gpuprices.spiders.parsers.ebay_search import parse_search_page
from tests.e2e import query, run_cli
from tests.faults import (
    AKAMAI,
    LENOVO,
    PARDON,
    SEARCH_PATH,
    SECRET,
    FaultServer,
    Reset,
    Truncate,
    assert_no_invented_prices,
    children_running,
    crawl_config,
    has_traceback,
    health_of,
    html,
    integrity,
    only_crawl,
    pages_of,
    search_site,
    start_cli,
    wait_for,
    webhook_channel,
)
from tests.webhook_receiver import WebhookReceiver

LEGO = "ebay-search/s-card-2026-04-ebay-de-lego-nan-eur.html"  # 60 listings, 41 titles with ä/ö/ü/ß/®


def _crawl(config: Path, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path, timeout=timeout)


def _search_requests(server: FaultServer) -> list[str]:
    return [f"{r.path}?{sorted(r.query.items())}" for r in server.seen(SEARCH_PATH)]


def _health_alerts(receiver: WebhookReceiver) -> list[dict[str, object]]:
    bodies = [json.loads(b[0]) for b in receiver.accepted.values()]
    return [b["data"] for b in bodies if b["data"]["kind"] == "health"]


# -- transport faults ------------------------------------------------------------------------------
def test_429_with_retry_after_waits_and_recovers(tmp_path: Path, corpus: Path) -> None:
    busy = html(b"<html><body>Too many requests, slow down.</body></html>", status=429,
                headers={"Retry-After": "1"})
    with search_site(busy, html((corpus / LENOVO).read_bytes())) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"retry_times": 2}), tmp_path)
        seen = site.seen(SEARCH_PATH)
    assert done.returncode == 0, done.stderr
    assert "ebay: ok" in done.stdout
    assert len(seen) == 2
    assert seen[0].query == seen[1].query  # the same URL again
    assert seen[1].at - seen[0].at >= 1.0  # Retry-After honoured
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["pages"], crawl["listings"], crawl["blocked_pages"]) == ("ok", 1, 60, 0)
    assert [p["status"] for p in pages_of(db, crawl["id"])] == ["ok"]  # the 429 is a retry, not a page
    assert health_of(db, crawl).healthy
    assert_no_invented_prices(db)


def test_503_burst_is_retried_until_success(tmp_path: Path, corpus: Path) -> None:
    unavailable = html(b"<html><body>Service temporarily unavailable</body></html>", status=503)
    with search_site(unavailable, unavailable, unavailable, html((corpus / LENOVO).read_bytes())) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"retry_times": 3}), tmp_path)
        requests = _search_requests(site)
    assert done.returncode == 0, done.stderr
    assert len(requests) == 4 and len(set(requests)) == 1
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["pages"], crawl["listings"], crawl["failed_pages"]) == ("ok", 1, 60, 0)
    assert health_of(db, crawl).healthy
    assert_no_invented_prices(db)


def test_503_forever_fails_the_page_and_the_crawl(tmp_path: Path) -> None:
    unavailable = html(b"<html><body>Service temporarily unavailable</body></html>", status=503)
    with search_site(unavailable) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"retry_times": 3}), tmp_path)
        attempts = len(site.seen(SEARCH_PATH))
    assert done.returncode == 1
    assert "ebay: failed" in done.stdout
    assert attempts == 4  # first try + retry_times
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["pages"], crawl["failed_pages"], crawl["listings"]) == ("failed", 1, 1, 0)
    page = pages_of(db, crawl["id"])[0]
    assert page["status"] == "failed" and page["http_status"] == 503 and "503" in page["reason"]
    health = health_of(db, crawl)
    assert not health.healthy and any(p.startswith("crawl failed") for p in health.problems)
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 0
    assert not has_traceback(done.stderr)


def test_connection_reset_is_retried_then_the_page_fails(tmp_path: Path) -> None:
    with search_site(Reset()) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"retry_times": 2}), tmp_path)
        attempts = len(site.seen(SEARCH_PATH))
    assert done.returncode == 1
    # Retried: 1 + retry_times, plus at most one silent retry by Twisted's pool when the reset hit a reused
    # keep-alive connection (the robots.txt one), which is standard HTTP client behaviour.
    assert 3 <= attempts <= 4
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["failed_pages"], crawl["listings"]) == ("failed", 1, 0)
    page = pages_of(db, crawl["id"])[0]
    assert page["status"] == "failed" and page["http_status"] is None
    assert re.search(r"connection|lost|reset", page["reason"], re.IGNORECASE), page["reason"]
    assert "crawl failed" in health_of(db, crawl).summary
    assert not has_traceback(done.stderr)
    assert_no_invented_prices(db)


def test_reset_once_then_success_recovers(tmp_path: Path, corpus: Path) -> None:
    with search_site(Reset(), html((corpus / LENOVO).read_bytes())) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"retry_times": 2}), tmp_path)
        attempts = len(site.seen(SEARCH_PATH))
    assert done.returncode == 0, done.stderr
    assert attempts == 2
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["listings"], crawl["failed_pages"]) == ("ok", 60, 0)
    assert health_of(db, crawl).healthy
    assert_no_invented_prices(db)


def test_read_timeout_fails_the_page_with_a_timeout_reason(tmp_path: Path, corpus: Path) -> None:
    slow = html((corpus / LENOVO).read_bytes(), delay=5.0)
    with search_site(slow) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"timeout": 2, "retry_times": 1}), tmp_path)
        attempts = len(site.seen(SEARCH_PATH))
    assert done.returncode == 1
    assert attempts == 2  # the page's timeout reason below shows the 2-second timeout ended each attempt
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["failed_pages"], crawl["listings"]) == ("failed", 1, 0)
    page = pages_of(db, crawl["id"])[0]
    assert page["status"] == "failed" and re.search(r"time", page["reason"], re.IGNORECASE), page["reason"]
    assert "crawl failed" in health_of(db, crawl).summary
    assert_no_invented_prices(db)


@pytest.mark.parametrize("cut", [0.5, 0.999])
def test_truncated_body_never_yields_a_listing_without_a_price(tmp_path: Path, corpus: Path, cut: float) -> None:
    page = (corpus / LENOVO).read_bytes()
    truncated = Truncate(page[: int(len(page) * cut)], declared=len(page))
    with search_site(truncated) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"retry_times": 1}), tmp_path)
        attempts = len(site.seen(SEARCH_PATH))
    assert done.returncode in (0, 1)
    assert not has_traceback(done.stderr)
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    pages = pages_of(db, crawl["id"])
    assert len(pages) == 1
    if pages[0]["status"] == "failed":  # Scrapy's data-loss check: the short body is an error, retried
        assert attempts == 2
        assert crawl["status"] == "failed" and crawl["listings"] == 0
        assert re.search(r"loss|ResponseFailed|Content-Length|Connection", pages[0]["reason"], re.I)
        assert "crawl failed" in health_of(db, crawl).summary
    else:  # parsed partially: only complete cards, each with its price
        assert crawl["listings"] <= 60
    assert_no_invented_prices(db)


def test_body_cut_without_content_length_stores_no_truncated_price(tmp_path: Path, corpus: Path) -> None:
    """An HTTP/1.0-style answer (no Content-Length, the connection closing ends it) cut inside a card's price."""
    page = (corpus / LENOVO).read_bytes()
    price = list(re.finditer(rb"s-card__price[^>]*>(\$[\d,]+\.\d\d)<", page))[20]
    cut = page[: price.start(1) + 3]  # "...s-card__price">$22" of "$229.99"
    with search_site(Truncate(cut, declared=None)) as site:
        done = _crawl(crawl_config(tmp_path, site.url), tmp_path)
    assert done.returncode in (0, 1) and not has_traceback(done.stderr)
    truth = {listing.item_id: listing.price_text for listing in parse_search_page(
        page, url="http://127.0.0.1/sch/i.html", site="127.0.0.1", observed_at=datetime.now(UTC)).listings}
    db = tmp_path / "prices.db"
    stored = query(db, "SELECT l.item_id, o.price_text FROM observations o JOIN listings l ON l.id = o.listing_id")
    wrong = [row for row in stored if truth.get(row["item_id"]) != row["price_text"]]
    assert wrong == [], f"prices cut by the truncation were stored: {wrong}"
    assert_no_invented_prices(db)


# -- block pages -----------------------------------------------------------------------------------
def test_bot_check_page_is_blocked_and_alerts_the_operator(tmp_path: Path, corpus: Path) -> None:
    with search_site(html((corpus / PARDON).read_bytes())) as site, WebhookReceiver(SECRET) as receiver:
        config = crawl_config(tmp_path, site.url, extra=webhook_channel(receiver.url))
        done = run_cli("--config", str(config), "run", "--once", cwd=tmp_path)
        attempts = len(site.seen(SEARCH_PATH))
        alerts = _health_alerts(receiver)
    assert done.returncode == 1
    assert attempts == 1  # a block is not retried
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["blocked_pages"], crawl["listings"]) == ("blocked", 1, 0)
    page = pages_of(db, crawl["id"])[0]
    assert page["status"] == "blocked" and "Pardon" in page["reason"]
    assert len(alerts) == 1 and "blocked" in str(alerts[0]["title"])
    assert "1 of 1 pages blocked" in health_of(db, crawl).summary
    assert_no_invented_prices(db)


def test_akamai_503_is_blocked_and_not_retried(tmp_path: Path, corpus: Path) -> None:
    with search_site(html((corpus / AKAMAI).read_bytes(), status=503)) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"retry_times": 3}), tmp_path)
        attempts = len(site.seen(SEARCH_PATH))
    assert done.returncode == 1
    assert attempts == 1
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["blocked_pages"]) == ("blocked", 1)
    page = pages_of(db, crawl["id"])[0]
    assert page["status"] == "blocked" and page["http_status"] == 503 and "Akamai" in page["reason"]
    assert "1 of 1 pages blocked" in health_of(db, crawl).summary
    assert_no_invented_prices(db)


def test_retry_after_beyond_the_limit_is_not_waited_for(tmp_path: Path) -> None:
    """A site asking for an hour's pause is not hammered: no retry, the page is reported as a refusal."""
    busy = html(b"<html><body>Too many requests</body></html>", status=429, headers={"Retry-After": "3600"})
    with search_site(busy) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"retry_times": 3, "max_retry_after": 5}), tmp_path)
        attempts = len(site.seen(SEARCH_PATH))
    assert done.returncode == 1
    assert attempts == 1  # not retried (and the hour was not waited for: the test's own timeout would end it)
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    page = pages_of(db, crawl["id"])[0]
    assert page["status"] == "blocked" and page["http_status"] == 429
    assert crawl["status"] == "blocked" and not health_of(db, crawl).healthy


# -- layout faults ---------------------------------------------------------------------------------
def _renamed(page: bytes, *classes: str) -> bytes:
    for cls in classes:
        page = re.sub(rb"\b" + cls.encode() + rb"\b", cls.replace("s-card__", "s-card__x-").encode(), page)
    return page


def test_changed_markup_is_a_layout_change_with_a_health_alert(tmp_path: Path, corpus: Path) -> None:
    page = _renamed((corpus / LENOVO).read_bytes(), "s-card__price", "s-card__title")
    with search_site(html(page)) as site, WebhookReceiver(SECRET) as receiver:
        config = crawl_config(tmp_path, site.url, extra=webhook_channel(receiver.url))
        done = run_cli("--config", str(config), "run", "--once", cwd=tmp_path)
        alerts = _health_alerts(receiver)
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert crawl["status"] == "layout_change", done.stdout + done.stderr
    assert (crawl["layout_change_pages"], crawl["listings"]) == (1, 0)
    stored = pages_of(db, crawl["id"])[0]
    assert stored["status"] == "layout_change" and stored["cards"] == 60 and stored["listings"] == 0
    assert len(alerts) == 1 and "layout change" in str(alerts[0]["title"])
    assert "layout change" in health_of(db, crawl).summary
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 0
    # It fed no index row, so no market alert rests on it: nothing is muted (muting follows lineage).
    assert "market alerts muted" not in done.stdout


def test_lost_price_markup_stores_no_listing(tmp_path: Path, corpus: Path) -> None:
    page = _renamed((corpus / LENOVO).read_bytes(), "s-card__price")
    with search_site(html(page)) as site:
        done = _crawl(crawl_config(tmp_path, site.url), tmp_path)
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert crawl["status"] == "layout_change", done.stdout + done.stderr
    assert pages_of(db, crawl["id"])[0]["status"] == "layout_change"
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 0
    assert "layout change" in health_of(db, crawl).summary
    assert_no_invented_prices(db)


EMPTY_RESULTS = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nvidia h100 80gb for sale | eBay</title></head>
<body><div class="srp-main srp-main--isLarge">
<div class="srp-controls"><h1 class="srp-controls__count-heading"><span class="BOLD">0</span> results for
<span class="BOLD">nvidia h100 80gb</span></h1></div>
<div class="srp-river srp-layout-inner"><div class="srp-river-results clearfix">
<div class="srp-save-null-search"><h3 class="srp-save-null-search__heading">No exact matches found</h3></div>
<ul class="srp-results srp-list clearfix"></ul>
</div></div></div></body></html>
"""


def test_genuinely_empty_results_are_not_a_layout_change(tmp_path: Path) -> None:
    with search_site(html(EMPTY_RESULTS)) as site, WebhookReceiver(SECRET) as receiver:
        config = crawl_config(tmp_path, site.url, extra=webhook_channel(receiver.url))
        done = run_cli("--config", str(config), "run", "--once", cwd=tmp_path)
        alerts = _health_alerts(receiver)
    assert done.returncode == 0, done.stderr
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["empty_pages"], crawl["layout_change_pages"], crawl["listings"]) == ("ok", 1, 0, 0)
    page = pages_of(db, crawl["id"])[0]
    assert page["status"] == "empty" and re.search("No exact matches|0 results", page["reason"]), page["reason"]
    assert alerts == []
    assert health_of(db, crawl).healthy
    assert "layout" not in done.stdout.replace("layout change,", "")


# -- encodings and size ----------------------------------------------------------------------------
def _expected_titles(corpus: Path, name: str) -> set[str]:
    page = parse_search_page((corpus / name).read_bytes(), url="http://127.0.0.1/sch/i.html", site="127.0.0.1",
                             observed_at=datetime.now(UTC))
    return {listing.title for listing in page.listings}


@pytest.mark.parametrize(("codec", "content_type"), [
    ("latin-1", "text/html; charset=iso-8859-1"),
    ("cp1252", "text/html; charset=windows-1252"),
    ("cp1252", "text/html"),
], ids=["iso-8859-1-header", "windows-1252-header", "no-charset"])
def test_non_utf8_page_is_parsed_without_mojibake(tmp_path: Path, corpus: Path, codec: str,
                                                  content_type: str) -> None:
    text = (corpus / LEGO).read_text(encoding="utf-8")
    # Characters the legacy charset lacks become character references, as a server would write them.
    body = text.encode(codec, errors="xmlcharrefreplace")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    with search_site(html(body, content_type=content_type)) as site:
        done = _crawl(crawl_config(tmp_path, site.url), tmp_path)
    assert done.returncode == 0, done.stderr
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    dropped = sum(json.loads(crawl["dropped"]).values())
    assert crawl["status"] == "ok" and crawl["listings"] + dropped == 60
    titles = {row["title"] for row in query(db, "SELECT title FROM listings")}
    expected = _expected_titles(corpus, LEGO)
    assert not [t for t in titles if "\ufffd" in t or "Ã" in t], "mojibake in titles"
    assert titles <= expected
    assert sum(1 for t in titles if re.search("[äöüß®]", t)) >= 30
    assert health_of(db, crawl).healthy
    assert_no_invented_prices(db)


def _padded(page: bytes, padding: bytes) -> bytes:
    at = re.search(rb"<body[^>]*>", page)
    assert at is not None
    return page[: at.end()] + padding + page[at.end():]


@pytest.mark.parametrize("kind", ["comment", "hidden-markup"])
def test_20_mb_page_is_parsed_in_bounded_time(tmp_path: Path, corpus: Path, kind: str) -> None:
    size = 20 * 1024 * 1024
    if kind == "comment":
        padding = b"<!-- " + b"padding " * (size // 8) + b" -->"
    else:
        block = b'<div class="s-card__hidden" hidden><span>padding text for a large page</span></div>\n'
        padding = block * (size // len(block))
    body = _padded((corpus / LENOVO).read_bytes(), padding)
    assert len(body) > size
    with search_site(html(body)) as site:
        done = _crawl(crawl_config(tmp_path, site.url, crawl={"timeout": 60}), tmp_path)
    assert done.returncode == 0, done.stderr
    db = tmp_path / "prices.db"
    crawl = only_crawl(db)
    assert (crawl["status"], crawl["listings"]) == ("ok", 60)
    assert pages_of(db, crawl["id"])[0]["cards"] == 60
    assert health_of(db, crawl).healthy
    assert_no_invented_prices(db)


# -- process faults --------------------------------------------------------------------------------
def test_sigkill_of_the_crawl_child_mid_write_is_recorded_and_recoverable(tmp_path: Path, corpus: Path) -> None:
    page = (corpus / LENOVO).read_bytes()
    db = tmp_path / "prices.db"
    queries = tuple(f"lenovo laptop {n}" for n in range(10))
    with FaultServer() as site:
        site.route("/robots.txt", html(b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        site.route(SEARCH_PATH, html(page, delay=0.4))
        config = crawl_config(tmp_path, site.url, queries=queries)
        parent = start_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path)
        try:
            child = wait_for(lambda: children_running(parent.pid, "gpuprices.crawl_child"), timeout=60)[0]

            def storing() -> bool:  # the first batch of listings is written, more pages are coming
                if not db.exists():
                    return False
                rows = query(db, "SELECT listings, status FROM crawls")
                return bool(rows) and rows[0]["listings"] > 0

            wait_for(storing, timeout=60, interval=0.02)
            stored_pages = len(query(db, "SELECT id FROM pages"))
            os.kill(child, signal.SIGKILL)
            out, err = parent.communicate(timeout=60)
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.communicate()
        assert stored_pages < len(queries)
        assert parent.returncode == 1, out + err
        assert not has_traceback(err)
        assert "ebay: failed" in out
        assert integrity(db) == "ok"
        crawl = only_crawl(db)
        assert crawl["status"] == "failed" and crawl["finished_at"]
        assert "-9" in (crawl["error"] or "") or "SIGKILL" in (crawl["error"] or ""), crawl["error"]
        health = health_of(db, crawl)
        assert not health.healthy and "crawl failed" in health.summary
        assert_no_invented_prices(db)

        # The next crawl runs normally on the same database.
        site.routes.clear()
        site.route("/robots.txt", html(b"User-agent: *\nAllow: /\n", content_type="text/plain"))
        site.route(SEARCH_PATH, html(page))
        again = _crawl(crawl_config(tmp_path, site.url, queries=queries[:1]), tmp_path)
    assert again.returncode == 0, again.stderr
    latest = query(db, "SELECT * FROM crawls ORDER BY id DESC LIMIT 1")[0]
    assert (latest["status"], latest["listings"]) == ("ok", 60)
    assert query(db, "SELECT COUNT(*) AS n FROM crawls WHERE status = 'running'")[0]["n"] == 0
    assert integrity(db) == "ok"
    assert_no_invented_prices(db)
