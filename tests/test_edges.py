"""Every edge one line with the right exit code; network failures fail fast and say why."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError, NotConfigured
from scrapy.utils.test import get_crawler
from twisted.internet.error import DNSLookupError

from gpuprices.cli.crawl import problem_text, summary_line
from gpuprices.spiders.base import failure_reason
from gpuprices.spiders.middlewares import PoliteRetryMiddleware
from tests.e2e import ROOT, query, run_cli, write_config
from tests.faults import children_running, crawl_config, env_without_secrets, html, search_site, wait_for


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as probe:  # bound then closed: nothing listens there, connections are refused
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- output paths, sources, SKUs --------------------------------------------------------------------


@pytest.mark.parametrize("args", [("chart", "-o", "missing/chart.png"), ("export", "crawls", "-o", "missing/c.csv")])
def test_output_in_a_missing_folder_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert "missing" in done.stderr and "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_export_source_is_validated(tmp_path: Path) -> None:
    unknown = run_cli("export", "listings", "--source", "ebya", cwd=tmp_path)
    assert unknown.returncode == 2 and "ebya" in unknown.stderr and "ebay-api" in unknown.stderr
    index = run_cli("export", "index", "--source", "ebay", cwd=tmp_path)
    assert index.returncode == 2 and "combines every source" in index.stderr


def test_unknown_sku_names_the_closest_ids(tmp_path: Path) -> None:
    done = run_cli("premium", "--sku", "h100-80gb", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown SKU 'h100-80gb'" in done.stderr and "h100-80gb-pcie" in done.stderr


def test_alert_rule_with_an_unknown_sku_is_a_config_error_with_the_closest_ids(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", """
[[alerts.rules]]
name = "cheap"
kind = "new_listing_below"
sku = "h100-pcie"
unit_price_usd = 20000
""")
    done = run_cli("--config", str(config), "status", cwd=tmp_path)
    assert done.returncode == 2
    line = _one_line(done)
    assert "alerts.rules.0.sku" in line and "unknown SKU 'h100-pcie'" in line and "h100-80gb-pcie" in line


def test_skus_lists_the_catalog(tmp_path: Path) -> None:
    table = run_cli("skus", cwd=tmp_path)
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split()[:4] == ["id", "model", "memory_gb", "form_factor"]
    rows = [json.loads(line) for line in run_cli("skus", "--format", "json", cwd=tmp_path).stdout.splitlines()]
    h100 = next(r for r in rows if r["id"] == "h100-80gb-pcie")
    assert (h100["model"], h100["memory_gb"], h100["form_factor"], h100["list_price_usd"]) == (
        "H100", 80, "pcie", "36000.00")
    line = next(line for line in table.stdout.splitlines() if line.startswith("h100-80gb-pcie "))
    assert line.split()[1:5] == ["H100", "80", "pcie", "36000.00"]


# -- one "no data" exit code -------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("premium",), ("premium", "--format", "json"), ("chart", "-o", "c.png"),
                                  ("rental",), ("breakeven",), ("alerts", "retry", "--id", "99"),
                                  ("import", "empty")])
def test_no_data_is_exit_4_with_one_line_in_every_command(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "empty").mkdir()
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 4, done.stderr
    line = _one_line(done)
    assert line.startswith("gpuprices: no ")
    assert done.stdout == ""


# -- network failures --------------------------------------------------------------------------------


def test_unreachable_sites_fail_fast_with_one_line_per_source_and_no_traceback(tmp_path: Path) -> None:
    """``run --once`` with every site refusing connections: fast, one summary line per source naming the cause."""
    port = _closed_port()
    site = f"http://127.0.0.1:{port}"
    feeds = ", ".join(f'{{ kind = "skypilot", url = "{site}/catalogs/v7/{cloud}/vms.csv" }}'
                      for cloud in ("lambda", "runpod", "azure", "fluidstack"))
    config = write_config(tmp_path / "c.toml", f"""
[storage]
database = "{tmp_path / 'prices.db'}"
[crawl]
retry_times = 3
[sources.ebay]
base_url = "{site}"
queries = ["nvidia h100", "nvidia a100"]
include_sold = false
[sources.rental]
feeds = [{feeds}]
""")
    done = run_cli("--config", str(config), "run", "--once", cwd=tmp_path, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "WARNING" not in done.stderr
    per_source = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(per_source) <= 3 and all(line.split(":")[0] in ("ebay", "ebay-api", "rental")
                                        for line in per_source), done.stderr
    assert "ebay-api: skipped, needs EBAY_CLIENT_ID and EBAY_CLIENT_SECRET" in done.stderr
    ebay = next(line for line in done.stdout.splitlines() if line.startswith("ebay: "))
    rental = next(line for line in done.stdout.splitlines() if line.startswith("rental: "))
    assert f"2 pages failed: connection refused by 127.0.0.1:{port}" in ebay
    assert f"4 pages failed: connection refused by 127.0.0.1:{port}" in rental
    # Connection refused is not retried three times: at most one retry per host, then at once.
    crawls = query(tmp_path / "prices.db", "SELECT source, status, failed_pages FROM crawls ORDER BY id")
    assert crawls == [{"source": "ebay", "status": "failed", "failed_pages": 2},
                      {"source": "rental", "status": "failed", "failed_pages": 4}]


def _middleware() -> tuple[PoliteRetryMiddleware, object]:
    crawler = get_crawler(settings_dict={"RETRY_TIMES": 3})
    crawler.spider = crawler._create_spider("probe")
    middleware = PoliteRetryMiddleware.from_crawler(crawler)
    return middleware, crawler.spider


def test_dns_failure_is_retried_once_then_the_host_fails_at_once() -> None:
    middleware, _spider = _middleware()
    first = Request("https://nowhere.invalid/a")
    error = CannotResolveHostError("DNS lookup failed: no results for hostname lookup: nowhere.invalid.")
    retry = middleware.process_exception(first, error)
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1
    assert middleware.process_exception(retry, error) is None  # gave up after one retry
    # Every further request to that host fails before it is even queued (no delay, no retry) …
    with pytest.raises(CannotResolveHostError):
        middleware.process_request(Request("https://nowhere.invalid/b"))
    assert middleware.process_exception(Request("https://nowhere.invalid/b"), error) is None
    # … other hosts are not affected, and timeouts keep their polite retries.
    assert middleware.process_request(Request("https://elsewhere.example/")) is None
    from twisted.internet.error import TimeoutError as TwistedTimeout

    timeout = Request("https://slow.example/")
    for attempt in range(3):
        timeout = middleware.process_exception(timeout, TwistedTimeout())
        assert isinstance(timeout, Request) and timeout.meta["retry_times"] == attempt + 1


def test_failure_reasons_are_words_a_person_can_act_on() -> None:
    wrapped = CannotResolveHostError("DNS lookup failed")
    wrapped.__cause__ = DNSLookupError("no results")
    assert failure_reason(wrapped, "https://raw.githubusercontent.com/x.csv") == \
        "cannot resolve host raw.githubusercontent.com"
    from scrapy.exceptions import DownloadConnectionRefusedError

    assert failure_reason(DownloadConnectionRefusedError("refused"), "http://127.0.0.1:9/") == \
        "connection refused by 127.0.0.1:9"


def test_summary_line_plurals_and_cause() -> None:
    row = {"source": "rental", "status": "failed", "pages": 1, "blocked_pages": 0, "layout_change_pages": 0,
           "failed_pages": 1, "empty_pages": 0, "listings": 1, "listings_new": 1, "listings_updated": 0,
           "dropped": "{}", "error": None}
    line = summary_line(row, [("failed", "cannot resolve host a.example", 1)])
    assert "1 page (" in line and "1 listing (" in line and "1 page failed: cannot resolve host a.example" in line
    assert problem_text([("failed", "x", 11), ("failed", "y", 1), ("blocked", "z", 2)]) == \
        "12 pages failed: x (and 1 other cause); 2 pages blocked: z"


def test_progress_display_off_the_terminal_says_nothing() -> None:
    from gpuprices.spiders.progress import ProgressExtension

    crawler = get_crawler()
    if sys.stderr.isatty():
        pytest.skip("stderr is a terminal here")
    with pytest.raises(NotConfigured) as refused:
        ProgressExtension.from_crawler(crawler)
    assert refused.value.args == ()  # Scrapy logs "Disabled …: <message>" as a warning when there is one


# -- Ctrl-C ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("crawl", "--source", "ebay"), ("run", "--once")])
def test_ctrl_c_during_a_crawl_exits_130_and_the_crawl_is_aborted(tmp_path: Path, corpus: Path,
                                                                  command: tuple[str, ...]) -> None:
    slow = html(b"<html><body>slow</body></html>", delay=30.0)
    with search_site(slow) as site:
        config = crawl_config(tmp_path, site.url)
        env = env_without_secrets() | {"PYTHONPATH": str(ROOT)}
        # Its own process group, like a shell job: Ctrl-C is SIGINT to the whole foreground group.
        parent = subprocess.Popen([sys.executable, "-m", "gpuprices", "--config", str(config), *command],
                                  cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)
        try:
            wait_for(lambda: children_running(parent.pid, "gpuprices.crawl_child"), timeout=60)
            wait_for(lambda: site.seen("/sch/i.html"), timeout=60)
            os.killpg(parent.pid, signal.SIGINT)
            out, err = parent.communicate(timeout=90)
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.communicate()
    assert parent.returncode == 130, out + err
    assert "Traceback" not in err
    crawls = query(tmp_path / "prices.db", "SELECT status, finished_at FROM crawls")
    assert [c["status"] for c in crawls] == ["aborted"] and crawls[0]["finished_at"]
