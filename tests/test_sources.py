"""``gpuprices sources`` and ``gpuprices watch``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuprices.sources import watch_target
from tests.e2e import fast_crawl_config, query, run_cli, write_config
from tests.httpserver import LocalServer, Reply


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.ebay.com/itm/226771798286", ("ebay-item", "226771798286")),
        ("https://www.ebay.de/itm/LEGO-Set/198187151691?hash=item2e", ("ebay-item", "198187151691")),
        ("226771798286", ("ebay-item", "226771798286")),
        ("https://shop.example.com/nvidia-h100-pcie", ("product-page", "https://shop.example.com/nvidia-h100-pcie")),
    ],
)
def test_watch_target(url: str, expected: tuple[str, str]) -> None:
    assert watch_target(url) == expected


def test_watch_target_rejects_junk() -> None:
    with pytest.raises(ValueError):
        watch_target("not a url")


def test_sources_and_watch_lists(tmp_path: Path) -> None:
    with LocalServer() as site:  # the search-page source checks its site's robots.txt: never the live web
        site.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        _sources_and_watch_lists(tmp_path, site.url)


def _sources_and_watch_lists(tmp_path: Path, site: str) -> None:
    config = write_config(tmp_path / "c.toml", fast_crawl_config(tmp_path / "p.db", f"""
[sources.ebay]
base_url = "{site}"
"""))
    before = run_cli("--config", str(config), "sources", "--format", "json", cwd=tmp_path)
    rows = {r["source"]: r for r in map(json.loads, before.stdout.splitlines())}
    assert set(rows) == {"ebay-api", "ebay", "ebay-item", "product-page", "rental"}
    assert rows["ebay-api"]["needs"] == "needs EBAY_CLIENT_ID and EBAY_CLIENT_SECRET" and not rows["ebay-api"]["ready"]
    assert not rows["ebay-item"]["ready"] and "watch add" in rows["ebay-item"]["needs"]
    assert rows["rental"]["enabled"] is False
    added = run_cli("--config", str(config), "watch", "add", "https://www.ebay.com/itm/226771798286",
                    "https://shop.example.com/h100", cwd=tmp_path)
    assert added.returncode == 0 and "ebay-item: watching 226771798286" in added.stdout
    again = run_cli("--config", str(config), "watch", "add", "226771798286", cwd=tmp_path)
    assert "already watching" in again.stdout
    after = {r["source"]: r for r in map(json.loads, run_cli("--config", str(config), "sources", "--format", "json",
                                                             cwd=tmp_path).stdout.splitlines())}
    assert after["ebay-item"]["ready"] and after["product-page"]["ready"]
    listed = run_cli("--config", str(config), "watch", "list", cwd=tmp_path).stdout
    assert "ebay-item\t226771798286" in listed and "product-page\thttps://shop.example.com/h100" in listed
    removed = run_cli("--config", str(config), "watch", "remove", "226771798286", cwd=tmp_path)
    assert "removed" in removed.stdout
    text = run_cli("--config", str(config), "sources", cwd=tmp_path).stdout
    assert "never crawled" in text


DISALLOW_SEARCH = Reply(b"User-agent: *\nDisallow: /sch/\n", headers={"Content-Type": "text/plain"})


def _search_config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path / "c.toml", fast_crawl_config(tmp_path / "p.db", f"""
[sources.ebay]
base_url = "{url}"
include_sold = false
"""))


def test_robots_disallowed_source_is_not_runnable_and_run_skips_it_with_one_line(tmp_path: Path) -> None:
    with LocalServer() as site:
        site.route("/robots.txt", DISALLOW_SEARCH)
        config = _search_config(tmp_path, site.url)
        listed = run_cli("--config", str(config), "sources", cwd=tmp_path)
        host = site.url.split("//", 1)[1].rstrip("/")
        line = next(line for line in listed.stdout.splitlines() if line.startswith("ebay "))
        assert "not runnable" in line and f"robots.txt of {host} disallows /sch/: use ebay-api" in line
        done = run_cli("--config", str(config), "run", "--once", cwd=tmp_path)
        again = run_cli("--config", str(config), "run", "--once", cwd=tmp_path)
        assert site.seen("/sch/i.html") == []
        assert len(site.seen("/robots.txt")) == 1  # read once, then from the database for a day
    for cycle in (done, again):
        skipped = [line for line in cycle.stderr.splitlines() if line.startswith("ebay:")]
        assert skipped == [f"ebay: skipped, robots.txt of {host} disallows /sch/: use ebay-api"], cycle.stderr
        assert "Traceback" not in cycle.stderr
    # Never recorded as a degraded crawl, cycle after cycle.
    assert query(tmp_path / "p.db", "SELECT * FROM crawls WHERE source = 'ebay'") == []


def test_unreadable_robots_txt_never_blocks_a_source(tmp_path: Path) -> None:
    with LocalServer() as site:
        site.route("/robots.txt", Reply(b"oops", 500))
        site.route("/sch/i.html", Reply(b"<html><body>no results</body></html>", headers={"Content-Type": "text/html"}))
        config = _search_config(tmp_path, site.url)
        listed = run_cli("--config", str(config), "sources", "--format", "json", cwd=tmp_path)
    rows = {r["source"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert rows["ebay"]["ready"] and rows["ebay"]["needs"] is None


def test_named_source_that_cannot_run_is_skipped_not_crawled(tmp_path: Path) -> None:
    with LocalServer() as site:
        site.route("/robots.txt", DISALLOW_SEARCH)
        config = _search_config(tmp_path, site.url)
        done = run_cli("--config", str(config), "crawl", "--source", "ebay", cwd=tmp_path)
        assert site.seen("/sch/i.html") == []
    assert done.returncode == 1
    assert [line for line in done.stderr.splitlines() if "robots.txt" in line] == [
        line for line in done.stderr.splitlines() if line.startswith("ebay: skipped, robots.txt of ")]
    assert "ebay-api" in done.stderr and "Traceback" not in done.stderr
