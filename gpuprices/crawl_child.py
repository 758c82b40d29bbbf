"""Child process of one crawl: reads a :class:`~gpuprices.crawling.CrawlPlan` as JSON on stdin.

Runs Scrapy's reactor exactly once, then exits (see :mod:`gpuprices.crawling`).
"""

from __future__ import annotations

import importlib
import json
import sys

# sqlite-utils imports pandas and numpy whenever they are installed (for optional value conversions);
# a crawl never needs them, and they are a large share of the child's start-up. Blocked before
# anything is imported, so `import pandas` fails fast here and sqlite-utils goes without.
for _unneeded in ("pandas", "numpy"):
    sys.modules.setdefault(_unneeded, None)  # type: ignore[arg-type]

from scrapy.crawler import CrawlerProcess  # noqa: E402


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
