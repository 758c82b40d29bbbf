"""Crawl child processes as the operating system sees them: environment, process group, survivors.

Every crawl child runs in its own session (so its whole process group can be signalled without
touching the parent), asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``, set in
:mod:`gpuprices.crawl_child`), and has its pid recorded in ``crawls.pid``. A starting daemon uses
that pid to end a child that survived its parent anyway (another pid namespace, a parent that
was not its creator thread) before it schedules a new crawl of the same site.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

CHILD_MODULE = "gpuprices.crawl_child"

# What a crawl child may inherit: how to find Python and its packages, locale, time zone, CA
# certificates and proxies. Everything else (EBAY_CLIENT_*, GPUPRICES_*, tokens of other tools)
# stays with the parent: the child's secrets arrive on stdin only.
_KEEP = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH", "PYTHONHOME",
    "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "PYTHONWARNINGS", "SSL_CERT_FILE",
    "SSL_CERT_DIR", "COVERAGE_PROCESS_START",
})
_PROXIES = frozenset({"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"})


def child_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The minimal environment of a crawl child (see ``_KEEP``); proxies only without credentials."""
    source = os.environ if environ is None else environ
    env = {key: value for key, value in source.items() if key in _KEEP or key.startswith("LC_")}
    for key in _PROXIES & source.keys():
        if "@" in source[key]:  # user:password@host would put a secret in the child's environment
            logger.warning("%s carries credentials: not passed to crawl processes", key)
        else:
            env[key] = source[key]
    env["PYTHONUNBUFFERED"] = "1"
    return env


def child_arguments(crawl_id: int) -> list[str]:
    """argv of a crawl child: its crawl id and parent pid (no secrets: argv is world-readable)."""
    return [f"--crawl-id={crawl_id}", f"--parent={os.getpid()}"]


def _real_file(stream: IO[Any]) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False
    return True


class ChildOutput:
    """Sends a child's stdout and stderr where this process writes them.

    When ``sys.stdout``/``sys.stderr`` are real files (a terminal, a log, a pipe) the child inherits
    them, as it always did. When they live in memory (a program embedding the CLI, click's test
    runner) the child writes into pipes and threads copy its lines to them, so the child's output
    ends up with the command's own.
    """

    def __init__(self) -> None:
        streams = {"stdout": sys.stdout, "stderr": sys.stderr}
        self._targets = {name: stream for name, stream in streams.items() if not _real_file(stream)}
        self._threads: list[threading.Thread] = []

    @property
    def stdout(self) -> int | None:
        """``Popen(stdout=...)``: a pipe when relayed, else inherited."""
        return subprocess.PIPE if "stdout" in self._targets else None

    @property
    def stderr(self) -> int | None:
        return subprocess.PIPE if "stderr" in self._targets else None

    def start(self, process: subprocess.Popen[bytes]) -> None:
        for name, target in self._targets.items():
            thread = threading.Thread(target=_copy, args=(getattr(process, name), target), daemon=True,
                                      name=f"crawl-child-{name}")
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float = 30.0) -> None:
        """Wait for the copies to reach the end of the child's output (call once it has ended)."""
        for thread in self._threads:
            thread.join(timeout)


def _copy(pipe: IO[bytes], target: IO[str]) -> None:
    with pipe:
        for line in iter(pipe.readline, b""):
            target.write(line.decode("utf-8", errors="replace"))
            target.flush()


def is_crawl_child(pid: int, crawl_id: int) -> bool:
    """True when ``pid`` is a live (not zombie) crawl child of crawl ``crawl_id`` on this machine."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return CHILD_MODULE.encode() in argv and f"--crawl-id={crawl_id}".encode() in argv


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group a crawl child leads; a gone group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def end_crawl_child(pid: int, crawl_id: int, *, timeout: float = 30.0) -> bool:
    """SIGKILL a surviving crawl child and its group; True once it is gone (False if it outlives ``timeout``)."""
    if not is_crawl_child(pid, crawl_id):
        return True
    logger.warning("crawl %d: its process %d survived the daemon; ending it", crawl_id, pid)
    signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while is_crawl_child(pid, crawl_id):
        if time.monotonic() > deadline:
            logger.error("crawl %d: its process %d did not end within %.0f s of SIGKILL", crawl_id, pid, timeout)
            return False
        time.sleep(0.05)
    return True
