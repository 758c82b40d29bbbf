"""Crawl workers on a real Scrapyd with the project deployed, writing into a real PostgreSQL.

Two crawls run at once on the worker and nothing is lost or duplicated; the API secrets and the
database URL travel in no job; a worker killed mid-crawl leaves that crawl failed and the next one
succeeds; the cycle after the jobs sends each alert once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpuprices.config import load_settings
from gpuprices.crawling import run_crawl
from gpuprices.cycle import analyse_and_alert
from gpuprices.scrapyd_jobs import ScrapydWorkers, deploy
from gpuprices.storage.factory import open_store
from tests.e2e import fast_crawl_config, write_config
from tests.faults import SECRET, secrets_in
from tests.httpserver import LocalServer, Reply
from tests.scrapyd_server import ScrapydServer
from tests.test_daemon import API_ENV, SEARCH, TOKEN, _cheap_h100s, cheap_h100_alert
from tests.webhook_receiver import WebhookReceiver

ROBOTS = Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
LAPTOPS = "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html"


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, postgres: Any) -> Iterator[tuple[ScrapydServer, str]]:
    """One Scrapyd worker whose own environment names the shared database and holds the API keys."""
    url = postgres.new_database()
    server = ScrapydServer(tmp_path_factory.mktemp("scrapyd"), {"GPUPRICES_STORAGE__DATABASE": url, **API_ENV})
    server.start()
    try:
        from gpuprices.config import WorkersSettings

        lines = deploy(WorkersSettings(kind="scrapyd", urls=[server.url]))
        assert "gpuprices version" in lines[0] and "1" in lines[0]
        yield server, url
    finally:
        server.kill()


def _settings(tmp_path: Path, database: str, api: LocalServer, search: LocalServer, worker_url: str,
              receiver_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    config = write_config(tmp_path / "config.toml", fast_crawl_config(Path("unused.db")) + f"""
[sources.ebay]
base_url = "{search.url}"
queries = ["lenovo laptop"]
max_pages = 1
include_sold = false

[sources.ebay-api]
base_url = "{api.url}"
queries = ["nvidia h100 pcie"]

[workers]
kind = "scrapyd"
urls = ["{worker_url}"]
poll_seconds = 0.5
unreachable_seconds = 3

{cheap_h100_alert(receiver_url)}
""")
    for key, value in API_ENV.items():  # the scheduler checks the keys exist; jobs never carry them
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GPUPRICES_STORAGE__DATABASE", database)
    return load_settings(config)


@pytest.fixture
def sites(corpus: Path) -> Iterator[tuple[LocalServer, LocalServer]]:
    h100 = (corpus / "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json").read_bytes()
    with LocalServer() as api, LocalServer() as search:
        api.route("/robots.txt", ROBOTS)
        api.route(TOKEN, Reply(b'{"access_token": "tok", "expires_in": 7200}',
                               headers={"Content-Type": "application/json"}))
        api.route(SEARCH, Reply(h100, headers={"Content-Type": "application/json"}))
        search.route("/robots.txt", ROBOTS)
        search.route("/sch/i.html", Reply((corpus / LAPTOPS).read_bytes()))
        yield api, search


def _count(store: Any, sql: str) -> int:
    return int(next(iter(store.query(sql)[0].values())))


def test_two_crawls_at_once_then_a_killed_worker_then_alerts_once(
        tmp_path: Path, corpus: Path, worker: tuple[ScrapydServer, str], sites: tuple[LocalServer, LocalServer],
        monkeypatch: pytest.MonkeyPatch) -> None:
    server, database = worker
    api, search = sites
    with WebhookReceiver(SECRET) as receiver:
        settings = _settings(tmp_path, database, api, search, server.url, receiver.url, monkeypatch)
        workers = ScrapydWorkers(settings.workers)
        results: dict[str, dict[str, Any]] = {}

        def crawl(source: str) -> None:
            results[source] = run_crawl(settings, source, runner=workers.run)

        threads = [threading.Thread(target=crawl, args=(s,)) for s in ("ebay-api", "ebay")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert {s: r["status"] for s, r in results.items()} == {"ebay-api": "ok", "ebay": "ok"}, (
            [r["error"] for r in results.values()], server.logs()[-3000:])
        runs = [(j["start_time"], j["end_time"]) for j in server.jobs()["finished"]]
        assert len(runs) == 2 and max(start for start, _ in runs) < min(end for _, end in runs)  # overlapping

        with open_store(database) as store:
            listed = sum(r["listings"] for r in results.values())
            assert all(r["listings"] > 0 for r in results.values())
            assert _count(store, "SELECT COUNT(*) FROM observations") == listed  # nothing lost
            assert _count(store, "SELECT COUNT(*) FROM listings") == _count(
                store, "SELECT COUNT(DISTINCT (family, item_id, variation_id)) FROM listings") == sum(
                r["listings_new"] for r in results.values())  # nothing duplicated
            report = analyse_and_alert(settings, store, list(results.values()))
            assert not report.muted
        expected = _cheap_h100s(corpus)
        delivered = {json.loads(bodies[0])["data"]["item_id"] for bodies in receiver.accepted.values()}
        assert expected and delivered == expected
        with open_store(database) as store:
            analyse_and_alert(settings, store, list(results.values()))  # the same crawls again: nothing new
        assert len(receiver.accepted) == len(expected)
        assert all(len(bodies) == 1 for bodies in receiver.accepted.values())

        # The job arguments and the worker's logs carry no secret.
        jobs_text = json.dumps(server.jobs()) + server.logs()
        assert not secrets_in(jobs_text, {**API_ENV, "database": str(database)})

        # A worker killed in mid-crawl: its crawl fails; once it is back, the next crawl succeeds.
        search.route("/sch/i.html", Reply((corpus / LAPTOPS).read_bytes(), delay=30.0))
        killed: dict[str, Any] = {}
        pages_before = sum(r.path == "/sch/i.html" for r in search.requests)
        thread = threading.Thread(target=lambda: killed.update(run_crawl(settings, "ebay", runner=workers.run)))
        thread.start()
        deadline = time.monotonic() + 120
        while sum(r.path == "/sch/i.html" for r in search.requests) == pages_before and time.monotonic() < deadline:
            time.sleep(0.2)  # until the job runs and waits for its page
        server.kill()
        thread.join(timeout=120)
        assert killed["status"] == "failed" and "unreachable" in killed["error"], killed
        server.start()
        search.route("/sch/i.html", Reply((corpus / LAPTOPS).read_bytes()))
        again = run_crawl(settings, "ebay", runner=workers.run)
        assert again["status"] == "ok" and again["listings"] == results["ebay"]["listings"]
        with open_store(database) as store:
            assert store.crawl(killed["id"])["status"] == "failed"
            assert _count(store, "SELECT COUNT(*) FROM crawls WHERE status = 'running'") == 0


def test_job_arguments_never_carry_secrets_and_workers_need_postgres() -> None:
    from gpuprices.config import Settings
    from gpuprices.crawling import plan_crawl
    from gpuprices.daemon import Daemon
    from gpuprices.exceptions import ConfigError
    from gpuprices.scrapyd_jobs import job_plan

    settings = Settings(sources={"ebay-api": {"client_id": "app-id-secret", "client_secret": "cert-secret"}},
                        storage={"database": "postgresql://gp:db-password@db.internal/prices"},
                        workers={"kind": "scrapyd", "urls": ["http://127.0.0.1:6800"]})
    plan = plan_crawl(settings, "ebay-api", crawl_id=7)
    assert plan.spider_kwargs["client_secret"] == "cert-secret"  # the local child gets it over stdin
    text = json.dumps(job_plan(plan))
    assert "secret" not in text and "db-password" not in text and "app-id" not in text
    assert json.loads(text)["scrapy_settings"]["GPUPRICES_CRAWL_ID"] == 7
    with pytest.raises(ConfigError, match="PostgreSQL"):
        Daemon(Settings(workers={"kind": "scrapyd", "urls": ["http://127.0.0.1:6800"]}))
