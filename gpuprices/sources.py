"""The source registry: the one place that describes every source.

A source is a spider (how pages are fetched), an offline parser (how a captured page is read; used
by ``parse``, ``import``, ``reparse`` and ``crawl --replay``), a settings model (its
``[sources.<name>]`` table), a listing family (whose item ids its listings carry), and a few small
functions: what the spider is given, what the source still needs before it can run, how it
describes itself, which watch-list URLs are its own. Every list of sources, the crawl planner, the
daemon's schedules and the CLI's choices read this registry; adding a marketplace is its spider,
its parser, its settings and one :func:`register` call (README, "Adding a marketplace").

Spiders and parsers are named by import path and loaded only when used, so listing sources never
imports Scrapy.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from gpuprices.config import (
    EbayApiSettings,
    EbayItemSettings,
    EbaySearchSettings,
    ProductPageSettings,
    RentalSettings,
    ScheduleSettings,
    Settings,
    SourceSettings,
    SourcesSettings,
    register_source_settings,
)
from gpuprices.exceptions import ConfigError, CrawlError

if TYPE_CHECKING:
    from gpuprices.storage.base import Store

LISTINGS_PIPELINE = "gpuprices.pipeline.storing.StoragePipeline"
RENTALS_PIPELINE = "gpuprices.pipeline.rental_storing.RentalStoragePipeline"


@attrs.frozen
class PlanRequest:
    """What a planner may use to build a crawl's spider arguments."""

    settings: Settings
    section: Any
    """The source's own settings (an instance of its ``settings_model``)."""
    queries: list[str] | None = None
    """Queries given on the command line, else the configured ones apply."""
    watched: list[str] = attrs.Factory(list)
    """Watch-list entries stored in the database for this source."""
    calls_used_today: int = 0
    """API calls already spent today (sources with a daily budget)."""


Planner = Callable[[PlanRequest], tuple[dict[str, Any], list[str]]]
"""Spider keyword arguments and what the crawl covers (queries, items or URLs), or :class:`CrawlError`
when there is nothing to crawl."""
NeedsCheck = Callable[[Any, Settings, int], str]
"""``(section, settings, watched count)`` → one line saying why the source cannot run ("needs …",
"robots.txt of … disallows …", or :data:`NOTHING_TO_CRAWL` …); empty when ready."""
NOTHING_TO_CRAWL = "nothing to crawl"
"""How a needs line starts when the source is fine but has nothing configured (an empty watch list):
cycles skip it quietly instead of saying so every run."""
Describer = Callable[[Any, Settings, int], str]
"""``(section, settings, watched count)`` → one line saying what the source crawls."""


@attrs.frozen
class SavedFile:
    """What a saved file of a source is, so a file that plainly is not gets one line instead of a parse."""

    what: str
    """For that line: ``a saved eBay item page (HTML)``."""
    reads: tuple[str, ...]
    """The file kinds (:func:`gpuprices.parsing.file_kind`: ``html``, ``json``, ``item-page``,
    ``rental-<feed>``, ``other``) its parser is given, the kind of its own files first; any other kind
    is refused before parsing."""

    @property
    def kind(self) -> str:
        return self.reads[0]


@attrs.frozen
class Source:
    """One registered source."""

    name: str
    """The registry name: ``--source`` value, ``crawls.source``, the Scrapy spider's ``name``."""
    family: str
    """Listing identity: sources of one marketplace share a family (``ebay``), so one listing seen by
    the API and by a page is one row."""
    spider: str
    """Import path of the Scrapy spider class, ``package.module.Class``."""
    settings_model: type[SourceSettings]
    """The pydantic model of ``[sources.<name>]``."""
    plan: Planner
    needs: NeedsCheck
    describe: Describer
    parser: str | None = None
    """Import path of the offline parser (:class:`~gpuprices.core.items.CapturedPage` →
    :data:`~gpuprices.core.items.ParsedPage`); ``None`` when pages are not re-parsed (rental feeds are
    re-fetched: they are small and public)."""
    detect: Callable[[bytes], bool] | None = None
    """Recognizes a saved file of this source (``parse``/``import`` without ``--source``)."""
    watch: Callable[[str], str | None] | None = None
    """The watch-list entry of a URL this source crawls (``gpuprices watch add``), else ``None``."""
    item_pipeline: str = LISTINGS_PIPELINE
    """Import path of the Scrapy item pipeline that stores what the spider yields."""
    saved: SavedFile | None = None
    """What a saved file of this source is (``parse``/``import --source``); ``None``: every file is
    given to the parser."""
    feeds: dict[str, SavedFile] = attrs.field(factory=dict, hash=False)
    """Saved files of the source's feeds, by their ``--source`` name (``rental-vast``)."""

    def settings_of(self, settings: Settings) -> Any:
        return settings.sources.section(self.name)

    def schedule(self, settings: Settings) -> ScheduleSettings:
        return self.settings_of(settings).schedule

    def load_parser(self) -> Callable[..., Any]:
        if self.parser is None:
            raise CrawlError(f"{self.name} pages cannot be parsed offline")
        return load(self.parser)


_REGISTRY: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add (or replace) a source; its ``[sources.<name>]`` table is validated by its settings model."""
    _REGISTRY[source.name] = source
    if source.name.replace("-", "_") not in SourcesSettings.model_fields:
        register_source_settings(source.name, source.settings_model)
    return source


def unregister(name: str) -> None:
    """Remove a source (tests that register their own)."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """Every source, in the order cycles crawl them."""
    return tuple(_REGISTRY)


def get(name: str) -> Source:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown source {name!r}; choose one of {', '.join(_REGISTRY)}") from None


def parseable() -> tuple[str, ...]:
    """Sources whose captured pages can be parsed offline."""
    return tuple(name for name, source in _REGISTRY.items() if source.parser is not None)


def watchable() -> tuple[str, ...]:
    """Sources with a watch list stored in the database."""
    return tuple(name for name, source in _REGISTRY.items() if source.watch is not None)


def watch_lists(store: Store) -> dict[str, list[str]]:
    """The watch lists stored in the database, per source that has one."""
    return {name: store.watches(name) for name in watchable()}


def family_of(name: str) -> str:
    source = _REGISTRY.get(name)
    return source.family if source is not None else name


def load(path: str) -> Any:
    """The object an import path names (``package.module.attribute``)."""
    module, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def saved_files() -> dict[str, SavedFile]:
    """What a saved file of each source and feed is, by ``--source`` name."""
    found: dict[str, SavedFile] = {}
    for name, source in _REGISTRY.items():
        if source.saved is not None:
            found[name] = source.saved
        found.update(source.feeds)
    return found


def guess_source(data: bytes, default: str = "ebay") -> str:
    """The source a saved file belongs to, by the first registered source that recognizes it."""
    for name, source in _REGISTRY.items():
        if source.detect is not None and source.detect(data):
            return name
    return default


# -- states ------------------------------------------------------------------------------------


@attrs.frozen
class SourceState:
    name: str
    enabled: bool
    """Switched on in the config."""
    ready: bool
    """Enabled and has everything it needs to run."""
    needs: str
    """Why it cannot run, empty when ready."""
    description: str

    @property
    def idle(self) -> bool:
        return idle(self.needs)


def idle(needs: str) -> bool:
    """Not runnable only because there is nothing to crawl (an empty watch list)."""
    return needs.startswith(NOTHING_TO_CRAWL)


def source_states(settings: Settings, watched: dict[str, list[str]] | None = None) -> list[SourceState]:
    """The state of every source; ``watched`` holds the watch lists stored in the database."""
    watched = watched or {}
    states = []
    for name, source in _REGISTRY.items():
        section = source.settings_of(settings)
        count = len(watched.get(name, []))
        needs = source.needs(section, settings, count) if section.enabled else ""  # off: nothing to check
        states.append(SourceState(name, section.enabled, section.enabled and not needs, needs,
                                  source.describe(section, settings, count)))
    return states


def runnable_sources(settings: Settings, watched: dict[str, list[str]] | None = None) -> list[str]:
    return [state.name for state in source_states(settings, watched) if state.ready]


def schedule_of(settings: Settings, source: str) -> ScheduleSettings:
    return get(source).schedule(settings)


def watch_target(url: str) -> tuple[str, str]:
    """``(source, target)`` for ``gpuprices watch add``: the first source that claims the URL."""
    text = url.strip()
    for name, source in _REGISTRY.items():
        target = source.watch(text) if source.watch is not None else None
        if target is not None:
            return name, target
    raise ValueError(f"not a URL or eBay item id: {text!r}")


def describe(state: SourceState, last: dict[str, Any] | None) -> dict[str, Any]:
    return {"source": state.name, "enabled": state.enabled, "ready": state.ready, "needs": state.needs or None,
            "what": state.description, "last_crawl": last["started_at"] if last else None,
            "last_status": last["status"] if last else None, "last_listings": last["listings"] if last else None}


# -- the built-in sources ----------------------------------------------------------------------


def _unique(*lists: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(item for items in lists for item in items))


def _plan_search(request: PlanRequest) -> tuple[dict[str, Any], list[str]]:
    ebay: EbaySearchSettings = request.section
    chosen = list(request.queries or ebay.queries)
    return {"base_url": ebay.base_url, "queries": chosen, "max_pages": ebay.max_pages,
            "include_sold": ebay.include_sold, "items_per_page": ebay.items_per_page}, chosen


def _plan_api(request: PlanRequest) -> tuple[dict[str, Any], list[str]]:
    api: EbayApiSettings = request.section
    if not api.has_credentials:
        raise CrawlError("ebay-api needs EBAY_CLIENT_ID and EBAY_CLIENT_SECRET (see README: eBay API keys)")
    chosen = list(request.queries or request.settings.api_queries)
    # Secrets are revealed only here, for the crawl child's stdin.
    return {
        "base_url": api.base_url, "marketplace": api.marketplace, "queries": chosen,
        "client_id": api.client_id.get_secret_value() if api.client_id else "",
        "client_secret": api.client_secret.get_secret_value() if api.client_secret else "",
        "page_size": api.page_size, "max_items": api.max_items, "category_ids": api.category_ids,
        "calls_remaining": max(0, api.daily_call_budget - request.calls_used_today),
    }, chosen


def _plan_items(request: PlanRequest) -> tuple[dict[str, Any], list[str]]:
    item: EbayItemSettings = request.section
    chosen = _unique(item.items, request.watched)
    if not chosen:
        raise CrawlError("ebay-item has no watched items: add some with `gpuprices watch add URL`")
    return {"base_url": item.base_url, "items": chosen}, chosen


def _plan_products(request: PlanRequest) -> tuple[dict[str, Any], list[str]]:
    pages: ProductPageSettings = request.section
    chosen = _unique(pages.urls, request.watched)
    if not chosen:
        raise CrawlError("product-page has no watched URLs: add some with `gpuprices watch add URL`")
    return {"urls": chosen, "selectors": {host: sel.model_dump() for host, sel in pages.selectors.items()}}, chosen


def _plan_rental(request: PlanRequest) -> tuple[dict[str, Any], list[str]]:
    rental: RentalSettings = request.section
    feeds = [feed.model_dump() for feed in rental.feeds]
    if not feeds:
        raise CrawlError("rental has no feeds configured")
    return {"feeds": feeds}, [feed["url"] for feed in feeds]


def _search_needs(ebay: EbaySearchSettings, settings: Settings) -> str:
    """Not runnable when the site's robots.txt disallows its search pages (eBay's does: use the API)."""
    if not settings.crawl.obey_robots:
        return ""
    from gpuprices.robots import disallowed

    refused = disallowed(settings.storage.database, f"{ebay.base_url.rstrip('/')}/sch/i.html?_nkw=gpu",
                         settings.crawl.user_agent)
    return f"{refused}: use ebay-api" if refused else ""


_ITEM_ID = re.compile(r"\d{9,15}")
_ITEM_URL = re.compile(r"https?://(?:www\.)?ebay\.[a-z.]+/itm/(?:[^/?#]+/)?(\d{9,15})")


def _watch_item(text: str) -> str | None:
    if _ITEM_ID.fullmatch(text):
        return text
    match = _ITEM_URL.match(text)
    return match.group(1) if match else None


def _watch_product(text: str) -> str | None:
    return text if text.startswith(("http://", "https://")) else None


def _detect_json(data: bytes) -> bool:
    from gpuprices.spiders.parsers.pages import looks_like_json

    return looks_like_json(data)


def _detect_item_page(data: bytes) -> bool:
    from gpuprices.spiders.parsers.pages import looks_like_item_page

    return looks_like_item_page(data)


_PAGES = "gpuprices.spiders.parsers.pages"

register(Source(
    name="ebay-api", family="ebay", spider="gpuprices.spiders.ebay_api.EbayApiSpider",
    settings_model=EbayApiSettings, plan=_plan_api, parser=f"{_PAGES}.ebay_api", detect=_detect_json,
    saved=SavedFile("an eBay Browse API response (JSON)", reads=("json",)),
    needs=lambda api, _s, _n: "" if api.has_credentials else "needs EBAY_CLIENT_ID and EBAY_CLIENT_SECRET",
    describe=lambda api, s, _n: f"eBay Browse API, {api.marketplace}, {len(s.api_queries)} queries",
))
register(Source(
    name="ebay", family="ebay", spider="gpuprices.spiders.ebay_search.EbaySearchSpider",
    settings_model=EbaySearchSettings, plan=_plan_search, parser=f"{_PAGES}.ebay_search",
    saved=SavedFile("a saved eBay search or sold results page (HTML)", reads=("html",)),
    needs=lambda ebay, s, _n: _search_needs(ebay, s),
    describe=lambda ebay, _s, _n: f"search pages on {ebay.base_url} (robots.txt obeyed), "
    f"{len(ebay.queries)} queries",
))
register(Source(
    name="ebay-item", family="ebay", spider="gpuprices.spiders.ebay_item.EbayItemSpider",
    settings_model=EbayItemSettings, plan=_plan_items, parser=f"{_PAGES}.ebay_item", detect=_detect_item_page,
    watch=_watch_item, saved=SavedFile("a saved eBay item page (HTML)", reads=("item-page", "html")),
    needs=lambda item, _s, n: "" if len(item.items) + n else f"{NOTHING_TO_CRAWL}: no watched items "
    "(gpuprices watch add URL)",
    describe=lambda item, _s, n: f"{len(item.items) + n} watched eBay item pages",
))
register(Source(
    name="product-page", family="product", spider="gpuprices.spiders.product_page.ProductPageSpider",
    settings_model=ProductPageSettings, plan=_plan_products, parser=f"{_PAGES}.product_page", watch=_watch_product,
    saved=SavedFile("a saved retailer product page (HTML)", reads=("html", "item-page")),
    needs=lambda pages, _s, n: "" if len(pages.urls) + n else f"{NOTHING_TO_CRAWL}: no watched product URLs "
    "(gpuprices watch add URL)",
    describe=lambda pages, _s, n: f"{len(pages.urls) + n} watched retailer product pages",
))
register(Source(
    name="rental", family="rental", spider="gpuprices.spiders.rental.RentalSpider",
    settings_model=RentalSettings, plan=_plan_rental, item_pipeline=RENTALS_PIPELINE,
    # HTML goes to the feed parser: it tells a bot check from a layout change.
    feeds={"rental-skypilot": SavedFile("a SkyPilot catalog CSV (InstanceType,AcceleratorName,…)",
                                        reads=("rental-skypilot", "html", "other")),
           "rental-vast": SavedFile("a vast.ai offer search answer (JSON with \"offers\")",
                                    reads=("rental-vast", "json", "html", "other")),
           "rental-tracker": SavedFile("a gpu-price-tracker summary (JSON lines with price_stats)",
                                       reads=("rental-tracker", "json", "html", "other"))},
    needs=lambda rental, _s, _n: "" if rental.feeds else f"{NOTHING_TO_CRAWL}: no rental feeds",
    describe=lambda rental, _s, _n: f"{len(rental.feeds)} public cloud price feeds",
))


def _load_plugins() -> None:
    """Sources other packages declare (entry points ``gpuprices.sources`` naming a :class:`Source`)."""
    from importlib.metadata import entry_points

    for point in entry_points(group="gpuprices.sources"):
        try:
            source = point.load()
        except Exception as exc:  # a broken plugin must not take the built-in sources down with it
            raise ConfigError(f"source plugin {point.name!r} ({point.value}) failed to load: "
                              f"{exc.__class__.__name__}: {exc}") from None
        if not isinstance(source, Source):
            raise ConfigError(f"source plugin {point.name!r} ({point.value}) is not a gpuprices.sources.Source")
        register(source)


_load_plugins()
