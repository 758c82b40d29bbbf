"""One monitoring cycle: crawl → health → index → rules → outbox → delivery.

Used by ``gpuprices run --once`` and by every scheduled job of the daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from gpuprices.alerts.health import Health, check_crawl
from gpuprices.alerts.outbox import Outbox
from gpuprices.alerts.rules import RuleEvaluator
from gpuprices.config import Settings
from gpuprices.crawling import run_crawl
from gpuprices.exceptions import CrawlError
from gpuprices.market import compute_index, load_observations, premium_table
from gpuprices.market.breakeven import breakeven_table
from gpuprices.market.lineage import is_muted, muted_pairs, row_sources
from gpuprices.pipeline.classify import load_catalog
from gpuprices.sources import SourceState, family_of, source_states, watch_lists
from gpuprices.sources import get as get_source
from gpuprices.storage.base import Store
from gpuprices.storage.factory import open_store

logger = logging.getLogger(__name__)


@attrs.define
class CycleReport:
    """What one cycle did."""

    crawls: list[dict[str, Any]] = attrs.Factory(list)
    health: list[Health] = attrs.Factory(list)
    alerts: int = 0
    muted: bool = False
    """Some market alerts were muted: their index rows rest on data of a degraded source."""
    muted_keys: list[str] = attrs.Factory(list)
    """The muted index rows, ``sku|side|condition_group``."""
    delivered: int = 0
    pending: int = 0
    dead: int = 0
    unsent: int = 0
    """Alerts that fired while no channel is configured (nothing to send them to)."""
    errors: list[str] = attrs.Factory(list)


def cycle_sources(settings: Settings) -> list[SourceState]:
    """The state of every source as a cycle sees it (keys, watch lists, robots.txt)."""
    with open_store(settings.storage.database) as store:
        watched = watch_lists(store)
    return source_states(settings, watched)


def needs_of(settings: Settings, name: str) -> str:
    """Why ``name`` cannot run (whether or not it is switched on), empty when it can."""
    entry = get_source(name)
    with open_store(settings.storage.database) as store:
        count = len(store.watches(name)) if entry.watch is not None else 0
    return entry.needs(entry.settings_of(settings), settings, count)


def enabled_sources(settings: Settings) -> list[str]:
    """Sources a cycle crawls: every enabled source that has what it needs (keys, watch lists)."""
    return [state.name for state in cycle_sources(settings) if state.ready]


def skipped_sources(states: Sequence[SourceState]) -> list[str]:
    """One line per enabled source that cannot run, saying why (sources with nothing to crawl stay quiet)."""
    return [f"{state.name}: skipped, {state.needs}" for state in states
            if state.enabled and not state.ready and not state.idle]


def median_changes(index: Any, keys: Sequence[tuple[str, str, str, int]]) -> dict[tuple[str, str, str, int], float]:
    """Percent change of the median from the nearest day at least ``window`` days before the latest."""
    changes: dict[tuple[str, str, str, int], float] = {}
    if index is None or len(index) == 0:
        return changes
    for sku, side, group, window in keys:
        rows = index[(index["sku"] == sku) & (index["side"] == side) & (index["condition_group"] == group)]
        if rows.empty:
            continue
        rows = rows.sort_values("day")
        latest = rows.iloc[-1]
        cutoff = latest["day"] - timedelta(days=window)
        earlier = rows[rows["day"] <= cutoff]
        if earlier.empty or not earlier.iloc[-1]["median_usd"]:
            continue
        changes[(sku, side, group, window)] = (float(latest["median_usd"]) / float(earlier.iloc[-1]["median_usd"])
                                               - 1) * 100
    return changes


def analyse_and_alert(settings: Settings, store: Store, crawls: Sequence[dict[str, Any]],
                      *, now: datetime | None = None, report: CycleReport | None = None,
                      deliver: bool = True) -> CycleReport:
    """Health of ``crawls``, today's index, rule evaluation; alerts go to the outbox, then (unless
    ``deliver`` is false: the daemon delivers on its own thread) delivery."""
    now = now or datetime.now(UTC)
    report = report or CycleReport(crawls=list(crawls))
    rules = settings.health
    # Health judges the scraper; imported files are a person's, so an import is never "degraded".
    report.health = [check_crawl(c, store.recent_crawls(c["source"], rules.history, before_id=c["id"]), rules,
                                 store.unvalued_counts(c["id"]))
                     for c in crawls if c.get("kind") != "import"]
    evaluator = RuleEvaluator(store, settings.alerts.rules, [c.name for c in settings.alerts.channels], now)
    firings = list(evaluator.health_rules(report.health))
    unhealthy = {h.crawl_id for h in report.health if not h.healthy}
    # A degraded source mutes only the market alerts on rows it fed (per family and SKU): no false
    # "price crash" from bot-check pages, and no silence for eBay because a rental feed failed.
    muted = muted_pairs(store, [c for c in crawls if c["id"] in unhealthy], family_of)
    healthy_crawls = [c["id"] for c in crawls if c["id"] not in unhealthy]
    firings.extend(evaluator.new_listing_rules(healthy_crawls))
    catalog = load_catalog(extra=settings.catalog or None)
    today: date = now.date()
    windows = [r for r in settings.alerts.rules if r.kind == "change_pct"]
    # Rules read today's row, the 7-day change (≤ 14 days back) and change windows: no need for the
    # whole history, which would make every cycle slower as the database grows.
    days = max([15] + [r.window_days + 15 for r in windows])
    index = compute_index(store, catalog, days=days, min_samples=settings.market.min_samples, today=today)
    lineage = row_sources(load_observations(store, since=today, until=today))  # which sources fed today's rows
    table = []
    for row in premium_table(index, today=today):
        row["sources"] = list(lineage.get((date.fromisoformat(str(row["day"])[:10]), row["sku"], row["side"],
                                           row["condition_group"]), ()))
        if is_muted(row["sku"], row["sources"], muted, family_of):
            report.muted_keys.append(f"{row['sku']}|{row['side']}|{row['condition_group']}")
        else:
            table.append(row)
    keys = [(r.sku or "", r.side, r.condition_group, r.window_days) for r in windows]
    firings.extend(evaluator.index_rules(table, median_changes(index, keys)))
    if any(r.kind == "breakeven_below" for r in settings.alerts.rules):
        muted_skus = {sku for _, sku in muted}
        firings.extend(evaluator.breakeven_rules(
            row for row in breakeven_table(store, catalog, settings.breakeven, today=today)
            if row["sku"] not in muted_skus))
    report.muted = bool(report.muted_keys)
    if settings.alerts.channels:
        outbox = Outbox(store, settings.alerts)
        for firing in firings:
            if outbox.enqueue(firing.alert, firing.channels) is not None:
                report.alerts += 1
        if deliver:
            delivery = outbox.deliver_due()
            report.delivered, report.pending, report.dead = delivery.delivered, delivery.pending, delivery.dead
    elif firings:
        report.unsent = len(firings)
        logger.info("%d alerts fired but no channel is configured", len(firings))
    return report


def run_cycle(settings: Settings, sources: Sequence[str] | None = None, *, now: datetime | None = None,
              verbose: bool = False) -> CycleReport:
    """Crawl ``sources`` (default: the enabled ones) one after another, then analyse and alert."""
    report = CycleReport()
    for source in sources if sources is not None else enabled_sources(settings):
        try:
            report.crawls.append(run_crawl(settings, source, verbose=verbose))
        except CrawlError as exc:
            report.errors.append(f"{source}: failed, {exc}")
            logger.info("%s: %s", source, exc)
    with open_store(settings.storage.database) as store:
        return analyse_and_alert(settings, store, report.crawls, now=now, report=report)
