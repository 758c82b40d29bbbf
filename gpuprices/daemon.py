"""``gpuprices run``: the scheduler (APScheduler 3) that crawls, analyses and alerts.

* each source on its own interval or cron expression, with jitter; missed runs (the machine slept)
  are coalesced into one run, never replayed N times;
* every crawl in a child process (see :mod:`gpuprices.crawling`), so a crash or hang of one crawl
  is recorded and never stops the daemon;
* one daemon per database (an exclusive lock on ``<database>.lock``); at start it ends crawl
  processes a killed daemon left behind and analyses crawls that finished without analysis;
* deliveries on their own thread (each channel on its own worker, each attempt within the channel's
  timeout), so no receiver delays a crawl or another channel;
* SIGTERM/SIGINT: the running crawl gets ``stop_grace_seconds`` (default 20) to close, then it is
  killed and marked ``aborted``; the daemon exits well inside systemd's 90 s stop timeout.
* one daemon per database (an exclusive lock on ``<database>.lock``; on PostgreSQL an advisory lock held
  by the scheduler's own connection, so the scheduler may run on any machine);
* SIGTERM/SIGINT: the running crawl is asked to stop gracefully, the running step finishes, the
  daemon exits cleanly.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from gpuprices.alerts.outbox import Outbox
from gpuprices.config import ScheduleSettings, Settings
from gpuprices.crawling import run_crawl, stop_running_crawls
from gpuprices.cycle import CycleReport, analyse_and_alert, enabled_sources
from gpuprices.exceptions import ConfigError, CrawlError, GpupricesError, StorageError
from gpuprices.processes import end_crawl_child
from gpuprices.sources import schedule_of
from gpuprices.storage.base import Store
from gpuprices.storage.factory import is_postgres, open_store

logger = logging.getLogger(__name__)


class DaemonLockedError(GpupricesError):
    """Another gpuprices daemon holds the lock of this database."""


class DatabaseLock:
    """One scheduler per database: an exclusive, non-blocking ``flock`` on ``<database>.lock`` (SQLite) or
    PostgreSQL's session advisory lock; released when the process (or its connection) ends."""

    def __init__(self, database: Path | str) -> None:
        self.database = database
        self.path = Path(f"{database}.lock")
        self._handle: IO[str] | None = None
        self._store: Store | None = None

    def acquire(self) -> None:
        if is_postgres(self.database):
            self._acquire_advisory()
            return
        try:
            handle = self.path.open("a+")
        except OSError as exc:
            raise StorageError(f"cannot create the lock file {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "?"
            handle.close()
            raise DaemonLockedError(f"another gpuprices daemon (pid {owner}) is already running for "
                                    f"{self.path.with_suffix('')}") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        except OSError:
            pass  # the pid is only informative; the lock itself is held
        self._handle = handle

    def _acquire_advisory(self) -> None:
        from gpuprices.storage.postgres import PostgresStore

        store = PostgresStore(str(self.database))
        if not store.try_scheduler_lock():
            store.close()
            raise DaemonLockedError(f"another gpuprices scheduler is already running for {store.where}")
        self._store = store

    def release(self) -> None:
        if self._store is not None:
            self._store.close()  # ends the session: PostgreSQL releases the advisory lock
            self._store = None
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def trigger_for(schedule: ScheduleSettings) -> BaseTrigger:
    """Cron expression when given (UTC), else the interval; both with jitter."""
    jitter = schedule.jitter_seconds or None
    if schedule.cron:
        try:
            trigger = CronTrigger.from_crontab(schedule.cron, timezone=UTC)
        except ValueError as exc:
            raise ConfigError(f"schedule.cron {schedule.cron!r} is not a valid crontab expression: {exc}") from None
        trigger.jitter = jitter
        return trigger
    return IntervalTrigger(minutes=schedule.interval_minutes, timezone=UTC, jitter=jitter)


ANALYSED_KEY = "daemon.analysed_through_crawl"
"""``meta`` key: the id of the latest crawl whose analysis (health, rules, outbox) is done."""


class Daemon:
    """Runs cycles on schedule until stopped.

    Crawls and their analysis run one at a time on the scheduler's worker (SQLite has one writer);
    deliveries run on their own thread, woken after each analysis and every
    ``delivery_interval_seconds``, so a slow receiver never delays a crawl.
    """

    def __init__(self, settings: Settings, *, verbose: bool = False) -> None:
        self.settings = settings
        self.verbose = verbose
        self.stopping = threading.Event()
        self.stop_signal: int | None = None
        self._wake_deliveries = threading.Event()
        self.workers: Any = None
        if settings.workers.kind == "scrapyd":
            if not is_postgres(settings.storage.database):
                raise ConfigError('workers.kind = "scrapyd" needs storage.database to be a PostgreSQL URL '
                                  "(the workers write to it)")
            from gpuprices.scrapyd_jobs import ScrapydWorkers  # imports Scrapy: only when workers are used

            self.workers = ScrapydWorkers(settings.workers)
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            # One step at a time (SQLite has one writer); with Scrapyd workers, one crawl per worker at once.
            executors={"default": ThreadPoolExecutor(max(1, len(self.workers.settings.urls)) if self.workers else 1)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": settings.daemon.misfire_grace_seconds},
        )

    def run(self) -> int | None:
        """Run until SIGTERM/SIGINT; returns the signal that stopped the daemon."""
        sources = enabled_sources(self.settings)
        if not sources:
            raise ConfigError("no source enabled: enable [sources.ebay] or set EBAY_CLIENT_ID/EBAY_CLIENT_SECRET")
        with DatabaseLock(self.settings.storage.database):
            self._recover()
            now = datetime.now(UTC)
            for source in sources:
                self.scheduler.add_job(self.crawl_job, trigger_for(schedule_of(self.settings, source)),
                                       args=[source], id=source, name=f"crawl {source}", next_run_time=now)
            deliveries = threading.Thread(target=self._delivery_loop, name="deliveries", daemon=True)
            previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
            wake = _wake_on_signals(self.scheduler.wakeup)
            logger.warning("gpuprices daemon started (pid %d): %s", os.getpid(), ", ".join(sources))
            self._wake_deliveries.set()  # what was pending before a restart goes out now
            deliveries.start()
            try:
                self.scheduler.start()
            finally:
                self.stopping.set()
                self._wake_deliveries.set()
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                wake()
                # An attempt still in flight is leased: it is sent again, same webhook-id, after a restart.
                deliveries.join(timeout=5)
                self._write_status(running=False)
            logger.warning("gpuprices daemon stopped")
        return self.stop_signal

    def _recover(self) -> None:
        """Before scheduling: end crawl processes that survived a killed daemon, close their crawls, and
        analyse crawls that finished while no analysis followed (the daemon was killed in between)."""
        with open_store(self.settings.storage.database) as store:
            for crawl in store.running_crawls():
                # A Scrapyd job's pid is on its worker's machine: only local children are ended here.
                if crawl.get("pid") and self.workers is None:
                    end_crawl_child(int(crawl["pid"]), int(crawl["id"]))
            store.fail_abandoned_crawls(error="the daemon stopped while this crawl ran")
            mark = store.get_meta(ANALYSED_KEY)
            if mark is None:  # first start: earlier history is not re-alerted
                store.put_meta(ANALYSED_KEY, str(store.latest_crawl_id() or 0))
                return
            pending = store.finished_crawls_after(int(mark))
            if pending:
                logger.warning("analysing %d crawl(s) that finished without analysis", len(pending))
                self._analyse(store, pending)

    def _analyse(self, store: Store, crawls: list[dict[str, Any]]) -> CycleReport:
        report = analyse_and_alert(self.settings, store, crawls, deliver=False)
        store.put_meta(ANALYSED_KEY, str(max(int(c["id"]) for c in crawls)))
        self._wake_deliveries.set()
        return report

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        grace = self.settings.daemon.stop_grace_seconds
        if self.stopping.is_set():
            stop_running_crawls(signal.SIGKILL, grace=0)  # second signal: stop now
            return
        self.stop_signal = signum
        logger.warning("signal %d: stopping; the running crawl has %g s to close", signum, grace)
        self.stopping.set()
        self._wake_deliveries.set()
        stop_running_crawls(signal.SIGTERM, grace=grace)
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()
        # Whatever hangs (a storage call, a child that ignores SIGKILL's group), the daemon is gone well
        # inside systemd's 90 s stop timeout.
        watchdog = threading.Timer(grace + 20, self._exit_now)
        watchdog.daemon = True
        watchdog.start()

    def _exit_now(self) -> None:
        logger.error("the daemon did not stop in time: exiting now")
        stop_running_crawls(signal.SIGKILL, grace=0)
        logging.shutdown()
        os._exit(130 if self.stop_signal == signal.SIGINT else 1)

    # -- jobs -----------------------------------------------------------------------------
    def crawl_job(self, source: str) -> None:
        """One crawl of ``source``, then analysis and alert evaluation (delivery is woken); never raises."""
        if self.stopping.is_set():
            return
        try:
            crawl = run_crawl(self.settings, source, verbose=self.verbose,
                              runner=self.workers.run if self.workers else None, stop=self.stopping)
            if crawl["status"] == "aborted":
                logger.warning("%s: aborted (%s)", source, crawl.get("error") or "stopped")
                return
            with open_store(self.settings.storage.database) as store:
                report = self._analyse(store, [crawl])
            muted = f" (muted: {', '.join(report.muted_keys)})" if report.muted_keys else ""
            logger.warning("%s: %s, %s listings; %d alerts%s", source, crawl["status"], crawl["listings"],
                           report.alerts, muted)
        except (CrawlError, StorageError) as exc:
            logger.error("%s: %s", source, exc)
        except Exception:  # a bug in one cycle must not stop the daemon
            logger.exception("%s: cycle failed", source)
        finally:
            if not self.stopping.is_set():  # the scheduler's locks are taken while it shuts down
                self._write_status(running=True)

    def _delivery_loop(self) -> None:
        interval = self.settings.daemon.delivery_interval_seconds
        while not self.stopping.is_set():
            self._wake_deliveries.wait(interval)
            self._wake_deliveries.clear()
            if self.stopping.is_set():
                return
            self.delivery_job()

    def delivery_job(self) -> None:
        """Send pending alert deliveries that are due (each channel on its own worker)."""
        if self.stopping.is_set() or not self.settings.alerts.channels:
            return
        try:
            with open_store(self.settings.storage.database) as store:
                Outbox(store, self.settings.alerts).deliver_due(stop=self.stopping)
        except Exception:
            logger.exception("alert delivery failed")

    def _write_status(self, *, running: bool) -> None:
        jobs: dict[str, Any] = {}
        if running:
            for job in self.scheduler.get_jobs():
                jobs[job.id] = job.next_run_time.isoformat() if job.next_run_time else None
        status = {"pid": os.getpid(), "running": running, "heartbeat_at": datetime.now(UTC).isoformat(),
                  "next_runs": jobs}
        try:
            with open_store(self.settings.storage.database) as store:
                store.put_daemon_status(json.dumps(status))
        except StorageError as exc:
            logger.error("cannot record daemon status: %s", exc)


def _wake_on_signals(wakeup: Callable[[], None]) -> Callable[[], None]:
    """Make a signal wake the scheduler's main loop; returns the function that undoes it.

    Python runs signal handlers in the main thread only, between bytecodes. When the kernel delivers
    SIGTERM to another thread (a crawl's, the deliveries'), the main thread sleeps on in the
    scheduler's wait, until the next job is due, maybe an hour later, before the handler runs. The
    C-level handler always writes the signal number to the wakeup fd, whichever thread took it: a
    thread reading it wakes the loop, and the main thread then runs the handler at once.
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)

    def relay() -> None:
        try:
            with contextlib.suppress(OSError):
                while os.read(read_end, 64):
                    wakeup()
        finally:
            os.close(read_end)

    threading.Thread(target=relay, name="signal-wakeup", daemon=True).start()

    def undo() -> None:
        signal.set_wakeup_fd(previous)
        os.close(write_end)  # the relay reads end-of-file and ends

    return undo
