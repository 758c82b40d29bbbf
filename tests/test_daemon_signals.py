"""The daemon under signals and partial outages (issue 10): orphaned crawl children, SIGTERM with a
hanging download, Ctrl-C, secrets in the child's environment, a receiver that holds a delivery."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from gpuprices.config import load_settings
from gpuprices.crawling import plan_crawl
from gpuprices.processes import child_arguments, is_crawl_child
from gpuprices.storage.sqlite import SqliteStore
from tests.e2e import query, run_cli, write_config
from tests.faults import SECRET, daemon_log, env_without_secrets, running_daemon, secrets_in, start_cli, wait_for
from tests.httpserver import LocalServer, Reply

EBAY_SECRET = "ebay-cert-id-not-for-children"
ENV_SECRET = "gpuprices-env-secret-not-for-children"


def _config(tmp_path: Path, site_url: str, *, grace: float = 2, extra: str = "", api: bool = False,
            search: bool = True) -> Path:
    """One search source on a local site (and the API source there when ``api``), the live sources off,
    downloads allowed to hang."""
    api_table = (f'base_url = "{site_url}"\nqueries = ["nvidia h100 pcie"]\n'
                 'schedule = { interval_minutes = 600, jitter_seconds = 0 }' if api else "enabled = false")
    return write_config(tmp_path / "config.toml", f"""
[storage]
database = "{tmp_path / 'prices.db'}"

[crawl]
download_delay = 0
autothrottle = false
retry_times = 0
timeout = 300
crawl_timeout = 600

[daemon]
stop_grace_seconds = {grace}

[sources.rental]
enabled = false

[sources.ebay-api]
{api_table}

[sources.ebay]
enabled = {str(search).lower()}
base_url = "{site_url}"
queries = ["h100"]
max_pages = 1
include_sold = false
schedule = {{ interval_minutes = 600, jitter_seconds = 0 }}
{extra}
""")


@contextlib.contextmanager
def _hanging_site(delay: float = 240.0) -> Iterator[LocalServer]:
    with LocalServer() as site:
        site.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        site.route("/sch/i.html", Reply(b"<html></html>", delay=delay))
        yield site


def _query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows, or none while the daemon is still creating the database."""
    try:
        return query(db, sql, params) if db.exists() else []
    except sqlite3.OperationalError:
        return []


def _running_child(db: Path) -> dict[str, Any] | None:
    rows = _query(db, "SELECT id, pid FROM crawls WHERE status = 'running' AND pid IS NOT NULL ORDER BY id DESC")
    return rows[0] if rows and is_crawl_child(rows[0]["pid"], rows[0]["id"]) else None


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


# -- findings 1 and 4 ---------------------------------------------------------------------------------
def test_a_killed_daemon_takes_its_crawl_child_along_and_children_get_no_secrets(tmp_path: Path) -> None:
    db = tmp_path / "prices.db"
    with _hanging_site() as site:
        config = _config(tmp_path, site.url)
        secrets = {"EBAY_CLIENT_ID": "ebay-app-id-x", "EBAY_CLIENT_SECRET": EBAY_SECRET,
                   # (the hyphenated form: the underscore one conflicts with a [sources.ebay-api] table)
                   "GPUPRICES_SOURCES__EBAY-API__CLIENT_SECRET": ENV_SECRET}
        with running_daemon(config, tmp_path, **secrets) as daemon:
            child = wait_for(lambda: _running_child(db), what="a running crawl child")
            wait_for(lambda: site.seen("/sch/i.html"), what="the search request")
            pid = int(child["pid"])
            # Finding 4: a minimal environment; secrets only ever travel over the stdin plan.
            environ = _environ(pid)
            assert not [k for k in environ if k.startswith(("EBAY_", "GPUPRICES_"))], sorted(environ)
            assert not secrets_in(json.dumps(environ), {"eBay secret": EBAY_SECRET, "settings secret": ENV_SECRET})
            # Finding 1: its own process group, and it dies with the daemon.
            assert os.getpgid(pid) == pid != os.getpgid(daemon.pid)
            daemon.kill()
            daemon.wait()
            wait_for(lambda: not is_crawl_child(pid, int(child["id"])), timeout=60, what="the orphan's death")
        # The restarted daemon closes the abandoned crawl and crawls the site anew, once.
        with running_daemon(config, tmp_path) as daemon:
            wait_for(lambda: len(_query(db, "SELECT id FROM crawls")) == 2 and _running_child(db), what="a new crawl")
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=90) == 0
    crawls = query(db, "SELECT id, status, error FROM crawls ORDER BY id")
    assert crawls[0]["status"] == "failed" and "daemon stopped" in crawls[0]["error"]
    assert [c["status"] for c in crawls[1:]] == ["aborted"]


def _start_child(settings: Any, crawl_id: int) -> subprocess.Popen[bytes]:
    """A crawl child whose parent is this test, not a daemon: the kernel will not end it for us."""
    plan = plan_crawl(settings, "ebay", crawl_id=crawl_id)
    child = subprocess.Popen([sys.executable, "-m", "gpuprices.crawl_child", *child_arguments(crawl_id)],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env_without_secrets(),
                             start_new_session=True)
    assert child.stdin is not None
    child.stdin.write(json.dumps(attrs.asdict(plan)).encode())
    child.stdin.close()
    return child


def test_late_results_of_a_failed_crawl_are_discarded_and_survivors_are_ended_before_scheduling(
        tmp_path: Path, corpus: Path) -> None:
    db = tmp_path / "prices.db"
    page = (corpus / "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html").read_bytes()
    with LocalServer() as site:
        site.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        site.route("/sch/i.html", Reply(page, delay=6.0), Reply(page, delay=240.0))
        settings = load_settings(_config(tmp_path, site.url))
        with SqliteStore(db) as store:
            first = store.start_crawl("ebay", ["h100"])
        child = _start_child(settings, first)
        with SqliteStore(db) as store:
            store.set_crawl_pid(first, child.pid)
            wait_for(lambda: site.seen("/sch/i.html"), what="the search request")
            store.fail_abandoned_crawls(error="given up")  # what a restarted daemon did to it
        assert child.stderr is not None
        stderr = child.stderr.read()
        child.wait(timeout=120)
        # The page arrived after the crawl was given up: nothing of it is kept, the crawl stays failed.
        (row,) = query(db, "SELECT status, listings, error FROM crawls WHERE id = ?", (first,))
        assert row["status"] == "failed" and not row["listings"] and row["error"] == "given up"
        assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 0
        assert query(db, "SELECT COUNT(*) AS n FROM pages")[0]["n"] == 0
        assert b"late results are discarded" in stderr

        # A survivor of a killed daemon (its parent is not the daemon, so no parent-death signal):
        with SqliteStore(db) as store:
            second = store.start_crawl("ebay", ["h100"])
        survivor = _start_child(settings, second)
        with SqliteStore(db) as store:
            store.set_crawl_pid(second, survivor.pid)
        wait_for(lambda: len(site.seen("/sch/i.html")) == 2, what="the survivor's request")
        config = tmp_path / "config.toml"
        with running_daemon(config, tmp_path) as daemon:
            wait_for(lambda: len(_query(db, "SELECT id FROM crawls")) == 3, what="the daemon's own crawl")
            # The daemon killed it (SIGKILL to its group) before it scheduled its own crawl. (Its exit
            # can lag on a machine busy with disk writes: waited for, not polled.)
            assert survivor.wait(timeout=60) == -signal.SIGKILL, daemon_log(config)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=90) == 0, daemon_log(config)
    log = daemon_log(config)
    assert log.index(f"its process {survivor.pid} survived the daemon") < log.index("gpuprices daemon started")
    (row,) = query(db, "SELECT status, error FROM crawls WHERE id = ?", (second,))
    assert row["status"] == "failed" and "daemon stopped" in row["error"]


# -- findings 2 and 9 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_stop_signal_aborts_a_hanging_crawl_after_the_grace_period(tmp_path: Path, sig: int, code: int) -> None:
    db = tmp_path / "prices.db"
    with _hanging_site() as site:
        config = _config(tmp_path, site.url, grace=2)
        with running_daemon(config, tmp_path) as daemon:
            child = wait_for(lambda: _running_child(db), what="a running crawl child")
            wait_for(lambda: site.seen("/sch/i.html"), what="the search request")
            daemon.send_signal(sig)
            # The download hangs for 240 s and crawl_timeout is 600 s: only the grace period ends it.
            assert daemon.wait(timeout=80) == code, daemon_log(config)
            stderr = daemon_log(config)
    assert not is_crawl_child(int(child["pid"]), int(child["id"]))
    (crawl,) = query(db, "SELECT status, error, finished_at FROM crawls")
    assert crawl["status"] == "aborted" and crawl["finished_at"], crawl
    assert "Traceback" not in stderr


def test_ctrl_c_during_crawl_exits_130_and_aborts_the_crawl(tmp_path: Path) -> None:
    db = tmp_path / "prices.db"
    with _hanging_site() as site:
        config = _config(tmp_path, site.url, grace=2)
        crawl = start_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path)
        try:
            child = wait_for(lambda: _running_child(db), what="a running crawl child")
            wait_for(lambda: site.seen("/sch/i.html"), what="the search request")
            crawl.send_signal(signal.SIGINT)  # what Ctrl-C sends (the child is in its own session)
            _, stderr = crawl.communicate(timeout=80)
        finally:
            if crawl.poll() is None:
                crawl.kill()
                crawl.communicate()
    assert crawl.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not is_crawl_child(int(child["pid"]), int(child["id"]))
    (row,) = query(db, "SELECT status, finished_at FROM crawls")
    assert row["status"] == "aborted" and row["finished_at"]


def test_status_shows_a_running_crawl_whose_process_is_gone_as_abandoned(tmp_path: Path) -> None:
    db = tmp_path / "prices.db"
    config = _config(tmp_path, "http://127.0.0.1:9")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with SqliteStore(db) as store:
        crawl = store.start_crawl("ebay", ["h100"], pid=int(gone.stdout))
        store.db.execute("UPDATE crawls SET started_at = ? WHERE id = ?",
                         [(datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds"), crawl])
    done = run_cli("--config", str(config), "status", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("ebay: last crawl")]
    assert "abandoned" in line and "running" not in line


# -- finding 3, in the daemon: a receiver that holds a delivery delays no crawl ------------------------------
class SilentReceiver:
    """Accepts connections and never answers; records when each one arrived and when the client hung up
    (wall clock)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.arrivals: list[datetime] = []
        self.hung_up: list[datetime] = []
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.arrivals.append(datetime.now(UTC))
            self._held.append(conn)
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        self.hung_up.append(datetime.now(UTC))

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


def test_a_receiver_that_never_answers_delays_no_crawl(tmp_path: Path, corpus: Path) -> None:
    db = tmp_path / "prices.db"
    h100 = (corpus / "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json").read_bytes()
    receiver = SilentReceiver()
    try:
        with LocalServer() as market:
            market.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
            market.route("/identity/v1/oauth2/token", Reply(b'{"access_token": "tok", "expires_in": 7200}',
                                                            headers={"Content-Type": "application/json"}))
            market.route("/buy/browse/v1/item_summary/search",
                         Reply(h100, headers={"Content-Type": "application/json"}))
            market.route("/p", Reply((corpus / "retail/amazon-com-search-laptop-2025-08.html").read_bytes()))
            # ebay-api first (its alerts go to the silent receiver), then product-page (jobs due at the
            # same moment run in the order of their names).
            config_path = _config(tmp_path, market.url, api=True, search=False, extra=f"""
[sources.product-page]
urls = ["{market.url}/p"]

[[alerts.channels]]
name = "ops"
kind = "webhook"
url = "{receiver.url}"
secret = "{SECRET}"
timeout = 60

[[alerts.rules]]
name = "cheap-h100"
kind = "new_listing_below"
sku = "h100-80gb-pcie"
unit_price_usd = 33000
""")
            env = {"EBAY_CLIENT_ID": "test-app-id", "EBAY_CLIENT_SECRET": "test-cert-id-secret"}
            with running_daemon(config_path, tmp_path, **env) as daemon:
                wait_for(lambda: len(_query(db, "SELECT id FROM crawls WHERE status NOT IN ('running')")) == 2,
                          timeout=180, what="both crawls")
                crawls = query(db, "SELECT source, finished_at FROM crawls ORDER BY id")
                assert receiver.arrivals  # the first delivery is being held by the receiver
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=90) == 0
    finally:
        receiver.close()
    # The second crawl finished while the receiver still held the first delivery (60 s timeout).
    assert [c["source"] for c in crawls] == ["ebay-api", "product-page"]
    assert receiver.hung_up
    assert datetime.fromisoformat(crawls[1]["finished_at"]) < min(receiver.hung_up)
    assert query(db, "SELECT COUNT(*) AS n FROM deliveries WHERE status = 'delivered'")[0]["n"] == 0
