"""The monitor end to end: ``run --once`` and the daemon in a subprocess, against local servers."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpuprices.config import load_settings
from gpuprices.crawling import run_crawl
from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.faults import SECRET, integrity, running_daemon, wait_for
from tests.httpserver import LocalServer, Reply
from tests.webhook_receiver import WebhookReceiver

SEARCH = "/buy/browse/v1/item_summary/search"
TOKEN = "/identity/v1/oauth2/token"
API_ENV = {"EBAY_CLIENT_ID": "test-app-id", "EBAY_CLIENT_SECRET": "test-cert-id-secret"}


@pytest.fixture
def market(corpus: Path) -> Iterator[LocalServer]:
    """eBay's API (H100 PCIe listings at $30–49k) and a search site (laptops: no GPU at all)."""
    h100 = (corpus / "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json").read_bytes()
    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        server.route(TOKEN, Reply(b'{"access_token": "tok", "expires_in": 7200}',
                                  headers={"Content-Type": "application/json"}))
        server.route(SEARCH, Reply(h100, headers={"Content-Type": "application/json"}))
        server.route("/sch/i.html", Reply((corpus / "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html")
                                          .read_bytes()))
        yield server


def cheap_h100_alert(receiver_url: str) -> str:
    """A signed webhook channel and a rule: H100 PCIe listings below $33,000."""
    return f"""
[[alerts.channels]]
name = "ops"
kind = "webhook"
url = "{receiver_url}/gpu"
secret = "{SECRET}"

[[alerts.rules]]
name = "cheap-h100"
kind = "new_listing_below"
sku = "h100-80gb-pcie"
unit_price_usd = 33000
channels = ["ops"]
"""


def _config(tmp_path: Path, market: LocalServer, receiver_url: str, extra: str = "") -> Path:
    return write_config(tmp_path / "config.toml", fast_crawl_config(tmp_path / "prices.db") + f"""
[sources.ebay]
base_url = "{market.url}"
queries = ["lenovo laptop"]
max_pages = 1
include_sold = false
schedule = {{ interval_minutes = 600, jitter_seconds = 0 }}

[sources.ebay-api]
base_url = "{market.url}"
queries = ["nvidia h100 pcie"]
schedule = {{ interval_minutes = 600, jitter_seconds = 0 }}

{cheap_h100_alert(receiver_url)}{extra}
""")


def _cheap_h100s(corpus: Path) -> set[str]:
    from decimal import Decimal

    from gpuprices.pipeline.classify import classify

    items = json.loads((corpus / "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json").read_text())
    cheap = set()
    for item in items:
        shipping = Decimal(item.get("shippingOptions", [{}])[0].get("shippingCost", {}).get("value", "0"))
        trusted = item["seller"]["feedbackScore"] >= 5  # lower feedback is quarantined: no market alert
        if (classify(item["title"]).sku == "h100-80gb-pcie" and trusted
                and Decimal(item["price"]["value"]) + shipping < 33000):
            cheap.add(item["legacyItemId"])
    return cheap


def test_run_once_delivers_each_new_listing_alert_exactly_once(tmp_path: Path, corpus: Path,
                                                               market: LocalServer) -> None:
    with WebhookReceiver(SECRET) as receiver:
        config = _config(tmp_path, market, receiver.url)
        done = run_cli("--config", str(config), "run", "--once", cwd=tmp_path, env=API_ENV)
        assert done.returncode == 0, done.stderr
        assert "ebay-api: ok" in done.stdout and "ebay: ok" in done.stdout
        expected = _cheap_h100s(corpus)
        assert expected  # the corpus has H100 PCIe cards under $33k
        delivered = {json.loads(bodies[0])["data"]["item_id"] for bodies in receiver.accepted.values()}
        assert delivered == expected
        assert all(len(bodies) == 1 for bodies in receiver.accepted.values())
        assert all(a.verified for a in receiver.attempts)
        # A second cycle sees the same listings: nothing is sent again.
        again = run_cli("--config", str(config), "run", "--once", cwd=tmp_path, env=API_ENV)
        assert again.returncode == 0, again.stderr
        assert len(receiver.accepted) == len(expected)
    status = run_cli("--config", str(config), "status", cwd=tmp_path)
    assert status.returncode == 0
    assert "ebay-api: last crawl" in status.stdout and "health: healthy" in status.stdout
    assert f"{len(expected) * 2 // 2} delivered" in status.stdout


def test_degraded_source_alerts_the_operator_and_mutes_nothing_it_did_not_feed(tmp_path: Path, corpus: Path) -> None:
    with LocalServer() as blocked, WebhookReceiver(SECRET) as receiver:
        blocked.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        blocked.route("/sch/i.html", Reply((corpus / "ebay-blocked/pardon-our-interruption-2026-07-ebay-com.html")
                                           .read_bytes()))
        config = _config(tmp_path, blocked, receiver.url)
        done = run_cli("--config", str(config), "run", "--once", cwd=tmp_path)  # no API keys: search pages only
        assert done.returncode == 1
        # The blocked crawl fed no index row, so no market alert rests on it: nothing to mute.
        assert "market alerts muted" not in done.stdout
        bodies = [json.loads(b[0]) for b in receiver.accepted.values()]
        assert len(bodies) == 1 and bodies[0]["data"]["kind"] == "health"
        assert "blocked" in bodies[0]["data"]["title"]


def test_daemon_cycle_lock_and_clean_sigterm(tmp_path: Path, corpus: Path, market: LocalServer) -> None:
    db = tmp_path / "prices.db"
    with WebhookReceiver(SECRET) as receiver:
        config = _config(tmp_path, market, receiver.url)
        with running_daemon(config, tmp_path, **API_ENV) as daemon:
            wait_for(lambda: db.exists() and len(query(db, "SELECT id FROM crawls WHERE status != 'running'")) == 2,
                     timeout=90, interval=0.3)
            wait_for(lambda: len(receiver.accepted) == len(_cheap_h100s(corpus)), timeout=90, interval=0.3)
            second = run_cli("--config", str(config), "run", cwd=tmp_path, env=API_ENV, timeout=60)
            assert second.returncode != 0
            assert "already running" in second.stderr and len(second.stderr.strip().splitlines()) == 1
            status = run_cli("--config", str(config), "status", cwd=tmp_path)
            assert "daemon: running" in status.stdout
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
    assert integrity(db) == "ok"
    assert query(db, "SELECT COUNT(*) AS n FROM crawls WHERE status = 'running'")[0]["n"] == 0
    assert "daemon: not running" in run_cli("--config", str(config), "status", cwd=tmp_path).stdout


def test_sigterm_mid_crawl_leaves_a_consistent_database(tmp_path: Path, corpus: Path) -> None:
    db = tmp_path / "prices.db"
    with LocalServer() as slow, WebhookReceiver(SECRET) as receiver:
        slow.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        slow.route("/sch/i.html", Reply((corpus / "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html")
                                        .read_bytes(), delay=4.0))
        config = _config(tmp_path, slow, receiver.url, extra="")
        with running_daemon(config, tmp_path) as daemon:
            wait_for(lambda: any(r.path == "/sch/i.html" for r in slow.requests), timeout=90, interval=0.3)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
    assert integrity(db) == "ok"
    crawls = query(db, "SELECT status, finished_at FROM crawls")
    assert crawls and all(c["status"] != "running" and c["finished_at"] for c in crawls)


def test_a_hanging_crawl_is_stopped_and_recorded(tmp_path: Path, corpus: Path) -> None:
    with LocalServer() as hanging:
        hanging.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        hanging.route("/sch/i.html", Reply(b"<html></html>", delay=30.0))
        config = write_config(tmp_path / "c.toml", fast_crawl_config(tmp_path / "prices.db") + f"""
[sources.ebay]
base_url = "{hanging.url}"
queries = ["h100"]
include_sold = false
""")
        row = run_crawl(load_settings(config), "ebay", timeout=3)
    assert row["status"] == "failed"
    assert "timed out" in row["error"]
