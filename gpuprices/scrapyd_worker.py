"""What runs on a Scrapyd worker: the project's settings module and the one spider Scrapyd schedules.

The scheduler sends a crawl plan (:class:`gpuprices.crawling.CrawlPlan` without secrets, see
:mod:`gpuprices.scrapyd_jobs`) as the spider argument ``plan``. :class:`PlanSpider` reads the worker's
own configuration (``GPUPRICES_CONFIG`` / ``GPUPRICES_*`` in the Scrapyd service's environment) for
what never travels in a job: the database URL and API credentials. It then applies the plan's Scrapy
settings (Scrapy lets ``from_crawler`` change settings before they freeze) and returns the plan's
spider, built with the plan's arguments — that spider is what the crawl runs.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import scrapy

from gpuprices.config import load_settings
from gpuprices.spiders.components import without_switched_off

SPIDER_MODULES = ["gpuprices.scrapyd_worker"]
"""Scrapy project settings (the egg's ``scrapy.cfg`` names this module)."""
BOT_NAME = "gpuprices"
TELNETCONSOLE_ENABLED = False

WORKER_SECRETS = ("client_id", "client_secret")
"""Spider arguments a worker fills from its own configuration (``sources.ebay-api``)."""


class PlanSpider(scrapy.Spider):
    """``scrapy crawl gpuprices -a plan=JSON``: stands in for the spider the plan names."""

    name = "gpuprices"

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
        plan = json.loads(kwargs.pop("plan", "") or "{}")
        if not plan.get("spider"):
            raise ValueError("the gpuprices spider needs the argument plan (a crawl plan as JSON)")
        local = load_settings()
        options = without_switched_off(plan["scrapy_settings"])
        options["GPUPRICES_DATABASE"] = str(local.storage.database)
        crawler.settings.setdict(options, priority="cmdline")
        spider_kwargs = dict(plan["spider_kwargs"])
        if plan["source"] == "ebay-api":
            api = local.sources.ebay_api
            spider_kwargs["client_id"] = api.client_id.get_secret_value() if api.client_id else ""
            spider_kwargs["client_secret"] = api.client_secret.get_secret_value() if api.client_secret else ""
        module_name, _, class_name = plan["spider"].rpartition(".")
        spider_cls = getattr(importlib.import_module(module_name), class_name)
        return spider_cls.from_crawler(crawler, **spider_kwargs)
