"""Run one crawl of one source in a child process and record how it ended.

Twisted's reactor cannot be restarted inside a process, so every crawl (from the CLI or the
daemon) runs in ``python -m gpuprices.crawl_child``. The parent creates the ``crawls`` row, starts
the child in its own session with a minimal environment and records its pid, hands it its Scrapy
settings and spider arguments over stdin (never argv or the environment: they may hold API
secrets), waits with a timeout, and marks the crawl failed if the child dies or hangs.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import attrs

from gpuprices import sources as registry
from gpuprices.config import Settings
from gpuprices.exceptions import ConfigError, CrawlError
from gpuprices.processes import CHILD_MODULE, ChildOutput, child_arguments, child_environment, signal_group
from gpuprices.storage.factory import open_store


@attrs.define
class CrawlPlan:
    """What the child process needs: everything JSON-serializable."""

    source: str
    spider: str
    scrapy_settings: dict[str, Any]
    spider_kwargs: dict[str, Any]
    queries: list[str]


# Scrapy components that the settings below switch off (each would raise NotConfigured): left out
# altogether, so that the crawl child neither imports nor builds them (spiders.components). Robots.txt, retries,
# AutoThrottle, timeouts, redirects and the HTTP cache stay Scrapy's own, as configured.
_UNUSED_EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,  # TELNETCONSOLE_ENABLED = False
    "scrapy.extensions.remote_control.RemoteControl": None,  # REMOTE_CONTROL_ENABLED = False
    "scrapy.extensions.memdebug.MemoryDebugger": None,  # MEMDEBUG_ENABLED is off by default
}
_UNUSED_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,  # COOKIES_ENABLED = False
}


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
        # Quiet unless -v: failures are recorded per page and summed up in one line per source by the
        # parent; Scrapy's own error logs (with tracebacks) would repeat them page by page.
        "LOG_LEVEL": "INFO" if verbose else "CRITICAL",
        "DOWNLOADER_MIDDLEWARES": {
            **_UNUSED_MIDDLEWARES,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "gpuprices.spiders.middlewares.PoliteRetryMiddleware": 550,
            "gpuprices.pipeline.archiving.ArchiveMiddleware": 50,  # near the engine: sees final responses only
            "gpuprices.spiders.redirects.InternalRedirectMiddleware": 60,  # no redirects into private networks
        },
        "SPIDER_MIDDLEWARES": {"gpuprices.spiders.middlewares.ParserErrorMiddleware": 50},  # nearest the spider
        "EXTENSIONS": {**_UNUSED_EXTENSIONS, "gpuprices.spiders.progress.ProgressExtension": 500},
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
              timeout: float | None = None, runner: Callable[[CrawlPlan, float], str | None] | None = None,
              stop: threading.Event | None = None) -> dict[str, Any]:
    """Crawl ``source`` once in a child process (or with ``runner``, e.g. a Scrapyd job); returns the
    finished ``crawls`` row.

    A crawl stopped by a signal (SIGTERM/SIGINT to the daemon, Ctrl-C) is closed as ``aborted``; on
    Ctrl-C the row is closed before ``KeyboardInterrupt`` goes on up. ``stop`` is the caller's stop
    request (the daemon's): a child that starts after it was set is stopped at once, since the signal's
    :func:`stop_running_crawls` could not see it yet.
    """
    with open_store(settings.storage.database) as store:
        calls_used = store.api_calls_today(source)
        watched = store.watches(source)
        store.prune_archive(settings.storage.archive_retention_days)
        crawl_id = store.start_crawl(source, queries or [])
        try:
            plan = plan_crawl(settings, source, crawl_id=crawl_id, queries=queries,
                              calls_used_today=calls_used, verbose=verbose, watched=watched)
        except CrawlError as exc:
            store.finish_crawl(crawl_id, "failed", error=str(exc))
            raise
        store.set_crawl_queries(crawl_id, plan.queries)

    def record_pid(pid: int) -> None:
        with open_store(settings.storage.database) as store:
            store.set_crawl_pid(crawl_id, pid)

    limit = timeout or settings.crawl.crawl_timeout
    try:
        if runner is not None:
            outcome = ChildOutcome(error=runner(plan, limit))
        else:
            outcome = _run_child(plan, limit, crawl_id=crawl_id, grace=settings.daemon.stop_grace_seconds,
                                 on_start=record_pid, stop=stop)
    except KeyboardInterrupt:
        with open_store(settings.storage.database) as store:
            store.finish_crawl(crawl_id, "aborted", error="interrupted (Ctrl-C)")
        raise
    with open_store(settings.storage.database) as store:
        row = store.crawl(crawl_id)
        if row["status"] == "running":  # the child never closed the crawl
            status = "aborted" if outcome.aborted else "failed"
            row = store.finish_crawl(crawl_id, status, error=outcome.error or "crawl process ended without a result")
        elif outcome.error and not row.get("error"):
            store.set_crawl_error(crawl_id, outcome.error)
            row = store.crawl(crawl_id)
    return row


@attrs.define
class _Child:
    process: subprocess.Popen[bytes]
    stop_signal: int | None = None
    """Set when the crawl was asked to stop (daemon shutdown, Ctrl-C): it then ends ``aborted``."""

    def signal(self, sig: int) -> None:
        if self.process.poll() is None:  # never signal a group whose leader is gone (its id may be reused)
            signal_group(self.process.pid, sig)

    def stop(self, sig: int, grace: float) -> None:
        """``sig`` to the child's group now, SIGKILL after ``grace`` seconds if it is still there."""
        self.stop_signal = self.stop_signal or sig
        self.signal(sig)
        timer = threading.Timer(grace, self.signal, args=(signal.SIGKILL,))
        timer.daemon = True
        timer.start()


@attrs.frozen
class ChildOutcome:
    error: str | None = None
    aborted: bool = False


_RUNNING: dict[int, _Child] = {}
_RUNNING_LOCK = threading.Lock()


def stop_running_crawls(sig: int = signal.SIGTERM, grace: float = 20.0) -> int:
    """Ask running crawl children to stop (Scrapy closes the spider and the crawl); after ``grace``
    seconds the ones still running are killed. Returns how many were running."""
    with _RUNNING_LOCK:
        children = list(_RUNNING.values())
    for child in children:
        child.stop(sig, grace)
    return len(children)


def _run_child(plan: CrawlPlan, timeout: float, *, crawl_id: int, grace: float,
               on_start: Callable[[int], None] | None = None, stop: threading.Event | None = None) -> ChildOutcome:
    """Start the child in its own session, record its pid, feed it the plan, wait."""
    payload = json.dumps(attrs.asdict(plan)).encode()
    output = ChildOutput()
    process = subprocess.Popen([sys.executable, "-m", CHILD_MODULE, *child_arguments(crawl_id)],
                               stdin=subprocess.PIPE, env=child_environment(), start_new_session=True,
                               stdout=output.stdout, stderr=output.stderr)
    output.start(process)
    child = _Child(process)
    with _RUNNING_LOCK:
        _RUNNING[process.pid] = child
    if stop is not None and stop.is_set():  # asked to stop while this child was starting
        child.stop(signal.SIGTERM, grace)
    try:
        if on_start is not None:
            on_start(process.pid)
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # a child that died at once: its exit code says so
            process.stdin.write(payload)
            process.stdin.close()
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.stop(signal.SIGTERM, 15)
        process.wait()
        return ChildOutcome(error=f"crawl timed out after {timeout:.0f} s and was stopped")
    except KeyboardInterrupt:
        # The child is in its own session: the terminal's Ctrl-C reached only us, so pass it on.
        child.stop(signal.SIGINT, grace)
        try:
            process.wait()
        except KeyboardInterrupt:  # a second Ctrl-C: now
            child.signal(signal.SIGKILL)
            process.wait()
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(process.pid, None)
        output.join()
    if child.stop_signal is not None:
        return ChildOutcome(error=f"stopped by signal {signal.Signals(child.stop_signal).name}", aborted=True)
    if code != 0:
        return ChildOutcome(error=f"crawl process exited with code {code}")
    return ChildOutcome()
