"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, on ``gpuprices serve``.

The server is the real command in a child process on 127.0.0.1, on a store built from the corpus.
Every page is loaded with a console listener: an error there (a CSP violation, a script error, a
missing file) fails the test. A screenshot of each page is kept in ``tmp/out/screenshots`` (or
``$GPUPRICES_TEST_ARTIFACTS``). Without Chromium the tests skip, unless ``GPUPRICES_REQUIRE_BROWSER=1``
(set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import ROOT, run_cli
from tests.web_store import XSS_TITLE, XSS_TITLE_2, CorpusStore, build_corpus_store

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("GPUPRICES_TEST_ARTIFACTS", ROOT / "tmp" / "out")) / "screenshots"


def chromium_path() -> str:
    found = os.environ.get("GPUPRICES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        if os.environ.get("GPUPRICES_REQUIRE_BROWSER") == "1":
            pytest.fail("GPUPRICES_REQUIRE_BROWSER=1 but Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def built(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> CorpusStore:
    return build_corpus_store(corpus, tmp_path_factory.mktemp("web-browser"))


@pytest.fixture(scope="module")
def server(built: CorpusStore) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUPRICES_CONFIG")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    process = subprocess.Popen([sys.executable, "-m", "gpuprices", "--config", str(built.config), "serve",
                                "--port", str(port)], cwd=built.database.parent, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"gpuprices serve did not start: {output[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    # Imported here, not at collection: every worker collects this module, one runs it.
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="gpuprices-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900}, offline=False)
        try:
            yield context
        finally:
            context.close()


class Watched:
    """A page whose console errors and uncaught exceptions are collected."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda request: self.errors.append(f"request failed: {request.url}"))

    def open(self, url: str, shot: str) -> Any:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url
        self.page.wait_for_load_state("networkidle")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        return self.page


@pytest.fixture
def watched(browser_context: Any) -> Iterator[Watched]:
    page = browser_context.new_page()
    watcher = Watched(page)
    yield watcher
    page.close()
    assert watcher.errors == [], watcher.errors


def _premium(built: CorpusStore) -> list[dict[str, Any]]:
    result = run_cli("--config", str(built.config), "premium", "--format", "json", cwd=built.database.parent)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_overview_lists_the_expected_skus(watched: Watched, server: str, built: CorpusStore) -> None:
    page = watched.open(f"{server}/", "overview")
    shown = page.locator("#overview tbody tr").evaluate_all("rows => rows.map(r => r.dataset.sku)")
    expected = sorted({r["sku"] for r in _premium(built) if r["condition_group"] == "all"})
    assert shown == expected and "h100-80gb-pcie" in shown
    h100 = page.locator('#overview tr[data-sku="h100-80gb-pcie"]')
    assert h100.locator("svg.spark polyline").count() == 1  # the sparkline, drawn by the server
    page.click("text=Premium")  # sort by premium, descending
    values = page.locator("#overview tbody tr").evaluate_all("rows => rows.map(r => r.dataset.sku)")
    premiums = {r["sku"]: r["premium"] for r in _premium(built) if r["condition_group"] == "all"
                and r["side"] == "asking"}
    assert values == sorted(premiums, key=lambda s: -premiums[s])


def test_sku_chart_draws_every_day_and_hover_shows_median_and_n(watched: Watched, server: str,
                                                               built: CorpusStore) -> None:
    page = watched.open(f"{server}/sku/h100-80gb-pcie?days=30", "sku")
    chart = page.locator("#chart")
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-asking-points") == str(built.days)
    assert page.locator("#daily tbody tr").count() == built.days  # the same numbers, without JavaScript
    today = next(r for r in _premium(built) if (r["sku"], r["side"], r["condition_group"])
                 == ("h100-80gb-pcie", "asking", "all"))
    box = page.locator("#chart .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)  # the latest day, at the right
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible")
    text = tooltip.inner_text()
    assert today["day"] in text
    assert f"median ${Decimal(today['median_usd']):,.2f}" in text and f"n={today['n']}" in text
    assert f"${Decimal(today['p25_usd']):,.2f} / ${Decimal(today['p75_usd']):,.2f}" in text
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)  # the first day, at the left
    assert tooltip.inner_text().split("\n")[0] != today["day"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sku-hover.png"))


def test_excluded_toggle_reveals_the_reasons(watched: Watched, server: str) -> None:
    page = watched.open(f"{server}/sku/h100-80gb-pcie", "sku-excluded")
    reason = page.locator("#excluded td.reason").first
    assert not reason.is_visible()
    page.click("#excluded summary")
    assert reason.is_visible()
    reasons = page.locator("#excluded td.reason").all_inner_texts()
    assert reasons and all(r.startswith(("excluded:", "quarantined:", "not working")) for r in reasons)
    assert any("seller feedback" in r for r in reasons)
    page.screenshot(path=str(ARTIFACTS / "sku-excluded-open.png"), full_page=True)


def test_html_in_titles_is_text_and_runs_nothing(watched: Watched, server: str) -> None:
    page = watched.open(f"{server}/sku/h100-80gb-pcie", "sku-xss")
    page.click("#excluded summary")
    titles = page.locator("a.title, span.title").all_inner_texts()
    assert XSS_TITLE in titles and XSS_TITLE_2 in titles
    assert page.evaluate("() => window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("() => [...document.scripts].every(s => !s.textContent.includes('__xss'))")
    link = page.locator("a.title", has_text="window.__xss=1").first
    page.goto(server + "/listing/" + link.locator("xpath=ancestor::tr").get_attribute("data-listing"))
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == XSS_TITLE
    assert XSS_TITLE in page.locator("#observations td.raw").all_inner_texts()
    assert page.evaluate("() => window.__xss") is None
    page.screenshot(path=str(ARTIFACTS / "listing.png"), full_page=True)


@pytest.mark.parametrize("path, shot, heading", [
    ("/rentals", "rentals", "Rentals and rent vs buy"),
    ("/sources", "sources", "Sources"),
    ("/alerts", "alerts", "Alerts"),
])
def test_other_pages_render_without_errors(watched: Watched, server: str, path: str, shot: str, heading: str) -> None:
    page = watched.open(server + path, shot)
    assert page.locator("h1").inner_text() == heading
    assert page.locator("table.data").count() >= 1
    downloads = page.locator(".downloads a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert downloads and all(link.startswith("/api/") for link in downloads)
    for link in downloads:  # every download link answers
        assert httpx.get(server + link, timeout=30).status_code == 200, link
