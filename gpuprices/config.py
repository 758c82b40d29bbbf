"""Configuration: built-in defaults, a TOML file, then environment variables.

The file is named by ``--config PATH`` or ``GPUPRICES_CONFIG``; without one the defaults work.
Nested keys can also come from the environment as ``GPUPRICES_STORAGE__DATABASE=...``; the
eBay API secrets come from ``EBAY_CLIENT_ID`` / ``EBAY_CLIENT_SECRET``. Every problem is raised
as one :class:`~gpuprices.exceptions.ConfigError` line that names the key.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from gpuprices import CONFIG_ENV
from gpuprices.alerts.health import HealthRules
from gpuprices.alerts.settings import AlertsSettings
from gpuprices.exceptions import ConfigError
from gpuprices.market.settings import BreakevenSettings, MarketSettings
from gpuprices.pipeline.fx_settings import FxSettings
from gpuprices.pipeline.quarantine import QuarantineRules

DEFAULT_QUERIES = [
    "nvidia h100",
    "nvidia h200",
    "nvidia a100",
    "nvidia a800",
    "nvidia h800",
    "nvidia l40s",
    "amd mi300x",
]

_SECRET_SECTIONS = ("sources.ebay-api", "sources.ebay_api", "alerts.channels", "catalog")
# "database": a PostgreSQL URL may carry a password.
_SECRET_KEYS = ("secret", "client_id", "token", "password", "api_key", "url", "database")


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


def _http_base(value: str) -> str:
    return _http_url(value).rstrip("/")


HttpBase = Annotated[str, AfterValidator(_http_base)]
"""A site or API root URL (``http(s)://host[:port]``), kept without a trailing slash."""


HttpUrlText = Annotated[str, AfterValidator(_http_url)]
"""A page or feed URL, kept exactly as written."""


class _Section(BaseModel):
    """A config table: unknown keys are errors, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _database(value: object) -> object:
    # A PostgreSQL URL stays text (a Path would fold its "//"); other text is a SQLite file; anything
    # else (a number …) is left for validation to refuse.
    if isinstance(value, str):
        return value if value.startswith(("postgresql://", "postgres://")) else Path(value)
    return value


class StorageSettings(_Section):
    database: Annotated[Path | str, BeforeValidator(_database)] = Path("gpuprices.db")
    """SQLite file (created with its tables on first use), or a ``postgresql://user@host:5432/db`` URL."""
    archive: bool = True
    """Keep every fetched page (compressed) for `gpuprices reparse` and `crawl --replay`."""
    archive_retention_days: int = Field(30, ge=1)


class CrawlSettings(_Section):
    """Politeness and transport settings shared by every spider."""

    user_agent: str = "gpuprices/0.1 (+https://github.com/gpuprices/gpuprices; price monitor)"
    obey_robots: bool = True
    download_delay: float = Field(2.0, ge=0)
    concurrent_requests_per_domain: int = Field(1, ge=1, le=2)
    autothrottle: bool = True
    autothrottle_target_concurrency: float = Field(1.0, gt=0, le=2)
    retry_times: int = Field(3, ge=0, le=10)
    max_retry_after: int = Field(120, ge=0)
    """Longest ``Retry-After`` (seconds) honoured on 429/503; a longer one ends the retries."""
    timeout: int = Field(30, ge=1)
    """Per-request download timeout in seconds."""
    crawl_timeout: int = Field(3600, ge=10)
    """A crawl child process running longer than this is stopped and recorded as failed."""
    http_cache: bool = False
    """Scrapy's HTTP cache (handy when developing parsers)."""


class ScheduleSettings(_Section):
    """When the daemon crawls a source: every ``interval_minutes`` or on a ``cron`` expression."""

    interval_minutes: int = Field(180, ge=1)
    cron: str | None = None
    """Five-field crontab expression (UTC), e.g. ``"0 */3 * * *"``; overrides the interval."""

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value, timezone="UTC")
            except ValueError as exc:
                raise ValueError(f"not a valid crontab expression: {exc}") from None
        return value
    jitter_seconds: int = Field(600, ge=0)


def _daily() -> ScheduleSettings:
    return ScheduleSettings(interval_minutes=1440, jitter_seconds=1800)


class SourceSettings(_Section):
    """What every source's table has: a switch and the daemon's schedule. A new source's settings
    subclass this (see README, "Adding a marketplace")."""

    enabled: bool = True
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)


class DailySourceSettings(SourceSettings):
    """A source crawled once a day by default (product pages, rental feeds)."""

    schedule: ScheduleSettings = Field(default_factory=_daily)


class EbaySearchSettings(SourceSettings):
    """Search-result pages (``ebay`` source)."""

    base_url: HttpBase = "https://www.ebay.com"
    queries: list[str] = Field(default_factory=lambda: list(DEFAULT_QUERIES))
    max_pages: int = Field(2, ge=1, le=50)
    include_sold: bool = True
    """Also fetch the sold/completed view (``LH_Sold=1&LH_Complete=1``)."""
    items_per_page: int = Field(60, ge=1, le=240)


class EbayApiSettings(SourceSettings):
    """eBay Browse API (``ebay-api`` source); runs when credentials are set."""

    base_url: HttpBase = "https://api.ebay.com"
    marketplace: str = "EBAY_US"
    queries: list[str] | None = None
    """Defaults to the search-page queries."""
    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    page_size: int = Field(200, ge=1, le=200)
    max_items: int = Field(1000, ge=1, le=10000)
    """Items per query (the API's own cap for offset paging is 10,000)."""
    daily_call_budget: int = Field(5000, ge=1)
    category_ids: str | None = "27386"
    """Restrict to a category (27386 = Graphics/Video Cards); empty for all."""

    @property
    def has_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)


class DaemonSettings(_Section):
    """The scheduler (``gpuprices run``)."""

    misfire_grace_seconds: int = Field(3600, ge=1)
    delivery_interval_seconds: int = Field(60, ge=1)
    """How often pending alert deliveries are retried."""
    stop_grace_seconds: float = Field(20.0, ge=0, le=60)
    """On SIGTERM/SIGINT (and Ctrl-C), how long the running crawl may take to close before it is killed
    and marked ``aborted``; at most 60 so the daemon always exits inside systemd's 90 s stop timeout."""


class WebSettings(_Section):
    """The dashboard (``gpuprices serve``): read-only unless a token is set."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    token: SecretStr | None = None
    """Needed (with the page's CSRF token) to re-queue dead deliveries; without it the dashboard is read-only."""


class WorkersSettings(_Section):
    """Where the daemon's crawls run: ``local`` child processes, or jobs on Scrapyd workers."""

    kind: Literal["local", "scrapyd"] = "local"
    urls: list[HttpBase] = Field(default_factory=list)
    """Scrapyd servers, e.g. ``["http://worker1:6800"]``; each crawl goes to the least busy one."""
    project: str = "gpuprices"
    """The Scrapyd project ``gpuprices deploy`` uploads."""
    poll_seconds: float = Field(5.0, gt=0)
    """How often the scheduler asks a worker about its job."""
    unreachable_seconds: float = Field(120.0, gt=0)
    """A worker that cannot be reached this long fails its crawl."""

    @model_validator(mode="after")
    def _scrapyd_needs_urls(self) -> WorkersSettings:
        if self.kind == "scrapyd" and not self.urls:
            raise ValueError('workers.kind = "scrapyd" needs workers.urls')
        return self


class EbayItemSettings(SourceSettings):
    """Watched eBay item pages (``ebay-item`` source); bare ``/itm/<id>`` pages are allowed by robots.txt."""

    base_url: HttpBase = "https://www.ebay.com"
    items: list[str] = Field(default_factory=list)
    """Item ids or ``/itm/`` URLs (``gpuprices watch add`` adds more, stored in the database)."""


class DomainSelectors(_Section):
    """CSS fallback for a retailer whose pages carry no JSON-LD or microdata offer."""

    price: str
    currency: str | None = None
    """A selector for the currency, or an ISO code literal like ``"USD"``."""
    title: str | None = None
    availability: str | None = None
    gtin: str | None = None
    mpn: str | None = None


class ProductPageSettings(DailySourceSettings):
    """Retailer product pages (``product-page`` source): JSON-LD/microdata offers, CSS fallback."""

    urls: list[HttpUrlText] = Field(default_factory=list)
    selectors: dict[str, DomainSelectors] = Field(default_factory=dict)
    """Per-domain CSS fallback, keyed by host (``www.example-shop.com``)."""


class RentalFeed(_Section):
    """One public, key-less rental price feed."""

    kind: Literal["skypilot", "vast", "tracker"]
    url: HttpUrlText
    cloud: str | None = None
    """Provider name for a SkyPilot catalog (``aws``, ``lambda`` …); read from the URL when omitted."""


DEFAULT_RENTAL_FEEDS = [
    {"kind": "skypilot", "url": f"https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v7/{cloud}/vms.csv",
     "cloud": cloud}
    for cloud in ("aws", "gcp", "azure", "lambda", "runpod", "fluidstack", "paperspace", "vast")
] + [
    {"kind": "tracker", "url": "https://raw.githubusercontent.com/tugot17/gpu-price-tracker/main/data/summary/"
     f"{name}.jsonl"} for name in ("H100_80GB_SXM5", "H200_141GB_SXM", "A100_80GB_SXM4")
] + [
    {"kind": "vast", "url": "https://console.vast.ai/api/v0/bundles/?q=%7B%22rentable%22%3A%7B%22eq%22%3Atrue%7D%7D"}
]


class RentalSettings(DailySourceSettings):
    """Cloud rental prices per GPU-hour (``rental`` source); key-less public feeds, on by default."""

    feeds: list[RentalFeed] = Field(default_factory=lambda: [RentalFeed(**f) for f in DEFAULT_RENTAL_FEEDS])


def _merged(base: Any, over: Any) -> Any:
    """``over`` laid over ``base``, tables merged key by key."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in over.items()}}
    return over


_EXTRA_SOURCE_MODELS: dict[str, type[SourceSettings]] = {}
"""Settings models of sources registered beyond the built-in ones (``[sources.<name>]`` tables)."""


def register_source_settings(key: str, model: type[SourceSettings]) -> None:
    """Accept ``[sources.<key>]`` tables validated by ``model`` (called by the source registry)."""
    _EXTRA_SOURCE_MODELS[key] = model


class SourcesSettings(_Section):
    ebay: EbaySearchSettings = Field(default_factory=EbaySearchSettings)
    ebay_api: EbayApiSettings = Field(default_factory=EbayApiSettings, alias="ebay-api")
    ebay_item: EbayItemSettings = Field(default_factory=EbayItemSettings, alias="ebay-item")
    product_page: ProductPageSettings = Field(default_factory=ProductPageSettings, alias="product-page")
    rental: RentalSettings = Field(default_factory=RentalSettings)
    _registered: dict[str, SourceSettings] = PrivateAttr(default_factory=dict)
    """Tables of sources registered beyond the built-in ones."""

    @model_validator(mode="wrap")
    @classmethod
    def _registered_sections(cls, data: Any, handler: ModelWrapValidatorHandler[SourcesSettings]) -> SourcesSettings:
        if not isinstance(data, dict):
            return handler(data)
        data = dict(data)
        for name, field in cls.model_fields.items():
            # The file names a table by its alias ([sources.ebay-api]), the environment by the field name
            # (GPUPRICES_SOURCES__EBAY_API__…): one table, the environment's keys winning.
            if field.alias and field.alias in data and name in data:
                data[field.alias] = _merged(data[field.alias], data.pop(name))
        declared = {field.alias or name for name, field in cls.model_fields.items()} | set(cls.model_fields)
        tables = {key: value for key, value in data.items() if key in _EXTRA_SOURCE_MODELS and key not in declared}
        sources = handler({key: value for key, value in data.items() if key not in tables})  # others: unknown key
        errors: list[Any] = []
        for key, value in tables.items():
            model = _EXTRA_SOURCE_MODELS[key]
            try:
                sources._registered[key] = value if isinstance(value, model) else model.model_validate(value)
            except ValidationError as exc:
                errors.extend({"type": error["type"], "loc": (key, *error["loc"]), "input": error["input"],
                               "ctx": error.get("ctx", {})} for error in exc.errors())
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return sources

    def section(self, key: str) -> SourceSettings:
        """The settings of the source configured under ``[sources.<key>]`` (its defaults when absent)."""
        field = key.replace("-", "_")
        if field in type(self).model_fields:
            value = getattr(self, field)
            assert isinstance(value, SourceSettings)
            return value
        if key not in self._registered:
            self._registered[key] = _EXTRA_SOURCE_MODELS[key]()
        return self._registered[key]


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="GPUPRICES_", env_nested_delimiter="__", extra="forbid", populate_by_name=True
    )
    toml_path: ClassVar[Path | None] = None

    storage: StorageSettings = Field(default_factory=StorageSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    quarantine: QuarantineRules = Field(default_factory=QuarantineRules)
    market: MarketSettings = Field(default_factory=MarketSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    health: HealthRules = Field(default_factory=HealthRules)
    workers: WorkersSettings = Field(default_factory=WorkersSettings)
    breakeven: BreakevenSettings = Field(default_factory=BreakevenSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    catalog: dict[str, Any] = Field(default_factory=dict)
    """User additions to the SKU catalog (see README)."""
    fx: FxSettings = Field(default_factory=FxSettings)
    """Exchange rates for currencies the bundled ECB rates do not quote (``[fx.rates]``)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (passed as init values); the file beats the defaults.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _secrets_from_env(self) -> Settings:
        api = self.sources.ebay_api
        if api.client_id is None and os.environ.get("EBAY_CLIENT_ID"):
            api.client_id = SecretStr(os.environ["EBAY_CLIENT_ID"])
        if api.client_secret is None and os.environ.get("EBAY_CLIENT_SECRET"):
            api.client_secret = SecretStr(os.environ["EBAY_CLIENT_SECRET"])
        return self

    @property
    def api_queries(self) -> list[str]:
        return self.sources.ebay_api.queries or self.sources.ebay.queries

    @property
    def classify_options(self) -> dict[str, Any]:
        """What :meth:`pipeline.enrich.Enricher.from_settings` takes: catalog additions, quarantine rules
        and configured exchange rates.

        Plain data, so the crawl runner can hand it to a crawl process as JSON."""
        return {"catalog": self.catalog, "quarantine": self.quarantine.model_dump(),
                "fx": self.fx.model_dump(mode="json")}


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    value = error.get("input")
    shown = ""
    # Values are echoed only where they cannot be a credential: never under the API source or the
    # alert channels (URLs carry tokens), never for whole tables or lists.
    sensitive = key.startswith(_SECRET_SECTIONS) or key in ("sources", "alerts") or \
        any(word in key for word in _SECRET_KEYS)
    if not sensitive and isinstance(value, str | int | float | bool):
        text = repr(value)
        shown = f" (got {text[:40]})"
    return f"{key}: {message}{shown}"


def _bad_env_json(message: str) -> str:
    """The environment variable behind a pydantic-settings parse error (its name, never its value)."""
    match = re.search(r'field "(\w+)"', message)
    prefix = f"GPUPRICES_{match.group(1).upper()}" if match else "GPUPRICES_"
    for name, value in sorted(os.environ.items()):
        if name.upper().startswith(prefix):
            try:
                json.loads(value)
            except ValueError:
                return name
    return prefix + "…"


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the configuration from ``path`` (or ``$GPUPRICES_CONFIG``) over the defaults."""
    if path is None:
        path = os.environ.get(CONFIG_ENV) or None
    data: dict[str, Any] = {}
    where = "environment"
    if path is not None:
        file = Path(path)
        where = str(file)
        try:
            with file.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {file}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file unreadable: {file}: {exc.__class__.__name__}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
    try:
        settings = Settings(**data)
    except SettingsError as exc:  # an environment variable holding a list or table that is not JSON
        raise ConfigError(f"config error in environment: {_bad_env_json(str(exc))} is not valid JSON (lists and "
                          f'tables need JSON, e.g. GPUPRICES_SOURCES__EBAY__QUERIES=\'["nvidia h100"]\')') from None
    except ValidationError as exc:
        errors = exc.errors()
        first = _describe(dict(errors[0]))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"config error in {where}: {first}{more}") from None
    _check_rule_skus(settings, where)
    return settings


def _check_rule_skus(settings: Settings, where: str) -> None:
    """An alert rule naming a SKU the catalog does not know would never fire: a config error."""
    named = [(number, rule.sku) for number, rule in enumerate(settings.alerts.rules) if rule.sku]
    if not named:
        return
    from gpuprices.pipeline.classify.catalog import load_catalog

    catalog = load_catalog(extra=settings.catalog or None)
    for number, sku in named:
        if sku not in catalog:
            raise ConfigError(f"config error in {where}: alerts.rules.{number}.sku: {catalog.unknown(sku)}")
