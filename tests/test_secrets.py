"""No secret ever leaves the process: a full monitor cycle, every command's output, exports and the database.

The configuration holds an eBay client secret (from ``EBAY_CLIENT_SECRET``), a Standard Webhooks
``whsec_`` secret, a Slack URL with a token path, an Apprise ``json://`` URL with a secret path and a
webhook channel whose receiver is down (so delivery errors are produced and logged). Everything runs
against servers on 127.0.0.1 with ``-v`` (INFO logging: httpx request lines, Scrapy, delivery logs),
then every byte of output, every exported file, every database column (archived pages decompressed)
and every file the run left behind is searched for the secrets.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import sqlite3
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from gpuprices.storage.archive import page_body
from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.faults import secrets_in
from tests.httpserver import LocalServer, Reply
from tests.webhook_receiver import WebhookReceiver

SEARCH = "/buy/browse/v1/item_summary/search"
TOKEN = "/identity/v1/oauth2/token"

CLIENT_ID = "gpuprices-test-PRD-4f1e2d3c"
CLIENT_SECRET = "PRD-c3rtSECRET-8f2a9b71-5d6e"
BASIC = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
ACCESS_TOKEN = "v^1.1#i^1#ACCESSTOKENSECRET#r^0#p^3"
WHSEC = "whsec_" + base64.b64encode(b"gpuprices-secret-signing-key-42").decode()
DOWN_WHSEC = "whsec_" + base64.b64encode(b"second-channel-signing-key-0007").decode()
SLACK_TOKEN = "XXXXSECRETTOKEN7Hq2"
SLACK_PATH = f"/services/T000/B000/{SLACK_TOKEN}"
APPRISE_PATH = "secretpath9Zk4"
DOWN_PATH = "/hooks/DOWNSECRETPATH3Jw8"

SECRETS = {
    "client secret": CLIENT_SECRET,
    "Basic credentials": BASIC,
    "access token": ACCESS_TOKEN,
    "whsec": WHSEC,
    "whsec body": WHSEC.removeprefix("whsec_"),
    "slack path": SLACK_PATH.lstrip("/"),
    "slack token": SLACK_TOKEN,
    "apprise path": APPRISE_PATH,
    "down whsec": DOWN_WHSEC,
    "down whsec body": DOWN_WHSEC.removeprefix("whsec_"),
    "down path": DOWN_PATH.rsplit("/", 1)[1],
}
ENV = {"EBAY_CLIENT_ID": CLIENT_ID, "EBAY_CLIENT_SECRET": CLIENT_SECRET}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def market(corpus: Path) -> Iterator[LocalServer]:
    """eBay's API and a search site, plus the Slack and Apprise endpoints, all on one local server."""
    h100 = (corpus / "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json").read_bytes()
    json_type = {"Content-Type": "application/json"}
    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        server.route(TOKEN, Reply(json.dumps({"access_token": ACCESS_TOKEN, "expires_in": 7200}).encode(),
                                  headers=json_type))
        server.route(SEARCH, Reply(h100, headers=json_type))
        server.route("/sch/i.html", Reply((corpus / "ebay-search/s-card-2025-07-ebay-com-lenovo-laptop-usd.html")
                                          .read_bytes()))
        server.route(SLACK_PATH, Reply(b"ok", headers={"Content-Type": "text/plain"}))
        server.route(f"/{APPRISE_PATH}", Reply(b'{"ok": true}', headers=json_type))
        yield server


def _config(tmp_path: Path, market: LocalServer, receiver_url: str) -> Path:
    apprise_url = market.url.replace("http://", "json://") + f"/{APPRISE_PATH}"
    channels = '["ops", "slack", "apprise", "down"]'
    return write_config(tmp_path / "config.toml", fast_crawl_config(tmp_path / "prices.db") + f"""
[sources.ebay]
base_url = "{market.url}"
queries = ["lenovo laptop"]
max_pages = 1
include_sold = false

[sources.ebay-api]
base_url = "{market.url}"
queries = ["nvidia h100 pcie"]

[[alerts.channels]]
name = "ops"
kind = "webhook"
url = "{receiver_url}/gpu"
secret = "{WHSEC}"

[[alerts.channels]]
name = "slack"
kind = "slack"
url = "{market.url}{SLACK_PATH}"

[[alerts.channels]]
name = "apprise"
kind = "apprise"
url = "{apprise_url}"
timeout = 3

[[alerts.channels]]
name = "down"
kind = "webhook"
url = "http://127.0.0.1:{_closed_port()}{DOWN_PATH}"
secret = "{DOWN_WHSEC}"
timeout = 3

[[alerts.rules]]
name = "cheap-h100"
kind = "new_listing_below"
sku = "h100-80gb-pcie"
unit_price_usd = 33000
channels = {channels}

[[alerts.rules]]
name = "source-health"
kind = "health"
channels = {channels}
""")


def _database_texts(db: Path) -> Iterator[tuple[str, str, bytes]]:
    """(table, column, value) of every non-null cell; compressed blobs (the page archive) decompressed."""
    conn = sqlite3.connect(db)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(names, row, strict=True):
                    if value is None:
                        continue
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error, zstandard.ZstdError):
                            value = page_body(value)
                        yield table, column, value
                    else:
                        yield table, column, str(value).encode()
    finally:
        conn.close()


def test_full_cycle_never_shows_a_secret(tmp_path: Path, market: LocalServer) -> None:
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    with WebhookReceiver(WHSEC) as receiver:
        config = _config(tmp_path, market, receiver.url)

        def cli(label: str, *args: str) -> subprocess.CompletedProcess[str]:
            done = run_cli("-v", "--config", str(config), *args, cwd=tmp_path, env=ENV)
            outputs[label] = done
            return done

        cycle = cli("run --once", "run", "--once")
        assert cycle.returncode == 0, cycle.stderr
        assert "ebay-api: ok" in cycle.stdout and "ebay: ok" in cycle.stdout
        cli("status", "status")
        cli("status json", "status", "--format", "json")
        cli("alerts list", "alerts", "list", "--format", "json")
        cli("alerts list table", "alerts", "list")
        tested = cli("alerts test", "alerts", "test")
        assert tested.returncode == 1  # the "down" channel fails
        cli("alerts retry", "alerts", "retry")
        for table in ("listings", "observations", "crawls"):
            done = cli(f"export {table}", "export", table, "--format", "json", "-o", str(tmp_path / f"{table}.jsonl"))
            assert done.returncode == 0, done.stderr
        cli("export stdout", "export", "observations", "--format", "json")
        # The webhook receiver goes down too: a second cycle's deliveries fail with connection errors.
        receiver.down()
        again = cli("run --once (receiver down)", "run", "--once")
        assert again.returncode == 0, again.stderr
        cli("alerts test (receiver down)", "alerts", "test")
        cli("status after failures", "status")

        # The run really used every secret: token request, signed deliveries, Slack and Apprise posts.
        [token_request, *_] = market.seen(TOKEN)
        assert token_request.headers["authorization"] == f"Basic {BASIC}"
        assert all(s.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}" for s in market.seen(SEARCH))
        assert receiver.accepted and all(a.verified for a in receiver.attempts)
        assert market.seen(SLACK_PATH) and market.seen(f"/{APPRISE_PATH}")

    db = tmp_path / "prices.db"
    deliveries = query(db, "SELECT channel, status, last_error FROM deliveries")
    failed = [d for d in deliveries if d["channel"] == "down"]
    assert failed and all(d["last_error"] and d["status"] != "delivered" for d in failed)
    assert any(d["channel"] == "ops" and d["last_error"] for d in deliveries)  # failed once the receiver was down
    assert {d["channel"] for d in deliveries if d["status"] == "delivered"} >= {"ops", "slack", "apprise"}
    # -v really logged the failing deliveries (so their lines were checked, not absent). The test message
    # sent after the receiver went down fails at once; the second cycle retries only what is due by then.
    down = [done.stderr for label, done in outputs.items() if "receiver down" in label]
    assert any("will retry" in text or "dead" in text for text in down), down

    leaks: list[str] = []
    for label, done in outputs.items():
        leaks += [f"{label} stdout: {name}" for name in secrets_in(done.stdout, SECRETS)]
        leaks += [f"{label} stderr: {name}" for name in secrets_in(done.stderr, SECRETS)]
    for table in ("listings", "observations", "crawls"):
        exported = (tmp_path / f"{table}.jsonl").read_bytes()
        assert exported.strip()
        leaks += [f"export {table}: {name}" for name in secrets_in(exported, SECRETS)]
    checked_tables = set()
    for table, column, value in _database_texts(db):
        checked_tables.add(table)
        leaks += [f"database {table}.{column}: {name}" for name in secrets_in(value, SECRETS)]
    assert {"deliveries", "alerts", "crawls", "pages"} <= checked_tables
    # Any other file the runs left behind (database and WAL pages, exports, archives) — not the config.
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "config.toml":
            leaks += [f"file {path.name}: {name}" for name in secrets_in(path.read_bytes(), SECRETS)]
    assert not leaks, leaks


def test_refused_token_request_shows_no_secret(tmp_path: Path) -> None:
    """The token endpoint refuses and echoes the credentials back: the failed crawl is recorded without them."""
    echo = json.dumps({"error": "invalid_client", "error_description": f"bad Basic {BASIC} for {CLIENT_SECRET}"})
    with LocalServer() as api:
        api.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        api.route(TOKEN, Reply(echo.encode(), 401, {"Content-Type": "application/json"}))
        config = write_config(tmp_path / "config.toml", fast_crawl_config(tmp_path / "prices.db") + f"""
[sources.ebay]
enabled = false

[sources.ebay-api]
base_url = "{api.url}"
queries = ["nvidia h100"]
""")
        done = run_cli("-v", "--config", str(config), "crawl", "--source", "ebay-api", cwd=tmp_path, env=ENV)
        assert api.seen(TOKEN), done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    crawls = query(tmp_path / "prices.db", "SELECT status FROM crawls")
    assert crawls and all(c["status"] == "failed" for c in crawls)
    leaks = secrets_in(done.stdout, SECRETS) + secrets_in(done.stderr, SECRETS)
    leaks += [f"{t}.{c}: {n}" for t, c, v in _database_texts(tmp_path / "prices.db") for n in secrets_in(v, SECRETS)]
    assert not leaks, leaks


_BAD_CONFIGS = [
    ("client_secret as a number", "[sources.ebay-api]\nclient_secret = 8675309123456789\n", "8675309123456789"),
    ("client_secret as a table", '[sources.ebay-api.client_secret]\nvalue = "PRD-tbl-SECRET-77"\n',
     "PRD-tbl-SECRET-77"),
    ("client_id as a list", '[sources.ebay-api]\nclient_id = ["PRD-id-SECRET-55"]\n', "PRD-id-SECRET-55"),
    ("webhook secret as a number", '[[alerts.channels]]\nname = "ops"\nkind = "webhook"\n'
     'url = "http://127.0.0.1:9/h"\nsecret = 4242424242424242\n', "4242424242424242"),
    ("webhook secret as a list", f'[[alerts.channels]]\nname = "ops"\nkind = "webhook"\n'
     f'url = "http://127.0.0.1:9/h"\nsecret = ["{WHSEC}"]\n', WHSEC.removeprefix("whsec_")),
    ("webhook secret without whsec_", '[[alerts.channels]]\nname = "ops"\nkind = "webhook"\n'
     'url = "http://127.0.0.1:9/h"\nsecret = "plainSECRETvalue123"\n', "plainSECRETvalue123"),
    ("slack url as a number", '[[alerts.channels]]\nname = "s"\nkind = "slack"\nurl = 31337313373133731337\n',
     "31337313373133731337"),
    ("slack url with a wrong scheme", f'[[alerts.channels]]\nname = "s"\nkind = "slack"\n'
     f'url = "ftp://127.0.0.1{SLACK_PATH}"\n', SLACK_TOKEN),
    ("channel timeout wrong next to a secret url", f'[[alerts.channels]]\nname = "s"\nkind = "slack"\n'
     f'url = "http://127.0.0.1{SLACK_PATH}"\ntimeout = "soon"\n', SLACK_TOKEN),
    ("unquoted secret (invalid TOML)", f'[[alerts.channels]]\nname = "ops"\nkind = "webhook"\n'
     f'url = "http://127.0.0.1:9/h"\nsecret = {WHSEC}\n', WHSEC.removeprefix("whsec_")),
]


@pytest.mark.parametrize(("label", "toml", "secret"), _BAD_CONFIGS, ids=[c[0] for c in _BAD_CONFIGS])
def test_config_errors_never_echo_a_secret(tmp_path: Path, label: str, toml: str, secret: str) -> None:
    config = write_config(tmp_path / "bad.toml", toml)
    done = run_cli("-v", "--config", str(config), "status", cwd=tmp_path, env=ENV)
    assert done.returncode == 2, (label, done.stdout, done.stderr)
    assert "config" in done.stderr
    assert secret not in done.stdout + done.stderr, done.stderr
    assert not secrets_in(done.stdout + done.stderr, SECRETS)


@pytest.mark.parametrize("toml", [
    f'[alerts]\nchannels = "json://127.0.0.1/{APPRISE_PATH}"\n',
    f'[alerts]\nchannels = ["json://h/{APPRISE_PATH}"]\n',
], ids=["channels-as-string", "channel-as-string"])
def test_channel_url_in_the_wrong_place_is_not_echoed(tmp_path: Path, toml: str) -> None:
    config = write_config(tmp_path / "bad.toml", toml)
    done = run_cli("--config", str(config), "status", cwd=tmp_path)
    assert done.returncode == 2
    assert APPRISE_PATH not in done.stdout + done.stderr, done.stderr
