"""``/metrics`` in Prometheus text format: crawl state per source, alert deliveries, index freshness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from gpuprices.web import views
from gpuprices.web.views import WebContext


def _timestamp(text: str | None) -> float | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def render_metrics(store: Any, ctx: WebContext) -> bytes:
    """A fresh registry per scrape: every value is read from the database now (the daemon writes it)."""
    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, text: str, labels: tuple[str, ...] = ("source",)) -> Gauge:
        return Gauge(name, text, list(labels), registry=registry)

    finished = gauge("gpuprices_source_last_crawl_timestamp_seconds", "When the source's latest crawl finished")
    status = gauge("gpuprices_source_last_crawl_status", "1 for the status of the source's latest crawl",
                   ("source", "status"))
    listings = gauge("gpuprices_source_last_crawl_listings", "Listings (or rental offers) in the latest crawl")
    blocked = gauge("gpuprices_source_last_crawl_blocked_pages", "Pages answered with a bot check in the latest crawl")
    failed = gauge("gpuprices_source_last_crawl_failed_pages", "Pages that failed in the latest crawl")
    healthy = gauge("gpuprices_source_healthy", "1 when the latest crawl passed the health checks, 0 when degraded")
    for row in views.source_health(store, ctx):
        if not row["crawls"]:
            continue
        crawl, source = row["crawls"][0], row["source"]
        when = _timestamp(crawl.get("finished_at") or crawl.get("started_at"))
        if when is not None:
            finished.labels(source).set(when)
        status.labels(source, str(crawl["status"])).set(1)
        listings.labels(source).set(int(crawl.get("listings") or 0))
        blocked.labels(source).set(int(crawl.get("blocked_pages") or 0))
        failed.labels(source).set(int(crawl.get("failed_pages") or 0))
        healthy.labels(source).set(1 if row["healthy"] else 0)
    deliveries = gauge("gpuprices_alert_deliveries", "Alert deliveries by state", ("status",))
    for state, count in views.delivery_summary(store, ctx).items():
        deliveries.labels(state).set(count)
    last = _timestamp(views.freshness(store))
    if last is not None:
        Gauge("gpuprices_index_last_observation_timestamp_seconds", "When a listing was last seen (index freshness)",
              registry=registry).set(last)
        Gauge("gpuprices_index_age_seconds", "Seconds since a listing was last seen",
              registry=registry).set(max(0.0, datetime.now(UTC).timestamp() - last))
    return generate_latest(registry)
