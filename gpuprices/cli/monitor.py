"""``gpuprices run`` (the daemon, or one cycle) and ``gpuprices status``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from gpuprices.alerts.health import check_crawl
from gpuprices.alerts.outbox import Outbox
from gpuprices.cli.crawl import summary_line
from gpuprices.cycle import enabled_sources, run_cycle
from gpuprices.daemon import Daemon, DatabaseLock, trigger_for
from gpuprices.sources import schedule_of
from gpuprices.storage.sqlite import SqliteStore


@click.command()
@click.option("--once", is_flag=True, help="Run one full cycle (crawl every enabled source, analyse, alert, "
              "deliver) and exit.")
@click.pass_obj
def run(app: Any, once: bool) -> None:
    """Run the monitor: crawl each source on its schedule, update the index, evaluate alert rules and
    deliver alerts. Stops cleanly on SIGTERM/SIGINT; one daemon per database."""
    settings = app.settings
    if not once:
        Daemon(settings, verbose=app.verbose).run()
        return
    if not enabled_sources(settings):
        click.echo("ebay-api: skipped (set EBAY_CLIENT_ID and EBAY_CLIENT_SECRET to use eBay's API)", err=True)
    with DatabaseLock(settings.storage.database):
        report = run_cycle(settings, verbose=app.verbose)
    for crawl in report.crawls:
        click.echo(summary_line(crawl))
    for verdict in report.health:
        click.echo(f"health {verdict.source}: {verdict.summary}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    muted = " (market alerts muted: a source is degraded)" if report.muted else ""
    click.echo(f"alerts: {report.alerts} new{muted}; deliveries: {report.delivered} delivered, "
               f"{report.pending} pending, {report.dead} dead")
    if report.crawls and all(c["status"] in ("blocked", "failed") for c in report.crawls):
        raise click.exceptions.Exit(1)


def _next_run(settings: Any, source: str, last: dict[str, Any] | None, daemon: dict[str, Any] | None) -> str:
    if daemon and daemon.get("running") and daemon.get("next_runs", {}).get(source):
        return str(daemon["next_runs"][source])
    schedule = schedule_of(settings, source)
    now = datetime.now(UTC)
    if schedule.cron:
        fire = trigger_for(schedule).get_next_fire_time(None, now)
        return f"{fire.isoformat(timespec='minutes')} (when the daemon runs)" if fire else "never"
    if last and last.get("started_at"):
        due = datetime.fromisoformat(last["started_at"]) + timedelta(minutes=schedule.interval_minutes)
        return f"{max(due, now).isoformat(timespec='minutes')} (when the daemon runs)"
    return "at daemon start"


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Human-readable text or one JSON document.")
@click.pass_obj
def status(app: Any, fmt: str) -> None:
    """Show the last crawl per source (when, listings, blocked pages, health), the next runs, and
    pending or dead alert deliveries."""
    settings = app.settings
    rules = settings.health
    with SqliteStore(settings.storage.database) as store:
        raw_daemon = store.daemon_status()
        daemon = json.loads(raw_daemon) if raw_daemon else None
        lasts = {row["source"]: row for row in store.last_crawls()}
        sources = sorted(set(lasts) | set(enabled_sources(settings)))
        rows = []
        for source in sources:
            last = lasts.get(source)
            health = (check_crawl(last, store.recent_crawls(source, rules.history, before_id=last["id"]), rules)
                      .summary if last and last["status"] != "running" else "running" if last else "never crawled")
            rows.append({"source": source, "last_crawl": last["started_at"] if last else None,
                         "status": last["status"] if last else None, "listings": last["listings"] if last else None,
                         "blocked_pages": last["blocked_pages"] if last else None, "health": health,
                         "next_run": _next_run(settings, source, last, daemon)})
        outbox = Outbox(store, settings.alerts)
        deliveries = outbox.summary()
        dead = [r for r in outbox.recent(limit=50) if r.get("status") == "dead"]
    if fmt == "json":
        click.echo(json.dumps({"daemon": daemon, "sources": rows, "deliveries": deliveries, "dead": dead},
                              default=str))
        return
    if daemon and daemon.get("running"):
        click.echo(f"daemon: running (pid {daemon['pid']}, last heartbeat {daemon['heartbeat_at']})")
    else:
        click.echo("daemon: not running")
    for row in rows:
        click.echo(f"{row['source']}: last crawl {row['last_crawl'] or '-'} {row['status'] or ''}, "
                   f"{row['listings'] if row['listings'] is not None else '-'} listings, "
                   f"{row['blocked_pages'] or 0} blocked pages; health: {row['health']}; next run {row['next_run']}")
    click.echo("deliveries: " + (", ".join(f"{count} {state}" for state, count in sorted(deliveries.items()))
                                 or "none"))
    for item in dead:
        click.echo(f"dead delivery #{item.get('delivery_id', item.get('id'))} to {item.get('channel')}: "
                   f"{item.get('title')} — {item.get('last_error')}")


COMMANDS = [run, status]
