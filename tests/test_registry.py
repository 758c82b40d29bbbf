"""The source registry: built-in sources described once, and a new marketplace added in one file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpuprices import sources as registry
from gpuprices.cli import cli
from gpuprices.config import SourceSettings, load_settings
from gpuprices.exceptions import ConfigError
from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.httpserver import LocalServer, Reply
from tests.plugins import gpubazaar

FEED = {"listings": [
    {"id": 101, "title": "NVIDIA H100 80GB PCIe Tensor Core GPU", "price": "24500.00", "currency": "USD",
     "condition": "Used", "seller": "bazaar-one"},
    {"id": 102, "title": "Lot of 2 NVIDIA A100 80GB PCIe", "price": "19000.00", "currency": "USD",
     "condition": "New", "seller": "bazaar-two"},
    {"id": 103, "title": "NVIDIA H100 heatsink only", "price": "120.00", "currency": "USD", "seller": "bazaar-one"},
]}


@pytest.fixture
def bazaar() -> Iterator[registry.Source]:
    registry.register(gpubazaar.SOURCE)
    yield gpubazaar.SOURCE
    registry.unregister(gpubazaar.NAME)


def test_every_builtin_source_is_complete() -> None:
    assert registry.names() == ("ebay-api", "ebay", "ebay-item", "product-page", "rental")
    settings = load_settings(None)
    for name in registry.names():
        source = registry.get(name)
        assert source.spider.rsplit(".", 1)[1].endswith("Spider")
        assert registry.load(source.spider).name == name  # the Scrapy spider is found by the same name
        assert isinstance(source.settings_of(settings), SourceSettings)
        assert source.schedule(settings).interval_minutes >= 1
    assert {registry.family_of(n) for n in ("ebay", "ebay-api", "ebay-item")} == {"ebay"}
    assert registry.parseable() == ("ebay-api", "ebay", "ebay-item", "product-page")
    assert registry.watchable() == ("ebay-item", "product-page")


def test_unknown_source_is_one_line() -> None:
    with pytest.raises(ConfigError, match="unknown source 'ebay-motors'; choose one of ebay-api, ebay"):
        registry.get("ebay-motors")


def test_unregistered_source_table_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", '[sources.gpubazaar]\nurls = ["https://x.test/feed"]\n')
    with pytest.raises(ConfigError, match=r"sources\.gpubazaar: unknown key"):
        load_settings(config)


def test_new_marketplace_parses_offline(bazaar: registry.Source, tmp_path: Path) -> None:
    saved = tmp_path / "bazaar.json"
    saved.write_text(json.dumps(FEED), encoding="utf-8")
    result = CliRunner().invoke(cli, ["parse", "--source", "gpubazaar", str(saved)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["item_id"], r["price"], r["currency"], r["sku"]) for r in rows] == [
        ("101", "24500.00", "USD", "h100-80gb-pcie"), ("102", "19000.00", "USD", "a100-80gb-pcie"),
        ("103", "120.00", "USD", None)]
    assert rows[1]["gpu_count"] == 2 and rows[1]["unit_price_usd"] == "9500.00"
    assert rows[2]["excluded_reason"]  # a heatsink is never a GPU


def test_new_marketplace_gets_the_wrong_kind_check(bazaar: registry.Source, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><body>GPU Bazaar</body></html>", encoding="utf-8")
    done = run_cli("parse", "--source", "gpubazaar", str(page), cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == f"gpuprices: {page}: not a GPU Bazaar feed (JSON); it looks like an HTML page"
    # An eBay API answer is JSON too: now that two sources read JSON, neither is suggested for the other.
    api = tmp_path / "api.json"
    api.write_text(json.dumps({"itemSummaries": []}), encoding="utf-8")
    refused = run_cli("parse", "--source", "ebay", str(api), cwd=tmp_path)
    assert refused.returncode == 1 and "it looks like a JSON file" in refused.stderr
    assert "--source" not in refused.stderr.partition(";")[2]


def test_every_saved_file_kind_is_registered() -> None:
    from gpuprices.spiders.parsers.rental import RENTAL_PARSE_SOURCES

    saved = registry.saved_files()
    assert tuple(saved) == (*registry.parseable(), *RENTAL_PARSE_SOURCES)  # every --source of parse/import
    kinds = {"html", "json", "item-page", "other", *RENTAL_PARSE_SOURCES}
    assert all(set(entry.reads) <= kinds for entry in saved.values())


def test_new_marketplace_crawls_on_localhost(bazaar: registry.Source, tmp_path: Path) -> None:
    database = tmp_path / "bazaar.db"
    with LocalServer() as site:
        site.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        site.route("/feed.json", Reply(json.dumps(FEED).encode(), headers={"Content-Type": "application/json"}))
        config = write_config(tmp_path / "c.toml", fast_crawl_config(database, f"""
[sources.gpubazaar]
urls = ["{site.url}/feed.json"]
"""))
        listed = CliRunner().invoke(cli, ["--config", str(config), "sources", "--format", "json"])
        states = {row["source"]: row for row in map(json.loads, listed.stdout.splitlines())}
        assert states["gpubazaar"]["ready"] and states["gpubazaar"]["what"] == "1 GPU Bazaar feeds"
        result = CliRunner().invoke(cli, ["--config", str(config), "crawl", "--source", "gpubazaar"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("gpubazaar: ok — 1 page (")
    listings = query(database, "SELECT family, item_id, source, sku FROM listings ORDER BY item_id")
    assert [(r["family"], r["item_id"], r["sku"]) for r in listings] == [
        ("gpubazaar", "101", "h100-80gb-pcie"), ("gpubazaar", "102", "a100-80gb-pcie"), ("gpubazaar", "103", None)]
    crawl = query(database, "SELECT source, status, listings FROM crawls")
    assert crawl == [{"source": "gpubazaar", "status": "ok", "listings": 3}]


def test_a_source_table_from_the_file_and_the_environment_is_one_table(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path / "c.toml", '[sources.ebay-api]\nmarketplace = "EBAY_DE"\n')
    monkeypatch.setenv("GPUPRICES_SOURCES__EBAY_API__PAGE_SIZE", "50")
    api = load_settings(config).sources.ebay_api
    assert (api.marketplace, api.page_size) == ("EBAY_DE", 50)
