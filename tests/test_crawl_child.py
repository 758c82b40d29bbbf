"""A crawl child stores a crawl without ever importing pandas or numpy, nor what the Scrapy components it
switches off would import (its start-up stays small)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import attrs

from gpuprices.config import load_settings
from gpuprices.crawling import plan_crawl
from gpuprices.processes import child_arguments
from gpuprices.storage.sqlite import SqliteStore
from tests.e2e import fast_crawl_config, query, write_config
from tests.faults import env_without_secrets
from tests.httpserver import LocalServer, Reply

# The child's own entry point, plus a note at exit of which heavy modules it had loaded.
_WRAPPER = """
import atexit, runpy, sys
note = sys.argv.pop(1)
atexit.register(lambda: open(note, "w").write(" ".join(
    name for name in ("pandas", "numpy", "sqlite_utils", "aiohttp", "tldextract", "twisted.conch")
    if name in sys.modules)))
runpy.run_module("gpuprices.crawl_child", run_name="__main__")
"""


def test_a_crawl_child_never_imports_pandas(tmp_path: Path, corpus: Path) -> None:
    db = tmp_path / "prices.db"
    page = (corpus / "ebay-search/s-item-2025-03-ebay-com-shirts-usd.html").read_bytes()
    loaded = tmp_path / "loaded.txt"
    with LocalServer() as site:
        site.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        site.route("/sch/i.html", Reply(page))
        settings = load_settings(write_config(tmp_path / "config.toml", fast_crawl_config(
            db, f'[sources.ebay]\nbase_url = "{site.url}"\nqueries = ["h100"]\nmax_pages = 1\n')))
        with SqliteStore(db) as store:  # the parent creates (and migrates) the database
            crawl_id = store.start_crawl("ebay", ["h100"])
        plan = plan_crawl(settings, "ebay", crawl_id=crawl_id)
        done = subprocess.run([sys.executable, "-c", _WRAPPER, str(loaded), *child_arguments(crawl_id)],
                              input=json.dumps(attrs.asdict(plan)).encode(), capture_output=True,
                              env=env_without_secrets(), cwd=tmp_path, timeout=240, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] >= 60  # it stored the crawl
    assert loaded.read_text() == ""


def test_switched_off_components_leave_the_same_components(tmp_path: Path) -> None:
    """Taking switched-off components out of the base settings changes nothing Scrapy builds."""
    from scrapy.settings import Settings
    from scrapy.utils.conf import build_component_list

    from gpuprices.spiders.components import COMPONENT_SETTINGS, without_switched_off

    settings = load_settings(write_config(tmp_path / "config.toml", fast_crawl_config(tmp_path / "prices.db")))
    options = plan_crawl(settings, "ebay", crawl_id=1).scrapy_settings
    lean = without_switched_off(options)
    for name in COMPONENT_SETTINGS:
        built = build_component_list(Settings(options).get_component_priority_dict_with_base(name))
        assert build_component_list(Settings(lean).get_component_priority_dict_with_base(name)) == built
    assert "scrapy.extensions.remote_control.RemoteControl" not in lean["EXTENSIONS_BASE"]
    assert "scrapy.downloadermiddlewares.cookies.CookiesMiddleware" not in lean["DOWNLOADER_MIDDLEWARES_BASE"]
