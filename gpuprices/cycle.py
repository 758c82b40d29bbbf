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
from gpuprices.market import compute_index, premium_table
from gpuprices.market.breakeven import breakeven_table
from gpuprices.pipeline.classify import load_catalog
from gpuprices.sources import runnable_sources, watchable
from gpuprices.storage.sqlite import SqliteStore

logger = logging.getLogger(__name__)


@attrs.define
class CycleReport:
    """What one cycle did."""

    crawls: list[dict[str, Any]] = attrs.Factory(list)
    health: list[Health] = attrs.Factory(list)
    alerts: int = 0
    muted: bool = False
    delivered: int = 0
    pending: int = 0
    dead: int = 0
    errors: list[str] = attrs.Factory(list)


def enabled_sources(settings: Settings) -> list[str]:
    """Sources a cycle crawls: every enabled source that has what it needs (keys, watch lists)."""
    with SqliteStore(settings.storage.database) as store:
        watched = {source: store.watches(source) for source in watchable()}
    return runnable_sources(settings, watched)


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


def analyse_and_alert(settings: Settings, store: SqliteStore, crawls: Sequence[dict[str, Any]],
                      *, now: datetime | None = None, report: CycleReport | None = None) -> CycleReport:
    """Health of ``crawls``, today's index, rule evaluation; alerts go to the outbox, then delivery."""
    now = now or datetime.now(UTC)
    report = report or CycleReport(crawls=list(crawls))
    rules = settings.health
    report.health = [check_crawl(c, store.recent_crawls(c["source"], rules.history, before_id=c["id"]), rules)
                     for c in crawls]
    evaluator = RuleEvaluator(store, settings.alerts.rules, [c.name for c in settings.alerts.channels], now)
    firings = list(evaluator.health_rules(report.health))
    degraded = {h.source for h in report.health if not h.healthy}
    # A degraded source mutes market alerts for this run: no false "price crash" from bot-check pages.
    report.muted = bool(degraded)
    healthy_crawls = [c["id"] for c in crawls if c["source"] not in degraded]
    firings.extend(evaluator.new_listing_rules(healthy_crawls))
    if not report.muted:
        catalog = load_catalog(extra=settings.catalog or None)
        today: date = now.date()
        windows = [r for r in settings.alerts.rules if r.kind == "change_pct"]
        # Rules read today's row, the 7-day change (≤ 14 days back) and change windows: no need for the
        # whole history, which would make every cycle slower as the database grows.
        days = max([15] + [r.window_days + 15 for r in windows])
        index = compute_index(store, catalog, days=days, min_samples=settings.market.min_samples, today=today)
        table = premium_table(index, today=today)
        keys = [(r.sku or "", r.side, r.condition_group, r.window_days) for r in windows]
        firings.extend(evaluator.index_rules(table, median_changes(index, keys)))
        if any(r.kind == "breakeven_below" for r in settings.alerts.rules):
            firings.extend(evaluator.breakeven_rules(breakeven_table(store, catalog, settings.breakeven,
                                                                     today=today)))
    if settings.alerts.channels:
        outbox = Outbox(store, settings.alerts)
        for firing in firings:
            if outbox.enqueue(firing.alert, firing.channels) is not None:
                report.alerts += 1
        delivery = outbox.deliver_due()
        report.delivered, report.pending, report.dead = delivery.delivered, delivery.pending, delivery.dead
    elif firings:
        logger.warning("%d alerts fired but no channel is configured", len(firings))
    return report


def run_cycle(settings: Settings, sources: Sequence[str] | None = None, *, now: datetime | None = None,
              verbose: bool = False) -> CycleReport:
    """Crawl ``sources`` (default: the enabled ones) one after another, then analyse and alert."""
    report = CycleReport()
    for source in sources if sources is not None else enabled_sources(settings):
        try:
            report.crawls.append(run_crawl(settings, source, verbose=verbose))
        except CrawlError as exc:
            report.errors.append(f"{source}: {exc}")
            logger.error("%s: %s", source, exc)
    with SqliteStore(settings.storage.database) as store:
        return analyse_and_alert(settings, store, report.crawls, now=now, report=report)
