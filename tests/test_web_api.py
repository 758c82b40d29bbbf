"""The JSON API, /metrics, /healthz and the dashboard's defences, on a store built from the corpus.

Every endpoint's rows are compared with what the CLI prints for the same database (``premium
--format json``, ``export … --format json`` …): one set of numbers, whichever way it is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from gpuprices.config import load_settings
from gpuprices.web.app import create_app
from tests.e2e import run_cli
from tests.web_store import SECRET_CHANNEL_URL, XSS_TITLE, XSS_TITLE_2, CorpusStore, build_corpus_store

TOKEN = "operator-token-5d1f0c"


@pytest.fixture(scope="module")
def built(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> CorpusStore:
    return build_corpus_store(corpus, tmp_path_factory.mktemp("web-api"), extra_config=f'[web]\ntoken = "{TOKEN}"\n')


@pytest.fixture(scope="module")
def client(built: CorpusStore) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(built.config)), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


def cli_json(built: CorpusStore, *args: str) -> list[dict[str, Any]]:
    result = run_cli("--config", str(built.config), *args, cwd=built.database.parent)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def api(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_premium_equals_the_cli(client: TestClient, built: CorpusStore) -> None:
    rows = api(client, "/api/premium")
    assert rows == cli_json(built, "premium", "--format", "json")
    assert {r["sku"] for r in rows} >= {"h100-80gb-pcie", "a100-80gb-pcie", "t4-16gb"}
    h100 = next(r for r in rows if (r["sku"], r["side"], r["condition_group"]) == ("h100-80gb-pcie", "asking", "all"))
    assert isinstance(h100["median_usd"], str) and "." in h100["median_usd"]  # money as decimal text
    assert api(client, "/api/premium?sku=h100-80gb-pcie&days=7") == cli_json(
        built, "premium", "--sku", "h100-80gb-pcie", "--days", "7", "--format", "json")


def test_index_equals_the_export(client: TestClient, built: CorpusStore) -> None:
    rows = api(client, "/api/index")
    assert rows == cli_json(built, "export", "index", "--format", "json")
    days = {r["day"] for r in rows if r["sku"] == "h100-80gb-pcie"}
    assert len(days) == built.days
    assert api(client, "/api/index?sku=t4-16gb") == [r for r in rows if r["sku"] == "t4-16gb"]


def test_listings_equal_the_export_and_filter(client: TestClient, built: CorpusStore) -> None:
    exported = {r["id"]: r for r in cli_json(built, "export", "listings", "--format", "json")}
    everything = api(client, "/api/listings?include_excluded=true")
    assert {r["id"]: r for r in everything} == exported
    counted = api(client, "/api/listings")
    assert counted and all(not r["excluded_reason"] and not r["quarantined"] and r["working"] for r in counted)
    assert len(counted) < len(everything)
    h100 = api(client, "/api/listings?sku=h100-80gb-pcie&condition=new&side=asking")
    assert h100 and all(r["sku"] == "h100-80gb-pcie" and r["condition"] in ("new", "open_box") for r in h100)
    assert all(r["deal_n"] and r["deal_percentile"] is not None for r in h100)
    today = max(r["last_seen_at"] for r in everything)[:10]
    recent = api(client, f"/api/listings?since={today}&include_excluded=1")
    assert recent and {r["id"] for r in recent} == {i for i, r in exported.items() if r["last_seen_at"] >= today}
    assert api(client, "/api/listings?side=sold") == []  # the API responses of the corpus are open listings


def test_observations_equal_the_export(client: TestClient, built: CorpusStore) -> None:
    exported = cli_json(built, "export", "observations", "--format", "json")
    listing = next(r for r in api(client, "/api/listings?sku=h100-80gb-pcie")
                   if r["first_seen_at"] != r["last_seen_at"])
    rows = api(client, f"/api/listings/{listing['id']}/observations")
    assert rows == [r for r in exported if r["listing_id"] == listing["id"]]
    assert len({r["observed_at"][:10] for r in rows}) == built.days  # one crawl a day (some items on two queries)


def test_rentals_breakeven_sources_alerts_equal_the_cli(client: TestClient, built: CorpusStore) -> None:
    rentals = api(client, "/api/rentals")
    assert rentals and rentals == cli_json(built, "rental", "--format", "json")
    breakeven = api(client, "/api/breakeven")
    assert breakeven and breakeven == cli_json(built, "breakeven", "--format", "json")
    assert api(client, "/api/sources") == cli_json(built, "sources", "--format", "json")
    alerts = api(client, "/api/alerts")
    assert alerts and alerts == cli_json(built, "alerts", "list", "--format", "json")
    assert [r["status"] for r in api(client, "/api/alerts?status=dead")] == ["dead"]
    crawls = api(client, "/api/crawls?source=ebay-api")
    assert [r["id"] for r in crawls] == [r["id"] for r in cli_json(built, "export", "crawls", "--format", "json")
                                         if r["source"] == "ebay-api"][::-1]
    (rule,) = api(client, "/api/rules")
    assert {k: rule[k] for k in ("rule", "kind", "sku", "key", "state", "last_value")} == {
        "rule": "h100-cheap", "kind": "new_listing_below", "sku": "h100-80gb-pcie", "key": "h100-80gb-pcie|listing|1",
        "state": "fired", "last_value": 21000.0}
    providers = api(client, "/api/rental-providers")
    assert {(r["sku"], r["provider"]) for r in providers} >= {("h100-80gb-sxm5", "lambda")}


def test_csv_downloads_have_the_export_header(client: TestClient, built: CorpusStore) -> None:
    response = client.get("/api/listings?format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    cli = run_cli("--config", str(built.config), "export", "listings", "--format", "csv", cwd=built.database.parent)
    assert response.text.splitlines()[0] == cli.stdout.splitlines()[0].lstrip("\ufeff")
    premium = client.get("/api/premium?format=csv").text.splitlines()
    cli_premium = run_cli("--config", str(built.config), "premium", "--format", "csv", cwd=built.database.parent)
    assert premium == cli_premium.stdout.splitlines()


def test_bad_parameters_get_one_line(client: TestClient) -> None:
    for path in ("/api/premium?sku=nope", "/api/premium?days=x", "/api/listings?side=up", "/api/index?since=2026-13-01",
                 "/api/premium?format=xml", "/api/listings/abc/observations"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert set(response.json()) == {"error"} and "\n" not in response.json()["error"]
    assert client.get("/api/nothing").status_code == 404


def test_openapi_documents_every_endpoint_with_the_rows_fields(client: TestClient) -> None:
    schema = api(client, "/api/openapi.json")
    assert schema["openapi"].startswith("3.")
    expected = {"/api/index", "/api/premium", "/api/listings", "/api/listings/{listing_id}/observations",
                "/api/rentals", "/api/rental-providers", "/api/breakeven", "/api/sources", "/api/crawls", "/api/rules",
                "/api/alerts"}
    assert set(schema["paths"]) == expected
    for path, spec in schema["paths"].items():
        name = spec["get"]["operationId"]
        fields = schema["components"]["schemas"][name]["properties"]
        concrete = path.replace("{listing_id}", "1")
        rows = api(client, concrete + ("?include_excluded=1" if name == "listings" else ""))
        assert rows, path
        assert list(rows[0]) == list(fields), path
    assert schema["components"]["schemas"]["premium"]["properties"]["median_usd"]["format"] == "decimal"


def test_metrics_parse_and_say_what_the_store_says(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(response.text) for s in family.samples}
    assert samples[("gpuprices_source_last_crawl_status", (("source", "ebay-api"), ("status", "ok")))] == 1
    assert samples[("gpuprices_source_healthy", (("source", "ebay-api"),))] == 1
    assert samples[("gpuprices_source_last_crawl_blocked_pages", (("source", "ebay-api"),))] == 0
    listings = samples[("gpuprices_source_last_crawl_listings", (("source", "ebay-api"),))]
    assert listings > 100
    assert samples[("gpuprices_alert_deliveries", (("status", "dead"),))] >= 0
    assert samples[("gpuprices_source_last_crawl_timestamp_seconds", (("source", "rental"),))] > 1.7e9
    assert 0 <= samples[("gpuprices_index_age_seconds", ())] < 86400 * 2
    assert client.get("/healthz").json()["status"] == "ok"


def test_pages_escape_strangers_text_and_never_show_secrets(client: TestClient, built: CorpusStore) -> None:
    pages = ["/", "/sku/h100-80gb-pcie", "/rentals", "/sources", "/alerts", "/metrics", "/api/alerts",
             "/api/openapi.json"]
    xss = next(r for r in api(client, "/api/listings?sku=h100-80gb-pcie&include_excluded=1") if r["title"] == XSS_TITLE)
    pages.append(f"/listing/{xss['id']}")
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert SECRET_CHANNEL_URL not in response.text and "SECRETTOKEN" not in response.text, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        if path.startswith(("/sku", "/listing")):
            assert "<script>window.__xss" not in response.text and "<img src=x" not in response.text
            assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in response.text
    sku_page = client.get("/sku/h100-80gb-pcie").text
    assert "&#34;&gt;&lt;img src=x onerror=window.__xss=2&gt;" in sku_page  # the quarantined one, in the toggle
    assert XSS_TITLE_2 not in sku_page
    alerts_page = client.get("/alerts").text
    assert "https://hooks.example.test" in alerts_page  # the channel, redacted to its host
    assert "Cheap &lt;b&gt;H100&lt;/b&gt;" in alerts_page
    # inline scripts: only JSON data blocks and files from /static
    for chunk in sku_page.split("<script")[1:]:
        assert chunk.startswith((' type="application/json"', ' src="/static/'))


def _csrf(client: TestClient) -> str:
    page = client.get("/alerts").text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_requeue_needs_the_token_and_the_csrf_token(client: TestClient) -> None:
    assert [r["status"] for r in api(client, "/api/alerts")] == ["dead"]
    csrf = _csrf(client)
    form = {"content-type": "application/x-www-form-urlencoded"}
    refused = [
        client.post("/alerts/retry", content=f"csrf={csrf}&token=wrong", headers=form),
        client.post("/alerts/retry", content=f"csrf=forged&token={TOKEN}", headers=form),
        client.post("/alerts/retry", content=f"csrf={csrf}&token={TOKEN}",
                    headers={**form, "origin": "http://evil.example"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert [r["status"] for r in api(client, "/api/alerts")] == ["dead"]  # nothing changed
    assert client.get("/alerts/retry").status_code == 405
    done = client.post("/alerts/retry", content=f"csrf={csrf}&token={TOKEN}", headers=form, follow_redirects=False)
    assert done.status_code == 303
    assert [r["status"] for r in api(client, "/api/alerts")] == ["pending"]


def test_read_only_without_a_token(built: CorpusStore, tmp_path: Path) -> None:
    settings = load_settings(built.config)
    settings.web.token = None
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as read_only:
        page = read_only.get("/alerts").text
        assert 'action="/alerts/retry"' not in page and "Read-only" in page
        csrf = read_only.cookies.get("gpuprices_csrf")
        response = read_only.post("/alerts/retry", content=f"csrf={csrf}&token=anything",
                                  headers={"content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 403


def test_unknown_pages_are_404_pages(client: TestClient) -> None:
    assert client.get("/sku/not-a-gpu").status_code == 404
    assert client.get("/listing/999999").status_code == 404
    assert client.get("/listing/abc").status_code == 404


def test_binding_beyond_loopback_without_a_token_warns() -> None:
    from gpuprices.cli.serve import bind_warning

    assert bind_warning("127.0.0.1", has_token=False) is None
    assert bind_warning("::1", has_token=False) is None
    assert bind_warning("localhost", has_token=False) is None
    warning = bind_warning("0.0.0.0", has_token=False)
    assert warning is not None and "\n" not in warning and "0.0.0.0" in warning
    assert bind_warning("0.0.0.0", has_token=True) is None
