"""Fault injection helpers: a scriptable HTTP server that can also misbehave at the socket level, configs,
database checks and process lookups for the fault-injection suites (``test_faults_*.py``)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from gpuprices.alerts.health import Health, HealthRules, check_crawl
from tests.e2e import ROOT, query, write_config
from tests.httpserver import Matcher, Reply, Seen

ALLOW_ALL = Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
SEARCH_PATH = "/sch/i.html"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

# Pages of the corpus used by the fault tests (see tests/conftest.py for the corpus fixture).
LENOVO = "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html"  # 60 listings, s-card, USD
PARDON = "ebay-blocked/pardon-our-interruption-2026-07-ebay-com.html"
AKAMAI = "ebay-blocked/akamai-service-unavailable-2025-08.html"

BAD_PRICE_SQL = "SELECT COUNT(*) AS n FROM observations WHERE price IS NULL OR CAST(price AS REAL) <= 0"
BAD_LISTING_PRICE_SQL = "SELECT COUNT(*) AS n FROM listings WHERE price IS NULL OR CAST(price AS REAL) <= 0"


# -- socket-level faults ---------------------------------------------------------------------------
@attrs.define
class Reset:
    """Read the request, then close the connection with a TCP RST and no answer at all."""


@attrs.define
class Truncate:
    """Answer ``status`` with ``Content-Length: declared`` but send only ``body`` and close; with ``declared=None``
    no Content-Length at all (``Connection: close`` delimits the body, so the client cannot tell it was cut)."""

    body: bytes
    declared: int | None
    status: int = 200
    headers: dict[str, str] = attrs.Factory(lambda: {"Content-Type": "text/html; charset=utf-8"})


@attrs.define
class Gate:
    """Hold the request until ``event`` is set (at most ``timeout`` seconds), then answer ``reply``."""

    event: threading.Event
    reply: Reply
    timeout: float = 120.0


Action = Reply | Reset | Truncate | Gate


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients that time out and hang up are what these tests provoke


class FaultServer:
    """Like :class:`tests.httpserver.LocalServer` (scripted replies per route, the last one repeating, every
    request recorded) plus socket-level faults: :class:`Reset` and :class:`Truncate`."""

    def __init__(self) -> None:
        self.routes: list[tuple[Matcher, list[Action]]] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                headers = {key.lower(): value for key, value in self.headers.items()}
                action = server._action(self.command, parts.path, parse_qs(parts.query), headers, body)
                if isinstance(action, Gate):
                    action.event.wait(action.timeout)
                    action = action.reply
                if isinstance(action, Reset):
                    self.close_connection = True
                    # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                if isinstance(action, Truncate):
                    self.close_connection = True
                    self.send_response(action.status)
                    for key, value in action.headers.items():
                        self.send_header(key, value)
                    if action.declared is None:
                        self.send_header("Connection", "close")
                    else:
                        self.send_header("Content-Length", str(action.declared))
                    self.end_headers()
                    self.wfile.write(action.body)
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action.delay:
                    time.sleep(action.delay)
                self.send_response(action.status)
                for key, value in action.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(action.body)))
                self.end_headers()
                self.wfile.write(action.body)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def route(self, matcher: Matcher | str, *actions: Action) -> None:
        if isinstance(matcher, str):
            path = matcher
            matcher = lambda p, q: p == path  # noqa: E731
        self.routes.append((matcher, list(actions)))

    def _action(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
                body: bytes) -> Action:
        with self._lock:
            self.requests.append(Seen(method, path, query, headers, body, time.monotonic()))
            for matcher, actions in self.routes:
                if matcher(path, query):
                    return actions.pop(0) if len(actions) > 1 else actions[0]
        return Reply(b"not found", 404, {"Content-Type": "text/plain"})

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def search_site(*actions: Action) -> FaultServer:
    """A site whose robots.txt allows everything and whose search page plays ``actions``."""
    server = FaultServer()
    server.route("/robots.txt", ALLOW_ALL)
    server.route(SEARCH_PATH, *actions)
    return server


def html(body: bytes, *, status: int = 200, content_type: str = "text/html; charset=utf-8",
         headers: dict[str, str] | None = None, delay: float = 0.0) -> Reply:
    return Reply(body, status, {"Content-Type": content_type, **(headers or {})}, delay)


# -- configuration ---------------------------------------------------------------------------------
def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def toml_value(value: Any) -> str:
    """A Python value as a TOML literal (the few types configs here need)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML literal for {value!r}")


FAST_CRAWL: dict[str, Any] = {"download_delay": 0, "autothrottle": False, "retry_times": 1, "max_retry_after": 5,
                              "timeout": 10}


def crawl_config(tmp_path: Path, base_url: str, *, crawl: dict[str, Any] | None = None, ebay: str = "",
                 extra: str = "", queries: tuple[str, ...] = ("nvidia h100 80gb",), max_pages: int = 1,
                 database: Path | None = None, name: str = "config.toml") -> Path:
    """A fast config for the ``ebay`` source on ``base_url``: no delays, one page, no sold view, no API.

    ``crawl`` overrides keys of ``[crawl]``; ``ebay`` lines go into ``[sources.ebay]``, ``extra`` at the end.
    """
    section = "\n".join(f"{key} = {toml_value(value)}" for key, value in (FAST_CRAWL | (crawl or {})).items())
    text = f"""
[storage]
database = {toml_value(str(database or tmp_path / "prices.db"))}

[crawl]
{section}

[sources.ebay]
base_url = "{base_url}"
queries = {toml_value(list(queries))}
max_pages = {max_pages}
include_sold = false
{ebay}

{other_sources_off("ebay")}
{extra}
"""
    return write_config(tmp_path / name, text)


def other_sources_off(keep: str) -> str:
    """``[sources.X] enabled = false`` for every configured source but ``keep``: tests never touch the live web
    (some sources, e.g. public rental feeds, are on by default), whatever sources the config grows."""
    from gpuprices.config import SourcesSettings

    tables = []
    for name, field in SourcesSettings.model_fields.items():
        key = field.alias or name
        model = field.annotation
        if key != keep and isinstance(model, type) and "enabled" in getattr(model, "model_fields", {}):
            tables.append(f"[sources.{key}]\nenabled = false\n")
    return "\n".join(tables)


def webhook_channel(receiver_url: str, *, name: str = "ops", secret: str = SECRET) -> str:
    return f"""
[[alerts.channels]]
name = "{name}"
kind = "webhook"
url = "{receiver_url}/gpu"
secret = "{secret}"
"""


def env_without_secrets(**extra: str) -> dict[str, str]:
    """This environment without API keys or gpuprices settings, plus ``extra``; the repository importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EBAY_", "GPUPRICES_"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env | extra


def start_cli(*args: str, cwd: Path, log: Path | None = None, env: dict[str, str] | None = None
              ) -> subprocess.Popen[str]:
    """``python -m gpuprices ARGS`` started in the background (:func:`env_without_secrets` plus ``env``);
    output piped, or appended to ``log`` (a daemon that runs for a while must not block on a full pipe
    nobody reads)."""
    full_env = env_without_secrets(**(env or {}))
    if log is None:
        return subprocess.Popen([sys.executable, "-m", "gpuprices", *args], cwd=cwd, env=full_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with log.open("a") as handle:
        return subprocess.Popen([sys.executable, "-m", "gpuprices", *args], cwd=cwd, env=full_env,
                                stdout=handle, stderr=subprocess.STDOUT, text=True)


@contextmanager
def running_daemon(config: Path, cwd: Path, **env: str) -> Iterator[subprocess.Popen[str]]:
    """``gpuprices run`` with ``env`` (API keys …), its output in ``daemon.log`` beside the config
    (:func:`daemon_log`); killed at the end if the test left it running."""
    daemon = start_cli("--config", str(config), "run", cwd=cwd, log=config.parent / "daemon.log", env=env)
    try:
        yield daemon
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.wait()


def daemon_log(config: Path) -> str:
    """The end of what the daemons of :func:`running_daemon` wrote."""
    return (config.parent / "daemon.log").read_text()[-4000:]


def secrets_in(text: str | bytes, secrets: dict[str, str]) -> list[str]:
    """The names of those ``secrets`` (name → value) that appear in ``text``."""
    data = text.encode("utf-8", errors="surrogateescape") if isinstance(text, str) else text
    return [name for name, secret in secrets.items() if secret.encode() in data]


# -- checks ----------------------------------------------------------------------------------------
def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def assert_no_invented_prices(db: Path) -> None:
    """No observation or listing without a positive price (a broken page must never become a $0 listing)."""
    assert query(db, BAD_PRICE_SQL)[0]["n"] == 0
    assert query(db, BAD_LISTING_PRICE_SQL)[0]["n"] == 0
    orphans = query(db, "SELECT COUNT(*) AS n FROM observations WHERE title IS NULL OR TRIM(title) = ''")
    assert orphans[0]["n"] == 0


def latest_crawl(db: Path) -> dict[str, Any] | None:
    """The newest ``crawls`` row, or None while the database or its tables do not exist yet."""
    if not db.exists():
        return None
    try:
        rows = query(db, "SELECT * FROM crawls ORDER BY id DESC LIMIT 1")
    except sqlite3.OperationalError:
        return None
    return rows[0] if rows else None


def only_crawl(db: Path) -> dict[str, Any]:
    crawls = query(db, "SELECT * FROM crawls ORDER BY id")
    assert len(crawls) == 1, crawls
    return crawls[0]


def pages_of(db: Path, crawl_id: int) -> list[dict[str, Any]]:
    return query(db, "SELECT * FROM pages WHERE crawl_id = ? ORDER BY id", (crawl_id,))


def health_of(db: Path, crawl: dict[str, Any]) -> Health:
    """The health verdict the monitor gives ``crawl`` (its source's earlier crawls as history)."""
    history = query(db, "SELECT * FROM crawls WHERE source = ? AND status != 'running' AND id < ? ORDER BY id DESC",
                    (crawl["source"], crawl["id"]))
    return check_crawl(crawl, history, HealthRules())


def has_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" in text


# -- processes -------------------------------------------------------------------------------------
def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ..." — comm may contain spaces and parentheses: split after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def children_running(parent: int, module: str) -> list[int]:
    """Pids of live processes started by ``parent`` whose command line runs ``python -m module``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if module.encode() in argv and _ppid(int(entry.name)) == parent:
            found.append(int(entry.name))
    return found


def wait_for(predicate: Callable[[], Any], timeout: float = 120.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """The first true value of ``predicate``; a database still being created counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(sqlite3.OperationalError):  # the file appears a moment before its tables
            value = predicate()
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s")


def stop(process: subprocess.Popen[str], timeout: float = 30.0) -> tuple[str, str]:
    """SIGTERM (then SIGKILL) a process we started; its piped output (empty when it went to a file)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return out or "", err or ""


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``path`` (root only); skips the test when mounting is not possible."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill_disk(folder: Path, leave: int = 0) -> Path:
    """Fill the filesystem of ``folder`` with a file until at most ``leave`` bytes are free."""
    filler = folder / "filler.bin"
    chunk = b"\0" * 4096
    with filler.open("wb") as handle:
        try:
            while True:
                stats = os.statvfs(folder)
                if stats.f_bavail * stats.f_frsize <= leave:
                    break
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    return filler


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)
