"""Three different empty pages: eBay's error page (an error: failed, exit 3), a results page that found 0
results (valid, empty, exit 0) and result cards that parse to nothing (a layout change)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gpuprices.core.items import PageStatus
from gpuprices.pipeline.crawl_pipeline import crawl_status
from gpuprices.spiders.blocks import detect_error_page
from gpuprices.spiders.parsers.ebay_item import parse_item_page
from gpuprices.spiders.parsers.ebay_search import parse_search_page
from tests.e2e import run_cli

NOW = datetime(2026, 1, 5, tzinfo=UTC)

# The shape of eBay's error template: its title, an "error-info" block, and a short apology.
ERROR_PAGE = (
    "<!DOCTYPE html><html lang='en'><head><title>Error Page | eBay</title></head><body>"
    "<header id='gh'>eBay</header><div id='error-info'><h1>Sorry - this page was not found.</h1>"
    "<p>Something went wrong on our end. Please try again later.</p></div></body></html>"
)
ZERO_RESULTS = (
    "<html><head><title>xyzzy | eBay</title></head><body><div class='srp-main'>"
    '<h1 class="srp-controls__count-heading"><span class="BOLD">0</span> results for xyzzy</h1>'
    '<div class="srp-save-null-search"><h3 class="srp-save-null-search__heading">No exact matches found</h3></div>'
    "<ul class='srp-results srp-list'></ul></div></body></html>"
)
CARDS_WITHOUT_CONTENT = (
    "<html><body><div class='srp-main'><ul class='srp-results'>"
    + "".join(f"<li class='s-card' data-listingid='{i}'><div>new markup</div></li>" for i in range(1, 4))
    + "</ul></div></body></html>"
)


def _search(html: str, status: int | None = None) -> tuple[PageStatus, str, int]:
    page = parse_search_page(html, url="https://www.ebay.com/sch/i.html?_nkw=x", site="ebay.com",
                             observed_at=NOW, http_status=status)
    return page.status, page.reason, len(page.listings)


def test_ebay_error_page_is_failed_not_layout_change() -> None:
    status, reason, n = _search(ERROR_PAGE)
    assert (status, n) == (PageStatus.FAILED, 0)
    assert "Error Page | eBay" in reason and "\n" not in reason


@pytest.mark.parametrize("title", ["Fehlerseite | eBay", "Page d'erreur | eBay", "エラーページ | eBay"])
def test_localized_error_titles(title: str) -> None:
    assert _search(ERROR_PAGE.replace("Error Page | eBay", title))[0] is PageStatus.FAILED


@pytest.mark.parametrize("code", [404, 500, 502, 503])
def test_http_error_body_is_failed(code: int) -> None:
    body = f"<html><head><title>{code}</title></head><body><h1>Server error</h1></body></html>"
    status, reason, _ = _search(body, status=code)
    assert status is PageStatus.FAILED and str(code) in reason


def test_a_results_page_for_the_query_error_page_is_not_an_error() -> None:
    assert detect_error_page("<title>Error Page for sale | eBay</title>", 200) is None


def test_zero_results_page_is_a_valid_empty_page() -> None:
    status, reason, n = _search(ZERO_RESULTS)
    assert (status, n) == (PageStatus.EMPTY, 0) and "0" in reason


def test_cards_that_parse_to_nothing_are_a_layout_change() -> None:
    assert _search(CARDS_WITHOUT_CONTENT)[0] is PageStatus.LAYOUT_CHANGE


def test_item_error_page_is_failed() -> None:
    page = parse_item_page(ERROR_PAGE, url="https://www.ebay.com/itm/123456789012", site="ebay.com", observed_at=NOW)
    assert page.status is PageStatus.FAILED and page.listing is None


def test_a_crawl_of_error_pages_failed() -> None:
    assert crawl_status({"failed": 2}, 0) == "failed"
    assert crawl_status({"ok": 3, "failed": 1}, 90) == "partial"


def test_parse_cli_error_page_exit_3_one_line(tmp_path: Path) -> None:
    page = tmp_path / "error.html"
    page.write_text(ERROR_PAGE, encoding="utf-8")
    done = run_cli("parse", str(page), cwd=tmp_path)
    assert done.returncode == 3 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error page" in lines[0] and "Traceback" not in done.stderr


def test_parse_cli_zero_results_exit_0_no_rows(tmp_path: Path) -> None:
    page = tmp_path / "zero.html"
    page.write_text(ZERO_RESULTS, encoding="utf-8")
    done = run_cli("parse", "--format", "csv", str(page), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) <= 1  # the header only
    assert "layout_change" not in done.stderr
