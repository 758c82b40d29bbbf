"""``gpuprices sources`` and ``gpuprices watch``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuprices.sources import watch_target
from tests.e2e import fast_crawl_config, run_cli, write_config


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
    config = write_config(tmp_path / "c.toml", fast_crawl_config(tmp_path / "p.db"))
    before = run_cli("--config", str(config), "sources", "--format", "json", cwd=tmp_path)
    rows = {r["source"]: r for r in map(json.loads, before.stdout.splitlines())}
    assert set(rows) == {"ebay-api", "ebay", "ebay-item", "product-page", "rental"}
    assert rows["ebay-api"]["needs"] == "EBAY_CLIENT_ID and EBAY_CLIENT_SECRET" and not rows["ebay-api"]["ready"]
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
