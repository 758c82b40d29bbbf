"""Crawls as Scrapyd jobs: the scheduler's side of ``[workers] kind = "scrapyd"``.

Each crawl is scheduled on the least busy worker as a job of the ``gpuprices`` spider (see
:mod:`gpuprices.scrapyd_worker`) whose one argument is the crawl plan without secrets: no API
credential and no database URL ever reach a job's arguments or Scrapyd's logs — workers read both from
their own configuration. The job is polled until it finishes; one that disappears (the worker
restarted), a worker unreachable for ``unreachable_seconds`` and a job running past the crawl timeout
all end the wait with an error line, and :func:`gpuprices.crawling.run_crawl` records a crawl the job
never closed as failed. ``gpuprices deploy`` builds the project egg with scrapyd-client and uploads it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx

from gpuprices.config import WorkersSettings
from gpuprices.crawling import CrawlPlan
from gpuprices.exceptions import CrawlError
from gpuprices.scrapyd_worker import WORKER_SECRETS

_SPIDER = "gpuprices"
_WORKER_SETTINGS = ("GPUPRICES_DATABASE",)
"""Scrapy settings a worker sets from its own configuration (they may hold a password)."""
_TIMEOUT = httpx.Timeout(10.0)
_SCHEDULE_TIMEOUT = httpx.Timeout(10.0, read=120.0)  # Scrapyd lists the project's spiders in a subprocess first
_LOCK = threading.Lock()
_TURN = [0]  # round robin among equally busy workers


def job_plan(plan: CrawlPlan) -> dict[str, Any]:
    """The plan as a job argument: everything but what workers take from their own configuration."""
    payload = attrs.asdict(plan)
    payload["spider_kwargs"] = {k: v for k, v in plan.spider_kwargs.items() if k not in WORKER_SECRETS}
    payload["scrapy_settings"] = {k: v for k, v in plan.scrapy_settings.items() if k not in _WORKER_SETTINGS}
    return payload


class ScrapydWorkers:
    """The configured Scrapyd servers; ``run(plan, timeout)`` is a crawl runner for ``run_crawl``."""

    def __init__(self, settings: WorkersSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep

    def _get(self, url: str, endpoint: str, **params: str) -> dict[str, Any]:
        response = httpx.get(f"{url}/{endpoint}", params=params, timeout=_TIMEOUT)
        return self._json(response)

    def _post(self, url: str, endpoint: str, data: dict[str, str]) -> dict[str, Any]:
        return self._json(httpx.post(f"{url}/{endpoint}", data=data, timeout=_SCHEDULE_TIMEOUT))

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if body.get("status") != "ok":
            raise CrawlError(f"scrapyd refused: {str(body.get('message', body))[:200]}")
        return body

    def pick(self) -> str:
        """The reachable worker with the fewest pending + running jobs (ties taken in turn)."""
        loads = []
        for position, url in enumerate(self.settings.urls):
            try:
                status = self._get(url, "daemonstatus.json")
            except (httpx.HTTPError, ValueError, CrawlError):
                continue
            loads.append((int(status.get("pending", 0)) + int(status.get("running", 0)), position, url))
        if not loads:
            raise CrawlError(f"no Scrapyd worker reachable ({', '.join(self.settings.urls)})")
        with _LOCK:
            turn = _TURN[0]
            _TURN[0] += 1
        least = min(load for load, _, _ in loads)
        tied = [url for load, _, url in loads if load == least]
        return tied[turn % len(tied)]

    def run(self, plan: CrawlPlan, timeout: float) -> str | None:
        """Schedule ``plan`` and wait for its job; returns an error line, or None when the job finished."""
        try:
            url = self.pick()
        except CrawlError as exc:
            return str(exc)
        job = f"crawl-{plan.scrapy_settings.get('GPUPRICES_CRAWL_ID')}-{uuid.uuid4().hex[:8]}"
        try:
            self._post(url, "schedule.json", {"project": self.settings.project, "spider": _SPIDER, "jobid": job,
                                              "plan": json.dumps(job_plan(plan))})
        except (httpx.HTTPError, ValueError) as exc:
            return f"cannot schedule on worker {url}: {type(exc).__name__}"
        except CrawlError as exc:
            return f"worker {url}: {exc}"
        return self._wait(url, job, timeout)

    def _wait(self, url: str, job: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        silent_since: float | None = None
        while True:
            self._sleep(self.settings.poll_seconds)
            try:
                state = self._state(url, job)
                silent_since = None
            except (httpx.HTTPError, ValueError, CrawlError) as exc:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since >= self.settings.unreachable_seconds:
                    return f"worker {url} unreachable for {self.settings.unreachable_seconds:.0f} s " \
                           f"({type(exc).__name__}); job {job} lost"
                continue
            if state == "finished":
                return None
            if state is None:
                return f"job {job} disappeared from worker {url}"
            if time.monotonic() > deadline:
                self._cancel(url, job)
                return f"crawl timed out after {timeout:.0f} s and job {job} was cancelled"

    def _state(self, url: str, job: str) -> str | None:
        jobs = self._get(url, "listjobs.json", project=self.settings.project)
        for state in ("pending", "running", "finished"):
            if any(entry.get("id") == job for entry in jobs.get(state, [])):
                return state
        return None

    def _cancel(self, url: str, job: str) -> None:
        with contextlib.suppress(httpx.HTTPError, ValueError, CrawlError):  # a worker gone: nothing to stop
            self._post(url, "cancel.json", {"project": self.settings.project, "job": job})


_SETUP = """from setuptools import find_packages, setup

setup(name="gpuprices-project", version="1.0", packages=find_packages(include=["gpuprices", "gpuprices.*"]),
      package_data={"gpuprices.pipeline": ["classify/*.toml"]},
      entry_points={"scrapy": ["settings = gpuprices.scrapyd_worker"]})
"""


def build_egg(folder: Path) -> Path:
    """The project egg (this installed gpuprices, symlinks resolved), built by ``scrapyd-deploy --build-egg``."""
    import gpuprices

    project = folder / "project"
    shutil.copytree(Path(gpuprices.__file__).resolve().parent, project / "gpuprices", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (project / "setup.py").write_text(_SETUP, encoding="utf-8")
    (project / "scrapy.cfg").write_text("[settings]\ndefault = gpuprices.scrapyd_worker\n", encoding="utf-8")
    egg = folder / "gpuprices.egg"
    deploy = shutil.which("scrapyd-deploy") or str(Path(sys.executable).with_name("scrapyd-deploy"))
    done = subprocess.run([deploy, "--build-egg", str(egg)], cwd=project, capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0 or not egg.exists():
        last = (done.stderr or done.stdout).strip().splitlines()
        raise CrawlError(f"cannot build the project egg: {last[-1] if last else 'scrapyd-deploy failed'}")
    return egg


def deploy(settings: WorkersSettings, version: str | None = None) -> list[str]:
    """Build the egg once and upload it to every worker (``addversion.json``); returns one line per worker."""
    if not settings.urls:
        raise CrawlError("no workers configured: set workers.urls")
    version = version or str(int(time.time()))
    lines = []
    with tempfile.TemporaryDirectory(prefix="gpuprices-egg-") as folder:
        egg = build_egg(Path(folder)).read_bytes()
        for url in settings.urls:
            try:
                body = ScrapydWorkers._json(httpx.post(
                    f"{url}/addversion.json", data={"project": settings.project, "version": version},
                    files={"egg": ("gpuprices.egg", egg)}, timeout=httpx.Timeout(120.0)))
            except (httpx.HTTPError, ValueError, CrawlError) as exc:
                raise CrawlError(f"cannot deploy to {url}: {str(exc).splitlines()[0][:200]}") from None
            lines.append(f"{url}: {settings.project} version {version}, spiders: {body.get('spiders')}")
    return lines
