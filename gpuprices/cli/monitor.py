"""``gpuprices run`` (the daemon, or one cycle) and ``gpuprices status``."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from gpuprices.cli.crawl import alerts_line, summary_lines


@click.command()
@click.option("--once", is_flag=True, help="Run one full cycle (crawl every enabled source, analyse, alert, "
              "deliver) and exit.")
@click.pass_obj
def run(app: Any, once: bool) -> None:
    """Run the monitor: crawl each source on its schedule, update the index, evaluate alert rules and
    deliver alerts. Stops cleanly on SIGTERM/SIGINT; one daemon per database."""
    from gpuprices.cycle import cycle_sources, run_cycle, skipped_sources
    from gpuprices.daemon import Daemon, DatabaseLock

    settings = app.settings
    if not once:
        if Daemon(settings, verbose=app.verbose).run() == signal.SIGINT:
            raise click.exceptions.Exit(130)  # Ctrl-C: the shell's convention for "interrupted"
        return
    states = cycle_sources(settings)
    for line in skipped_sources(states):  # once, here: a source that cannot run is not run
        click.echo(line, err=True)
    with DatabaseLock(settings.storage.database):
        report = run_cycle(settings, [state.name for state in states if state.ready], verbose=app.verbose)
    for line in summary_lines(settings, report.crawls):
        click.echo(line)
    for verdict in report.health:
        click.echo(f"health {verdict.source}: {verdict.summary}")
    for error in report.errors:
        click.echo(error, err=True)
    click.echo(alerts_line(report))
    if report.crawls and all(c["status"] in ("blocked", "failed") for c in report.crawls):
        raise click.exceptions.Exit(1)


def _next_run(settings: Any, source: str, last: dict[str, Any] | None, daemon: dict[str, Any] | None) -> str:
    from gpuprices.daemon import trigger_for
    from gpuprices.sources import schedule_of

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


def _abandoned(crawl: dict[str, Any]) -> bool:
    """A 'running' crawl whose process is gone (killed with its daemon, or a Ctrl-C long ago)."""
    from gpuprices.processes import is_crawl_child

    if crawl.get("pid"):
        return not is_crawl_child(int(crawl["pid"]), int(crawl["id"]))
    # No pid yet: the process is being started (seconds), or the row predates pid recording.
    started = datetime.fromisoformat(str(crawl["started_at"]))
    return datetime.now(UTC) - started > timedelta(minutes=1)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Human-readable text or one JSON document.")
@click.pass_obj
def status(app: Any, fmt: str) -> None:
    """Show the last crawl per source (when, listings, blocked pages, health), the next runs, and
    pending or dead alert deliveries."""
    from gpuprices.alerts.health import check_crawl
    from gpuprices.alerts.outbox import Outbox
    from gpuprices.cycle import enabled_sources
    from gpuprices.storage.factory import open_store

    settings = app.settings
    rules = settings.health
    with open_store(settings.storage.database) as store:
        raw_daemon = store.daemon_status()
        daemon = json.loads(raw_daemon) if raw_daemon else None
        lasts = {row["source"]: row for row in store.last_crawls()}
        sources = sorted(set(lasts) | set(enabled_sources(settings)))
        rows = []
        for source in sources:
            last = lasts.get(source)
            status = last["status"] if last else None
            if last and status == "running" and _abandoned(last):
                status = "abandoned"  # still 'running' in the database, but its process is gone
            health = (check_crawl(last, store.recent_crawls(source, rules.history, before_id=last["id"]), rules,
                                  store.unvalued_counts(last["id"]))
                      .summary if last and status not in ("running", "abandoned")
                      else status or "never crawled")
            rows.append({"source": source, "last_crawl": last["started_at"] if last else None,
                         "status": status, "listings": last["listings"] if last else None,
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
