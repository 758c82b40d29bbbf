"""The ``ebay-api`` spider end to end against a local OAuth token endpoint and search endpoint."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.httpserver import LocalServer, Reply

CLIENT_ID = "gpuprices-test-app-PRD-1234"
CLIENT_SECRET = "PRD-s3cr3t-never-printed-5678"
SEARCH = "/buy/browse/v1/item_summary/search"
TOKEN = "/identity/v1/oauth2/token"


def _json(payload: object) -> Reply:
    return Reply(json.dumps(payload).encode(), headers={"Content-Type": "application/json"})


def _search(q: str, offset: int):  # type: ignore[no-untyped-def]
    def match(path: str, params: dict[str, list[str]]) -> bool:
        return path == SEARCH and params.get("q") == [q] and params.get("offset", ["0"]) == [str(offset)]
    return match


@pytest.fixture
def api(corpus: Path):  # type: ignore[no-untyped-def]
    h100 = json.loads((corpus / "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json").read_text())
    a100 = json.loads((corpus / "ebay-api/browse-search-nvidia-a100-sxm-2023-12.json").read_text())
    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"", 404))
        server.route(TOKEN, _json({"access_token": "v^1.1#i^1#test-token", "expires_in": 7200,
                                   "token_type": "Application Access Token"}))
        # H100: two pages through `next`; A100: one page.
        base = f"{server.url}{SEARCH}?q=nvidia+h100+pcie&limit=6"
        server.route(_search("nvidia h100 pcie", 0),
                     _json({"href": base, "total": len(h100), "limit": 6, "offset": 0,
                            "next": f"https://api.ebay.com{SEARCH}?q=nvidia+h100+pcie&limit=6&offset=6",
                            "itemSummaries": h100[:6]}))
        server.route(_search("nvidia h100 pcie", 6),
                     _json({"href": base + "&offset=6", "total": len(h100), "limit": 6, "offset": 6,
                            "itemSummaries": h100[6:]}))
        server.route(_search("nvidia a100 sxm", 0),
                     _json({"href": "x", "total": len(a100), "limit": 200, "offset": 0, "itemSummaries": a100}))
        server.h100 = h100  # type: ignore[attr-defined]
        server.a100 = a100  # type: ignore[attr-defined]
        yield server


def _config(tmp_path: Path, server: LocalServer, extra: str = "") -> Path:
    return write_config(tmp_path / "config.toml", fast_crawl_config(tmp_path / "prices.db") + f"""
[sources.ebay]
enabled = false

[sources.ebay-api]
base_url = "{server.url}"
marketplace = "EBAY_US"
queries = ["nvidia h100 pcie", "nvidia a100 sxm"]
page_size = 6
{extra}
""")


def test_api_crawl_token_paging_headers_and_export(tmp_path: Path, api: LocalServer) -> None:
    config = _config(tmp_path, api)
    env = {"EBAY_CLIENT_ID": CLIENT_ID, "EBAY_CLIENT_SECRET": CLIENT_SECRET}
    done = run_cli("-v", "--config", str(config), "crawl", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "ebay-api: ok" in done.stdout
    # Secrets never appear in output or logs (verbose on).
    assert CLIENT_SECRET not in done.stdout + done.stderr
    assert base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode() not in done.stdout + done.stderr

    # One token for the whole crawl, client-credentials grant with Basic auth.
    tokens = api.seen(TOKEN)
    assert len(tokens) == 1
    assert tokens[0].method == "POST"
    assert parse_qs(tokens[0].body.decode())["grant_type"] == ["client_credentials"]
    basic = tokens[0].headers["authorization"].split()[1]
    assert base64.b64decode(basic).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
    searches = api.seen(SEARCH)
    assert len(searches) == 3  # h100 page 1 and 2 (via `next`, kept on our host), a100
    for request in searches:
        assert request.headers["authorization"] == "Bearer v^1.1#i^1#test-token"
        assert request.headers["x-ebay-c-marketplace-id"] == "EBAY_US"

    db = tmp_path / "prices.db"
    crawl = query(db, "SELECT * FROM crawls")[0]
    distinct = {item["itemId"] for item in api.h100 + api.a100}  # type: ignore[attr-defined]
    assert crawl["status"] == "ok" and crawl["listings"] == len(distinct)
    assert query(db, "SELECT calls FROM api_usage")[0]["calls"] == 4  # token + 3 searches

    out = run_cli("--config", str(config), "export", "listings", cwd=tmp_path)
    rows = {r["item_id"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    assert len(rows) == len(distinct)
    first = rows["285539337148"]
    assert first["title"] == "NVIDIA H100 80GB Compute Card PCIe HBM2e 350W 900-21010-0000-000 GPU AI Card"
    assert (first["price"], first["currency"], first["shipping"]) == ("31999.46", "USD", "0.00")
    assert first["condition"] == "new" and first["listing_type"] == "buy_it_now" and first["location"] == "US"
    assert first["source"] == "ebay-api" and first["url"] == "https://www.ebay.com/itm/285539337148"
    second = rows["195972662019"]
    assert (second["price"], second["shipping"], second["listing_type"]) == ("30450.00", "100.00", "best_offer")
    assert rows["314981032359"]["condition"] == "open_box"
    assert rows["386203557728"]["location"] == "CN"
    for item in api.h100:  # type: ignore[attr-defined]
        row = rows[item["legacyItemId"]]
        assert row["price"] == item["price"]["value"]
        assert row["seller"] == item["seller"]["username"]
        assert row["created_at"] == item["itemCreationDate"]


def test_api_daily_budget_is_respected(tmp_path: Path, api: LocalServer) -> None:
    config = _config(tmp_path, api, extra="daily_call_budget = 2")
    env = {"EBAY_CLIENT_ID": CLIENT_ID, "EBAY_CLIENT_SECRET": CLIENT_SECRET}
    done = run_cli("--config", str(config), "crawl", "--source", "ebay-api", cwd=tmp_path, env=env)
    assert len(api.seen(TOKEN)) + len(api.seen(SEARCH)) == 2
    assert "budget" in done.stdout + done.stderr
    # The next crawl the same day makes no call at all.
    run_cli("--config", str(config), "crawl", "--source", "ebay-api", cwd=tmp_path, env=env)
    assert len(api.seen(TOKEN)) + len(api.seen(SEARCH)) == 2


def test_api_without_credentials_is_skipped_with_a_hint(tmp_path: Path, api: LocalServer) -> None:
    config = _config(tmp_path, api)
    done = run_cli("--config", str(config), "crawl", "--source", "ebay-api", cwd=tmp_path)
    assert done.returncode == 1
    assert "EBAY_CLIENT_ID" in done.stderr
    assert api.requests == []


def test_api_bad_credentials_are_reported(tmp_path: Path, corpus: Path) -> None:
    with LocalServer() as server:
        server.route(TOKEN, Reply(b'{"error":"invalid_client"}', 401, {"Content-Type": "application/json"}))
        config = _config(tmp_path, server)
        env = {"EBAY_CLIENT_ID": CLIENT_ID, "EBAY_CLIENT_SECRET": "wrong-secret-value"}
        done = run_cli("--config", str(config), "crawl", "--source", "ebay-api", cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "wrong-secret-value" not in done.stdout + done.stderr
    assert query(tmp_path / "prices.db", "SELECT status FROM crawls")[0]["status"] == "failed"
