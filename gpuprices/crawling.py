"""Run one crawl of one source in a child process and record how it ended.

Twisted's reactor cannot be restarted inside a process, so every crawl (from the CLI or the
daemon) runs in ``python -m gpuprices.crawl_child``. The parent creates the ``crawls`` row, hands
the child its Scrapy settings and spider arguments over stdin (never argv or the environment: they
may hold API secrets), waits with a timeout, and marks the crawl failed if the child dies or hangs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import attrs

from gpuprices import sources as registry
from gpuprices.config import Settings
from gpuprices.exceptions import ConfigError, CrawlError
from gpuprices.storage.archive import prune_archive
from gpuprices.storage.sqlite import SqliteStore


@attrs.define
class CrawlPlan:
    """What the child process needs: everything JSON-serializable."""

    source: str
    spider: str
    scrapy_settings: dict[str, Any]
    spider_kwargs: dict[str, Any]
    queries: list[str]


def scrapy_settings(settings: Settings, *, crawl_id: int, verbose: bool = False) -> dict[str, Any]:
    """Scrapy settings from our configuration: polite by default."""
    crawl = settings.crawl
    return {
        "BOT_NAME": "gpuprices",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,  # each delay randomized ±50 %
        "CONCURRENT_REQUESTS": 4,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests_per_domain,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.1),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": crawl.autothrottle_target_concurrency,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": crawl.retry_times,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "HTTPCACHE_ENABLED": crawl.http_cache,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # no listening ports from a crawl
        "LOG_LEVEL": "INFO" if verbose else "WARNING",
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "gpuprices.spiders.middlewares.PoliteRetryMiddleware": 550,
            "gpuprices.pipeline.archiving.ArchiveMiddleware": 50,  # near the engine: sees final responses only
        },
        "EXTENSIONS": {"gpuprices.spiders.progress.ProgressExtension": 500},
        "GPUPRICES_DATABASE": str(settings.storage.database),
        "GPUPRICES_CRAWL_ID": crawl_id,
        "GPUPRICES_ARCHIVE": settings.storage.archive,
        "GPUPRICES_MAX_RETRY_AFTER": crawl.max_retry_after,
        "GPUPRICES_CLASSIFY": settings.classify_options,
    }


def plan_crawl(settings: Settings, source: str, *, crawl_id: int, queries: list[str] | None = None,
               calls_used_today: int = 0, verbose: bool = False, watched: list[str] | None = None) -> CrawlPlan:
    """The crawl child's plan for ``source``, from its registry entry; secrets are revealed only here."""
    try:
        entry = registry.get(source)
    except ConfigError as exc:
        raise CrawlError(str(exc)) from None
    request = registry.PlanRequest(settings=settings, section=entry.settings_of(settings), queries=queries,
                                   watched=list(watched or []), calls_used_today=calls_used_today)
    kwargs, chosen = entry.plan(request)
    options = scrapy_settings(settings, crawl_id=crawl_id, verbose=verbose)
    options["ITEM_PIPELINES"] = {entry.item_pipeline: 300}
    options["GPUPRICES_FAMILY"] = entry.family
    return CrawlPlan(source=source, spider=entry.spider, scrapy_settings=options, spider_kwargs=kwargs,
                     queries=chosen)


def run_crawl(settings: Settings, source: str, *, queries: list[str] | None = None, verbose: bool = False,
              timeout: float | None = None) -> dict[str, Any]:
    """Crawl ``source`` once in a child process; returns the finished ``crawls`` row."""
    with SqliteStore(settings.storage.database) as store:
        calls_used = store.api_calls_today(source)
        watched = store.watches(source)
        prune_archive(store, settings.storage.archive_retention_days)
        crawl_id = store.start_crawl(source, queries or [])
        try:
            plan = plan_crawl(settings, source, crawl_id=crawl_id, queries=queries,
                              calls_used_today=calls_used, verbose=verbose, watched=watched)
        except CrawlError as exc:
            store.finish_crawl(crawl_id, "failed", error=str(exc))
            raise
        store.db.execute("UPDATE crawls SET queries = ? WHERE id = ?", [json.dumps(plan.queries), crawl_id])
    error = _run_child(plan, timeout or settings.crawl.crawl_timeout)
    with SqliteStore(settings.storage.database) as store:
        row = store.crawl(crawl_id)
        if row["status"] == "running":  # the child never closed the crawl
            row = store.finish_crawl(crawl_id, "failed", error=error or "crawl process ended without a result")
        elif error and not row.get("error"):
            store.db.execute("UPDATE crawls SET error = ? WHERE id = ?", [error, crawl_id])
            row = store.crawl(crawl_id)
    return row


_RUNNING: set[subprocess.Popen[bytes]] = set()


def stop_running_crawls(sig: int = signal.SIGTERM) -> int:
    """Ask running crawl children to stop gracefully (Scrapy closes the spider and the crawl)."""
    for child in list(_RUNNING):
        if child.poll() is None:
            child.send_signal(sig)
    return len(_RUNNING)


def _run_child(plan: CrawlPlan, timeout: float) -> str | None:
    """Start the child, feed it the plan, wait; returns an error line or ``None``."""
    payload = json.dumps(attrs.asdict(plan)).encode()
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    child = subprocess.Popen([sys.executable, "-m", "gpuprices.crawl_child"], stdin=subprocess.PIPE, env=env)
    _RUNNING.add(child)
    try:
        assert child.stdin is not None
        child.stdin.write(payload)
        child.stdin.close()
        code = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return f"crawl timed out after {timeout:.0f} s and was stopped"
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        child.wait()
        raise
    finally:
        _RUNNING.discard(child)
    if code != 0:
        return f"crawl process exited with code {code}"
    return None
