"""Child process of one crawl: reads a :class:`~gpuprices.crawling.CrawlPlan` as JSON on stdin.

Runs Scrapy's reactor exactly once, then exits (see :mod:`gpuprices.crawling`).
"""

from __future__ import annotations

import importlib
import json
import sys

from scrapy.crawler import CrawlerProcess


def main() -> int:
    plan = json.loads(sys.stdin.read())
    module_name, _, class_name = plan["spider"].rpartition(".")
    spider_cls = getattr(importlib.import_module(module_name), class_name)
    process = CrawlerProcess(plan["scrapy_settings"])
    process.crawl(spider_cls, **plan["spider_kwargs"])
    process.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
