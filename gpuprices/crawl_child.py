"""Child process of one crawl: reads a :class:`~gpuprices.crawling.CrawlPlan` as JSON on stdin.

Runs Scrapy's reactor exactly once, then exits (see :mod:`gpuprices.crawling`). It dies with its
parent: the kernel sends it SIGKILL when the process that started it ends, so a daemon that is
killed never leaves a crawl behind that would later write into a crawl already closed.

Linux sends the parent-death signal when the *thread* that started the child ends: start crawls from
a long-lived thread (the CLI's main thread, the daemon's scheduler worker), never from a short-lived one.

argv: ``--crawl-id=N --parent=PID`` (informative, and how a restarted daemon recognizes a survivor).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None) -> None:
    """Ask Linux for SIGKILL when the parent ends; exit at once if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the daemon's start-up check still ends survivors
        pass
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died before the request took effect


def _parent(argv: list[str]) -> int | None:
    for arg in argv:
        if arg.startswith("--parent="):
            return int(arg.partition("=")[2])
    return None


def main(argv: list[str] | None = None) -> int:
    die_with_parent(_parent(sys.argv[1:] if argv is None else argv))
    from scrapy.crawler import CrawlerProcess  # after the parent-death request: importing takes a while

    from gpuprices.spiders.components import without_switched_off

    plan = json.loads(sys.stdin.read())
    module_name, _, class_name = plan["spider"].rpartition(".")
    spider_cls = getattr(importlib.import_module(module_name), class_name)
    process = CrawlerProcess(without_switched_off(plan["scrapy_settings"]))
    process.crawl(spider_cls, **plan["spider_kwargs"])
    process.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
