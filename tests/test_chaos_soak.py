"""Chaos soak (issue 10): the daemon against a flaky local API and a flaky receiver, SIGKILLed and
restarted at random points, SIGTERMed at the end. Loopback only, bounded in count and time.

Afterwards: every alert delivered at least once and deduplicable by ``webhook-id`` (no id the
database does not know, one body per id); every listing a completed crawl found cheap has its alert
(none lost, including crawls whose analysis a kill interrupted); no crawl left ``running``; no
crawl process left alive; ``PRAGMA integrity_check`` ok; the cycle's index equal to a rebuild
from all observations.

The short version (4 restarts) runs with the suite; ``GPUPRICES_SOAK_RESTARTS=30`` (and
``GPUPRICES_SOAK_SEED``) runs a longer one. The counts are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from gpuprices.market import compute_index, daily_index, load_observations
from gpuprices.pipeline.classify import load_catalog
from gpuprices.processes import is_crawl_child
from gpuprices.storage.sqlite import SqliteStore
from tests.e2e import ROOT, query, write_config
from tests.httpserver import LocalServer, Reply
from tests.webhook_receiver import WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
RESTARTS = int(os.environ.get("GPUPRICES_SOAK_RESTARTS", "4"))
SEED = int(os.environ.get("GPUPRICES_SOAK_SEED", "20261201"))
THRESHOLD = 33000
POINTS = ("crawling", "after-crawl", "startup")
COMPLETED = "SELECT id FROM crawls WHERE status IN ('ok', 'partial')"


def _search_replies(corpus: Path, rng: random.Random, count: int) -> list[Reply]:
    """Each search answer a new generation of the corpus's H100 listings (new item ids, so every
    completed crawl raises new alerts); some answers fail or are slow."""
    items = json.loads((corpus / "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json").read_text())
    replies = []
    for generation in range(count):
        roll = rng.random()
        if roll < 0.2:
            replies.append(Reply(b'{"errors": []}', 500, {"Content-Type": "application/json"}))
            continue
        fresh = []
        for item in items:
            legacy = str(int(item["legacyItemId"]) + (generation + 1) * 10**6)
            fresh.append({**item, "legacyItemId": legacy, "itemId": f"v1|{legacy}|0"})
        replies.append(Reply(json.dumps(fresh).encode(), headers={"Content-Type": "application/json"},
                             delay=rng.choice([0.0, 0.0, 0.5, 2.0])))
    return replies


def _config(tmp_path: Path, site: LocalServer, receiver: WebhookReceiver) -> Path:
    return write_config(tmp_path / "soak.toml", f"""
[storage]
database = "{tmp_path / 'soak.db'}"

[crawl]
download_delay = 0
autothrottle = false
retry_times = 2
max_retry_after = 1
timeout = 10
crawl_timeout = 120

[daemon]
stop_grace_seconds = 3
delivery_interval_seconds = 1

[sources.rental]
enabled = false

[sources.ebay]
enabled = false

[sources.ebay-api]
base_url = "{site.url}"
queries = ["nvidia h100 pcie"]
schedule = {{ interval_minutes = 1, jitter_seconds = 0 }}

[alerts]
backoff_initial_seconds = 0.5
backoff_max_seconds = 2

[[alerts.channels]]
name = "ops"
kind = "webhook"
url = "{receiver.url}/hook"
secret = "{SECRET}"
timeout = 2

[[alerts.rules]]
name = "cheap-h100"
kind = "new_listing_below"
sku = "h100-80gb-pcie"
unit_price_usd = {THRESHOLD}
""")


def _start(config: Path, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EBAY_", "GPUPRICES_"))}
    env.update({"PYTHONPATH": str(ROOT), "EBAY_CLIENT_ID": "soak-app", "EBAY_CLIENT_SECRET": "soak-secret"})
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "gpuprices", "--config", str(config), "run"], cwd=cwd,
                                env=env, stdout=out, stderr=out)


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    return query(db, sql) if db.exists() else []


def _wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except sqlite3.OperationalError:  # the schema is being created
            pass
        time.sleep(0.3)
    return False


def _settled(db: Path, since_crawl: int) -> bool:
    """A crawl of this run finished and was analysed, nothing runs, every delivery is delivered."""
    done = _rows(db, f"SELECT MAX(id) AS m FROM crawls WHERE id > {since_crawl} AND status NOT IN ('running')")
    mark = _rows(db, "SELECT value FROM meta WHERE key = 'daemon.analysed_through_crawl'")
    running = _rows(db, "SELECT id FROM crawls WHERE status = 'running'")
    pending = _rows(db, "SELECT id FROM deliveries WHERE status != 'delivered'")
    analysed = bool(done and done[0]["m"] and mark and int(mark[0]["value"]) >= int(done[0]["m"]))
    return analysed and not running and not pending


def _expected_alert_listings(db: Path) -> set[str]:
    """Listings that a completed, healthy crawl saw below the threshold: each must have its alert."""
    rows = _rows(db, "SELECT DISTINCT l.id FROM observations o JOIN listings l ON l.id = o.listing_id"
                     " JOIN crawls c ON c.id = o.crawl_id WHERE c.status = 'ok' AND o.sku = 'h100-80gb-pcie'"
                     " AND o.excluded_reason IS NULL AND o.working = 1 AND o.sold = 0 AND o.ended = 0"
                     f" AND o.quarantined = 0 AND CAST(o.unit_price_usd AS REAL) < {THRESHOLD}")
    return {str(r["id"]) for r in rows}


def test_chaos_soak(tmp_path: Path, corpus: Path) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "soak.db"
    log = tmp_path / "daemon.log"
    receiver_rng = random.Random(SEED + 1)
    with LocalServer() as site, WebhookReceiver(SECRET) as receiver:
        site.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        site.route("/identity/v1/oauth2/token", Reply(b'{"access_token": "tok", "expires_in": 7200}',
                                                      headers={"Content-Type": "application/json"}))
        site.route("/buy/browse/v1/item_summary/search", *_search_replies(corpus, rng, 40 + 6 * RESTARTS))
        # The receiver fails a third of the attempts (a 503 with Retry-After, or a 500).
        receiver.decider = lambda n: (Reply(b"busy", 503, {"Retry-After": "1"}) if receiver_rng.random() < 0.2
                                      else Reply(b"oops", 500) if receiver_rng.random() < 0.15 else None)
        config = _config(tmp_path, site, receiver)
        kills = 0
        for number in range(RESTARTS):
            daemon = _start(config, tmp_path, log)
            # A random point: while starting, mid-crawl, or just after a crawl (analysis, delivery);
            # the first three restarts cover each kind once.
            point = POINTS[number] if number < len(POINTS) else rng.choice(POINTS)
            if point == "crawling":  # a live crawl child (not the row a previous kill left behind)
                _wait(lambda: [c for c in _rows(db, "SELECT id, pid FROM crawls WHERE status = 'running'")
                               if c["pid"] and is_crawl_child(int(c["pid"]), int(c["id"]))], 90)
            elif point == "after-crawl":  # a crawl that completed (not one the restart closed as failed)
                finished = len(_rows(db, COMPLETED))
                _wait(lambda n=finished: len(_rows(db, COMPLETED)) > n, 90)
            time.sleep(rng.uniform(0.0, 1.5) if point != "startup" else rng.uniform(0.0, 8.0))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait()
            kills += 1
        # The last run: let it settle, then stop it as systemd would.
        last = int((_rows(db, "SELECT MAX(id) AS m FROM crawls") or [{"m": 0}])[0]["m"] or 0)
        daemon = _start(config, tmp_path, log)
        settled = _wait(lambda: _settled(db, last), 240)
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=90)
        assert settled, log.read_text()[-3000:]
        assert code == 0, log.read_text()[-3000:]

    alerts = query(db, "SELECT a.id, a.kind, a.payload, d.webhook_id, d.status FROM alerts a"
                       " JOIN deliveries d ON d.alert_id = a.id")
    known = {a["webhook_id"] for a in alerts}
    received = receiver.accepted
    duplicates = sum(len(bodies) - 1 for bodies in received.values())
    crawl_count = len(query(db, "SELECT id FROM crawls"))
    print(f"\nsoak: seed {SEED}, restarts {kills} (SIGKILL) + 1 SIGTERM, crawls {crawl_count}, alerts {len(alerts)},"
          f" delivery attempts {len(receiver.attempts)}, delivered ids {len(received)}, duplicates {duplicates}")
    # Every alert delivered at least once, deduplicable by webhook-id.
    assert alerts and all(a["status"] == "delivered" for a in alerts)
    assert known == set(received), (known ^ set(received))
    assert all(len(set(bodies)) == 1 for bodies in received.values())  # a resend is the same message
    # Every request that arrived whole was signed correctly. A SIGKILL while the sender was writing
    # leaves a cut-off request (headers without all of the body): never accepted, sent again later.
    cut = [a for a in receiver.attempts if not a.whole]
    unverified = [(a.webhook_id, a.status, len(a.body), a.headers.get("content-length"))
                  for a in receiver.attempts if not a.verified]
    assert all(a.verified for a in receiver.attempts if a.whole), unverified
    assert len(cut) <= kills and not any(200 <= a.status < 300 for a in cut)
    # None lost: every cheap listing a completed crawl saw has its alert.
    alerted_items = {json.loads(a["payload"]).get("item_id") for a in alerts if a["kind"] == "new_listing_below"}
    expected = _expected_alert_listings(db)
    expected_items = {r["item_id"] for r in query(db, "SELECT id, item_id FROM listings")
                      if str(r["id"]) in expected}
    assert expected_items and expected_items <= alerted_items, expected_items - alerted_items
    # No crawl left running, no crawl process left alive.
    crawls = query(db, "SELECT id, pid, status FROM crawls")
    assert not [c for c in crawls if c["status"] == "running"]
    assert not [c for c in crawls if c["pid"] and is_crawl_child(int(c["pid"]), int(c["id"]))]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    # The index a cycle computes equals the one rebuilt from every observation.
    catalog = load_catalog()
    today = datetime.now(UTC).date()
    with SqliteStore(db) as store:
        cycle = compute_index(store, catalog, days=15, today=today)
        rebuilt = daily_index(load_observations(store, since=today - timedelta(days=3650), until=today), catalog)
    rebuilt = rebuilt[rebuilt["day"] >= pd.Timestamp(today - timedelta(days=14))].reset_index(drop=True)
    assert not cycle.empty
    pd.testing.assert_frame_equal(cycle.reset_index(drop=True), rebuilt, check_dtype=False)
