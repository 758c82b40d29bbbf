"""What the pages and the API show, read from the store through the same functions the CLI uses.

Every function takes an open store and the :class:`WebContext`; rows use the CLI's and the CSV
exports' field names, money as decimal strings. No SQL here: the store's public methods and the
market functions do the reading.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import attrs

from gpuprices.alerts.channels import redact_url
from gpuprices.alerts.health import HealthRules, check_crawl
from gpuprices.alerts.outbox import Outbox
from gpuprices.config import Settings
from gpuprices.market.breakeven import breakeven_table
from gpuprices.market.deals import deal_book, with_deal_context
from gpuprices.market.index import compute_index, index_rows, money, utc_today
from gpuprices.market.overview import OVERVIEW_DAYS, overview_rows
from gpuprices.market.premium import premium_table
from gpuprices.market.rental_index import compute_rental_index, provider_rows, rental_index_rows
from gpuprices.pipeline.classify.catalog import Catalog
from gpuprices.sources import describe, source_states, watch_lists
from gpuprices.storage.base import Store
from gpuprices.storage.factory import open_store

RANGES = (30, 90, 365)
"""Day ranges offered on the SKU page."""
EXCLUDED_LIMIT = 500


@attrs.frozen
class WebContext:
    settings: Settings
    catalog: Catalog
    clock: Callable[[], date] = utc_today
    """Today's UTC date (benchmarks on a fixed synthetic market set their own)."""

    def today(self) -> date:
        return self.clock()

    def open_store(self) -> Store:
        return open_store(self.settings.storage.database)

    @property
    def min_samples(self) -> int:
        return self.settings.market.min_samples


# -- the market -------------------------------------------------------------------------------
def premium(store: Store, ctx: WebContext, *, sku: str | None = None, days: int = 30) -> list[dict[str, Any]]:
    """``gpuprices premium --format json``."""
    end = ctx.today()
    index = compute_index(store, ctx.catalog, days=days, sku=sku, min_samples=ctx.min_samples, today=end)
    return premium_table(index, today=end)


def index(store: Store, ctx: WebContext, *, since: date | None = None, sku: str | None = None
          ) -> list[dict[str, Any]]:
    """``gpuprices export index --format json`` (optionally one SKU's rows)."""
    rows = index_rows(store, ctx.catalog, since=since, days=ctx.settings.market.history_days,
                      min_samples=ctx.min_samples, today=ctx.today())
    return [row for row in rows if sku is None or row["sku"] == sku]


def overview(store: Store, ctx: WebContext) -> list[dict[str, Any]]:
    """One row per SKU seen in the last 30 days; the index spans 60 for the 30-day change."""
    end = ctx.today()
    frame = compute_index(store, ctx.catalog, days=2 * OVERVIEW_DAYS, min_samples=ctx.min_samples, today=end)
    return overview_rows(frame, premium_table(frame, today=end), today=end)


def sku_series(store: Store, ctx: WebContext, sku: str, *, days: int, condition_group: str
               ) -> list[dict[str, Any]]:
    """Per day of the range: asking and sold median, p25, p75 and n of one condition group, and the list price."""
    frame = compute_index(store, ctx.catalog, days=days, sku=sku, min_samples=ctx.min_samples, today=ctx.today())
    frame = frame[frame["condition_group"] == condition_group]
    by_day: dict[str, dict[str, Any]] = {}
    for row in frame.itertuples(index=False):
        day = row.day.date().isoformat()
        point = by_day.setdefault(day, {"day": day, "list_price_usd": money(row.list_price_usd)})
        point[row.side] = {"median_usd": money(row.median_usd), "p25_usd": money(row.p25_usd),
                           "p75_usd": money(row.p75_usd), "n": int(row.n), "sellers": int(row.sellers),
                           "indicative": bool(row.indicative)}
    return [by_day[day] for day in sorted(by_day)]


def listings(store: Store, ctx: WebContext, *, sku: str | None = None, side: str | None = None,
             condition_group: str | None = None, since: str | None = None, include_excluded: bool = False,
             limit: int | None = None) -> list[dict[str, Any]]:
    """``listings`` rows with their deal context (``export listings`` columns plus ``deal_*``)."""
    rows = store.find_listings(sku=sku, side=side, condition_group=condition_group, since=since,
                               include_excluded=include_excluded, limit=limit)
    book = deal_book(store, today=ctx.today(), sku=sku)
    return list(with_deal_context(rows, book))


Rows = list[dict[str, Any]]


def current_listings(store: Store, ctx: WebContext, sku: str) -> tuple[Rows, Rows]:
    """Listings of ``sku`` seen on its latest day: those that count, and those excluded (with reasons)."""
    last = store.last_seen_at(sku)
    if last is None:
        return [], []
    rows = listings(store, ctx, sku=sku, since=last[:10], include_excluded=True, limit=EXCLUDED_LIMIT)
    counted = [r for r in rows if not _exclusions(r)]
    return counted, [r for r in rows if _exclusions(r)]


def listing_detail(store: Store, ctx: WebContext, listing_id: int) -> tuple[dict[str, Any], Rows] | None:
    row = store.listing(listing_id)
    if row is None:
        return None
    book = deal_book(store, today=ctx.today(), sku=row["sku"]) if row["sku"] else None
    context = book.listing_context(row) if book is not None else {}
    return {**row, **context}, store.listing_observations(listing_id)


def _exclusions(row: dict[str, Any]) -> list[str]:
    """Each reason why a listing does not count; none when it counts."""
    parts = []
    if row.get("excluded_reason"):
        parts.append(f"excluded: {row['excluded_reason']}")
    if row.get("quarantined"):
        parts.append(f"quarantined: {row.get('quarantine_reason') or 'outlier'}")
    if row.get("working") is False:
        parts.append("not working (for parts or faulty)")
    if row.get("price_usd", "") is None:  # kept in its own currency, without a USD value
        parts.append(f"no USD rate for {row.get('currency') or 'its currency'} (no_usd_rate)")
    return parts


def exclusion_reason(row: dict[str, Any]) -> str:
    """Why a listing does not count, in one line."""
    return "; ".join(_exclusions(row)) or "counted"


# -- rentals ------------------------------------------------------------------------------------
def rentals(store: Store, ctx: WebContext, *, sku: str | None = None, days: int = 7) -> list[dict[str, Any]]:
    """``gpuprices rental --format json``."""
    return rental_index_rows(compute_rental_index(store, days=days, sku=sku, today=ctx.today()))


def rental_providers(store: Store, ctx: WebContext, *, days: int = 7) -> list[dict[str, Any]]:
    return provider_rows(store, days=days, today=ctx.today())


def breakeven(store: Store, ctx: WebContext, *, sku: str | None = None, days: int = 30) -> list[dict[str, Any]]:
    """``gpuprices breakeven --format json``."""
    return breakeven_table(store, ctx.catalog, ctx.settings.breakeven, sku=sku, today=ctx.today(), days=days)


# -- operations ---------------------------------------------------------------------------------
def _watched(store: Store) -> dict[str, list[str]]:
    return watch_lists(store)


def sources(store: Store, ctx: WebContext) -> list[dict[str, Any]]:
    """``gpuprices sources --format json``."""
    lasts = {row["source"]: row for row in store.last_crawls()}
    return [describe(state, lasts.get(state.name)) for state in source_states(ctx.settings, _watched(store))]


def source_health(store: Store, ctx: WebContext) -> list[dict[str, Any]]:
    """Per source: its state, recent crawls and the health verdict on the latest one."""
    rules = HealthRules(**ctx.settings.health.model_dump())
    out = []
    for row in sources(store, ctx):
        crawls = store.recent_crawls(row["source"], limit=max(10, rules.history + 1))
        health = (check_crawl(crawls[0], crawls[1:], rules, store.unvalued_counts(crawls[0]["id"]))
                  if crawls else None)
        out.append({**row, "crawls": crawls[:10], "healthy": health.healthy if health else None,
                    "problems": list(health.problems) if health else []})
    return out


def alerts(store: Store, ctx: WebContext, *, limit: int = 20, status: str | None = None) -> list[dict[str, Any]]:
    """``gpuprices alerts list --format json`` (optionally only deliveries in ``status``)."""
    return Outbox(store, ctx.settings.alerts).recent(limit, status=status)


def delivery_summary(store: Store, ctx: WebContext) -> dict[str, int]:
    return Outbox(store, ctx.settings.alerts).summary()


def rules(store: Store, ctx: WebContext) -> list[dict[str, Any]]:
    """Configured rules with the state of each key they watch (armed, fired, last value)."""
    states: dict[str, list[dict[str, Any]]] = {}
    for row in store.alert_states():
        states.setdefault(row["rule"], []).append(row)
    return [{"name": rule.name, "kind": rule.kind, "sku": rule.sku, "side": rule.side,
             "condition_group": rule.condition_group, "channels": list(rule.channels) or ["(all)"],
             "states": states.get(rule.name, [])} for rule in ctx.settings.alerts.rules]


RULE_STATE_COLUMNS = ("rule", "kind", "sku", "side", "condition_group", "key", "state", "last_value",
                      "last_fired_at", "updated_at")


def rule_states(store: Store, ctx: WebContext) -> list[dict[str, Any]]:
    """:func:`rules` flattened for a table download: one row per rule × watched key (none: armed, never run)."""
    out = []
    for rule in rules(store, ctx):
        head = {c: rule.get(c) for c in ("kind", "sku", "side", "condition_group")}
        for state in rule["states"] or [{"key": None, "state": "armed", "last_value": None, "last_fired_at": None,
                                         "updated_at": None}]:
            out.append({"rule": rule["name"], **head, **{c: state[c] for c in RULE_STATE_COLUMNS[5:]}})
    return out


def crawls(store: Store, ctx: WebContext, *, source: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
    """The latest finished crawls of one source, or of each source, newest first."""
    names = [source] if source else [row["source"] for row in sources(store, ctx)]
    return [row for name in names for row in store.recent_crawls(name, limit=limit)]


def channels(ctx: WebContext) -> list[dict[str, str]]:
    """Channels with their URLs redacted to scheme and host: the rest may be a token."""
    return [{"name": c.name, "kind": c.kind, "url": redact_url(c.url.get_secret_value())}
            for c in ctx.settings.alerts.channels]


def requeue_dead(store: Store, ctx: WebContext) -> int:
    """The one write: dead deliveries become due again (the daemon sends them)."""
    return Outbox(store, ctx.settings.alerts).retry(None)


def freshness(store: Store) -> str | None:
    """When a listing was last seen: how current the index is."""
    return store.last_seen_at()
