"""Trust, round two (issue 10): hostile receivers, hostile pages and files, damaged databases, lineage.

The daemon-level findings (orphans, signals, child environment, Ctrl-C) are in ``test_daemon_signals.py``;
the chaos soak is in ``test_chaos_soak.py``.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from gpuprices.alerts.outbox import Alert, Outbox
from gpuprices.alerts.settings import AlertsSettings, ChannelSettings, RuleSettings
from gpuprices.cli.output import neutralize, write_rows
from gpuprices.config import Settings
from gpuprices.cycle import analyse_and_alert
from gpuprices.spiders.middlewares import UNREADABLE_PAGE, ParserErrorMiddleware
from gpuprices.spiders.product_page import ProductPageSpider
from gpuprices.spiders.redirects import InternalRedirectMiddleware, InternalRedirectRefused, internal_kind
from gpuprices.storage.sqlite import SqliteStore
from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.httpserver import LocalServer, Reply
from tests.market_data import insert_observations
from tests.webhook_receiver import WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


# -- finding 3: a dripping receiver -------------------------------------------------------------
class DrippingReceiver:
    """Answers headers at once, then one body byte every ``interval`` seconds for ``seconds``."""

    def __init__(self, *, interval: float = 0.5, seconds: float = 40.0) -> None:
        self.interval, self.seconds = interval, seconds
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.closed_by_client: list[float] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            total = int(self.seconds / self.interval)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % total)
                for _ in range(total):
                    if self._stop.wait(self.interval):
                        return
                    conn.sendall(b".")
            except OSError:  # the client gave up: what the deadline is for
                self.closed_by_client.append(time.monotonic())

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def _wait(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def _alert(n: int) -> Alert:
    return Alert(rule="r", kind="new_listing_below", key=f"k{n}", dedupe_key=f"d{n}", title=f"alert {n}",
                 payload={"n": n})


def test_dripping_receiver_is_cut_off_at_the_channel_timeout_and_delays_no_other_channel(tmp_path: Path) -> None:
    drip = DrippingReceiver(interval=0.5, seconds=40.0)  # each byte well inside a 2 s read timeout
    try:
        with WebhookReceiver(SECRET) as fast:
            fast_times: list[float] = []
            fast.decider = lambda n: fast_times.append(time.monotonic())  # type: ignore[func-returns-value]
            settings = AlertsSettings(channels=[
                ChannelSettings(name="slow", kind="webhook", url=drip.url, secret=SECRET, timeout=2),
                ChannelSettings(name="fast", kind="webhook", url=f"{fast.url}/hook", secret=SECRET, timeout=2),
            ])
            with SqliteStore(tmp_path / "a.db") as store:
                outbox = Outbox(store, settings)
                for n in range(3):
                    outbox.enqueue(_alert(n), ["slow", "fast"])
                report = outbox.deliver_due()
                rows = list(store.db.query("SELECT channel, status, last_error FROM deliveries ORDER BY id"))
            # The fast channel got all three while the slow one was still being tried.
            assert report.delivered == 3 and len(fast.accepted) == 3
            slow = [r for r in rows if r["channel"] == "slow"]
            assert all(r["status"] == "pending" and "timeout" in (r["last_error"] or "") for r in slow)
            # Each of the three attempts gave up on its drip (a drip runs 40 s; the attempts stopped
            # long before: the receiver saw the client hang up), and the fast channel had all its
            # deliveries before the slow one's first attempt was over.
            assert _wait(lambda: len(drip.closed_by_client) == 3, 30)
            assert len(fast_times) == 3 and max(fast_times) < min(drip.closed_by_client)
    finally:
        drip.close()


# -- finding 5: redirects into private networks --------------------------------------------------
def _redirected(origin: str, location: str) -> Request:
    crawler = get_crawler(ProductPageSpider)
    redirect = RedirectMiddleware.from_crawler(crawler)
    request = Request(origin)
    response = HtmlResponse(origin, status=302, headers={"Location": location}, request=request)
    follow = redirect.process_response(request, response)
    assert isinstance(follow, Request)
    return follow


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/admin",
                                      "http://10.1.2.3/", "http://[::1]/", "http://192.168.0.1/",
                                      "http://localhost/x", "http://[::ffff:127.0.0.1]/"])
def test_redirect_from_a_public_page_to_an_internal_address_is_refused_and_reported(location: str) -> None:
    follow = _redirected("https://93.184.216.34/nvidia-h100", location)  # a public address: never fetched
    with pytest.raises(InternalRedirectRefused) as refused:
        InternalRedirectMiddleware().process_request(follow)
    assert "refused" in str(refused.value)
    # The spider's errback reports the page as failed, with why.
    spider = ProductPageSpider(urls=["https://93.184.216.34/nvidia-h100"])
    failure = type("F", (), {"request": follow, "value": refused.value})()
    (report,) = list(spider.on_error(failure))  # type: ignore[arg-type]
    assert report.status.value == "failed" and "address) refused" in report.reason


def test_redirects_within_a_configured_internal_site_are_followed() -> None:
    follow = _redirected("http://127.0.0.1:8000/p", "http://127.0.0.1:8000/q")
    assert InternalRedirectMiddleware().process_request(follow) is None
    public = _redirected("https://93.184.216.34/a", "https://93.184.216.35/b")
    assert InternalRedirectMiddleware().process_request(public) is None
    assert internal_kind("169.254.169.254") == "link-local" and internal_kind("8.8.8.8") is None


# -- finding 6: damaged, foreign or newer databases -------------------------------------------------
def _damaged(path: Path, tmp_path: Path) -> None:
    assert run_cli("--config", str(_db_config(tmp_path, path)), "status", cwd=tmp_path).returncode == 0
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO meta (key, value, updated_at) VALUES (?, ?, 'x')",
                     [(f"k{i}", "v" * 300) for i in range(3000)])
    conn.commit()
    conn.close()
    with path.open("r+b") as handle:  # overwrite pages after the schema with garbage
        handle.seek(4096 * 3)
        handle.write(b"\xde\xad\xbe\xef" * 4096 * 8)


def _db_config(tmp_path: Path, db: Path) -> Path:
    return write_config(tmp_path / f"{db.stem}.toml", fast_crawl_config(db))


@pytest.mark.parametrize("kind", ["not-a-database", "newer-schema", "damaged"])
def test_an_unusable_database_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    db = tmp_path / f"{kind}.db"
    if kind == "not-a-database":
        db.write_text("id,price\n1,2\n")
    elif kind == "newer-schema":
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA user_version = 99")
        conn.execute("CREATE TABLE future (x)")
        conn.commit()
        conn.close()
    else:
        _damaged(db, tmp_path)
    config = _db_config(tmp_path, db)
    for command in (["status"], ["export", "listings"], ["premium"]):
        done = run_cli("--config", str(config), *command, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("gpuprices: ")


# -- finding 7: pathological parser input ----------------------------------------------------------
SOURCES = ["ebay-api", "ebay", "ebay-item", "product-page", "rental-vast", "rental-tracker", "rental-skypilot"]


def test_absurdly_nested_input_is_one_line_and_a_counted_drop_for_every_source(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000)
    for source in SOURCES:
        done = run_cli("parse", "--source", source, str(deep), cwd=tmp_path)
        assert done.returncode == 1, (source, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, (source, done.stderr)
        assert done.stdout == ""
    done = run_cli("parse", "--source", "ebay-api", str(deep), cwd=tmp_path)
    assert "failed: unreadable page: RecursionError" in done.stderr and f"dropped {UNREADABLE_PAGE} 1" in done.stderr


def test_a_spider_callback_failing_on_a_page_is_a_failed_page_and_a_counted_drop() -> None:
    crawler = get_crawler(ProductPageSpider)
    middleware = ParserErrorMiddleware.from_crawler(crawler)
    response = HtmlResponse("http://127.0.0.1/p", body=b"[" * 10, request=Request("http://127.0.0.1/p"))
    try:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")
    except RecursionError as exc:
        (report,) = middleware.process_spider_exception(response, exc)
    assert report.status.value == "failed" and report.reason.startswith("unreadable page: RecursionError")
    assert crawler.stats.get_value(f"gpuprices/dropped/{UNREADABLE_PAGE}") == 1


def test_a_crawl_of_a_pathological_page_records_a_failed_page_and_a_drop(tmp_path: Path) -> None:
    with LocalServer() as site:
        site.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        site.route("/p", Reply(b"[" * 200_000, headers={"Content-Type": "application/json"}))
        db = tmp_path / "prices.db"
        config = write_config(tmp_path / "c.toml", fast_crawl_config(db) + f"""
[sources.product-page]
urls = ["{site.url}/p"]
""")
        done = run_cli("--config", str(config), "crawl", "--source", "product-page", cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    (crawl,) = query(db, "SELECT status, failed_pages, dropped FROM crawls")
    assert crawl["failed_pages"] == 1 and f'"{UNREADABLE_PAGE}": 1' in crawl["dropped"]


# -- finding 8: muting by lineage --------------------------------------------------------------------
def _lineage_settings(tmp_path: Path) -> Settings:
    return Settings(
        storage={"database": str(tmp_path / "m.db")},
        alerts=AlertsSettings(
            channels=[ChannelSettings(name="ops", kind="webhook", url="http://127.0.0.1:9/hook", secret=SECRET)],
            rules=[RuleSettings(name="h100-deep-discount", kind="premium_below", sku="h100-80gb-pcie",
                                premium=-0.2, side="asking", condition_group="all")]),
    )


def _market_today(store: SqliteStore, now: datetime) -> dict[str, Any]:
    """Twelve healthy eBay API listings of H100 PCIe today, ~40 % below list, from twelve sellers."""
    insert_observations(store, [{"item_id": str(100 + i), "price": str(Decimal(21000 + 100 * i)),
                                 "seller": f"s{i}", "observed_at": now.isoformat()} for i in range(12)])
    crawl_id = int(store.db.execute("SELECT MAX(id) FROM crawls").fetchone()[0])
    return store.finish_crawl(crawl_id, "ok")


def _premium_alerts(store: SqliteStore) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT * FROM alerts WHERE kind = 'premium_below'"))


def test_a_failing_rental_feed_never_mutes_an_ebay_premium_alert(tmp_path: Path) -> None:
    settings = _lineage_settings(tmp_path)
    now = datetime.now(UTC)
    with SqliteStore(settings.storage.database) as store:
        ebay = _market_today(store, now)
        rental = store.finish_crawl(store.start_crawl("rental"), "failed", error="feed answered 503")
        report = analyse_and_alert(settings, store, [ebay, rental], now=now, deliver=False)
        alerts = _premium_alerts(store)
    assert [h.healthy for h in report.health] == [True, False]
    assert not report.muted and len(alerts) == 1
    assert '"sources": ["ebay-api"]' in alerts[0]["payload"]  # the alert says which sources fed it


def test_a_degraded_source_mutes_the_alerts_on_rows_it_fed(tmp_path: Path) -> None:
    settings = _lineage_settings(tmp_path)
    now = datetime.now(UTC)
    with SqliteStore(settings.storage.database) as store:
        ebay = _market_today(store, now)
        store.db.execute("UPDATE crawls SET blocked_pages = 3, pages = 4 WHERE id = ?", [ebay["id"]])
        report = analyse_and_alert(settings, store, [store.crawl(ebay["id"])], now=now, deliver=False)
        assert _premium_alerts(store) == []
    assert report.muted and "h100-80gb-pcie|asking|all" in report.muted_keys


# -- finding 10: CSV neutralization -------------------------------------------------------------------
@pytest.mark.parametrize("text", [" =HYPERLINK(\"http://x\")", "\u00a0=1+1", "\u200b@SUM(A1)", "\ufeff+cmd",
                                  "\t=1", " \u3000-2+3", "\uff1dcmd|' /C calc'!A0", "\uff0b1", "\uff0d1", "\uff20A1",
                                  "\u2060=1"])
def test_csv_neutralizes_formulas_after_invisible_characters_and_full_width_forms(text: str) -> None:
    assert neutralize(text) == "'" + text
    import io

    out = io.StringIO()
    write_rows([{"title": text}], "csv", out)
    assert out.getvalue().splitlines()[1].lstrip('"').startswith("'")


@pytest.mark.parametrize("text", ["-0.42", "NVIDIA H100 80GB", " H100 = cheap", "a=b", "", "  "])
def test_csv_leaves_plain_text_and_numbers_alone(text: str) -> None:
    assert neutralize(text) == text
