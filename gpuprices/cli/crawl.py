"""``gpuprices crawl``: one crawl now, with a summary."""

from __future__ import annotations

import json
from typing import Any

import click

from gpuprices.cli.options import source_choice
from gpuprices.cli.output import plural
from gpuprices.exceptions import CrawlError


def summary_line(row: dict[str, Any], problems: list[tuple[str, str, int]] | None = None) -> str:
    """One line a person can read: status, pages, listings, drops, and why pages failed."""
    dropped = json.loads(row.get("dropped") or "{}")
    drops = ", ".join(f"{reason} {count}" for reason, count in sorted(dropped.items())) or "none"
    line = (
        f"{row['source']}: {row['status']} — {plural(row['pages'], 'page')}"
        f" ({row['blocked_pages']} blocked, {row['layout_change_pages']} layout change,"
        f" {row['failed_pages']} failed, {row['empty_pages']} empty),"
        f" {plural(row['listings'], 'listing')} ({row['listings_new']} new, {row['listings_updated']} updated),"
        f" dropped: {drops}"
    )
    if problems:
        line += "; " + problem_text(problems)
    if row.get("error"):
        line += f"; error: {row['error']}"
    return line


_PROBLEM_WORDS = {"failed": "failed", "blocked": "blocked", "layout_change": "with a layout change"}


def problem_text(problems: list[tuple[str, str, int]]) -> str:
    """``12 pages failed: cannot resolve host example.com`` per kind of problem, its commonest cause first."""
    parts = []
    for status, word in _PROBLEM_WORDS.items():
        reasons = [(reason, count) for kind, reason, count in problems if kind == status]
        if not reasons:
            continue
        total = sum(count for _, count in reasons)
        text = f"{plural(total, 'page')} {word}: {reasons[0][0] or 'no reason recorded'}"
        if len(reasons) > 1:
            text += f" (and {plural(len(reasons) - 1, 'other cause')})"
        parts.append(text)
    return "; ".join(parts)


def alerts_line(report: Any) -> str:
    """The last line of a cycle (or an import): alerts and deliveries."""
    keys = getattr(report, "muted_keys", [])
    muted = f" (market alerts muted, their rows rest on a degraded source: {', '.join(keys)})" if keys else ""
    if report.unsent:
        return f"alerts: {plural(report.unsent, 'alert')} fired, not sent: no alert channel is configured{muted}"
    return (f"alerts: {report.alerts} new{muted}; deliveries: {report.delivered} delivered, {report.pending} pending,"
            f" {report.dead} dead")


def summary_lines(settings: Any, rows: list[dict[str, Any]]) -> list[str]:
    """:func:`summary_line` of each crawl, with the causes of its page failures from the database."""
    from gpuprices.storage.factory import open_store

    with open_store(settings.storage.database) as store:
        return [summary_line(row, store.page_problems(int(row["id"]))) for row in rows]


@click.command()
@click.option("--source", "sources", type=source_choice(), multiple=True,
              help="Source to crawl (repeatable). Default: every enabled source; ebay-api only with keys.")
@click.option("--query", "queries", multiple=True, help="Search query (repeatable); default: the configured ones.")
@click.option("--replay", is_flag=True, help="Offline: rebuild the crawl from the page archive of each source's "
              "latest crawl with the current parsers, without any network access.")
@click.pass_obj
def crawl(app: Any, sources: tuple[str, ...], queries: tuple[str, ...], replay: bool) -> None:
    """Crawl now and store the listings; ends with a summary per source.

    Exits non-zero when every page of every source was blocked or failed.
    """
    from gpuprices import sources as registry
    from gpuprices.crawling import run_crawl
    from gpuprices.cycle import cycle_sources, needs_of, skipped_sources
    from gpuprices.sources import idle

    settings = app.settings
    if replay:
        _replay(settings, list(sources) or list(registry.parseable()))
        return
    if sources:  # named on the command line: crawled unless it cannot run at all (keys, robots.txt)
        refused = {name: why for name in sources if (why := needs_of(settings, name)) and not idle(why)}
        for name, why in refused.items():
            click.echo(f"{name}: skipped, {why}", err=True)
        chosen = [name for name in sources if name not in refused]
    else:
        states = cycle_sources(settings)
        for line in skipped_sources(states):
            click.echo(line, err=True)
        chosen = [state.name for state in states if state.ready]
        if not chosen:
            raise click.UsageError("no source can run: see `gpuprices sources`")
    useful = False
    for source in chosen:
        try:
            row = run_crawl(settings, source, queries=list(queries) or None, verbose=app.verbose)
        except CrawlError as exc:
            click.echo(f"{source}: failed, {exc}", err=True)
            continue
        click.echo(summary_lines(settings, [row])[0])
        useful = useful or row["status"] not in ("blocked", "failed")
    if not useful:
        raise click.exceptions.Exit(1)


def _replay(settings: Any, sources: list[str]) -> None:
    from gpuprices import sources as registry
    from gpuprices.pipeline.enrich import Enricher
    from gpuprices.replay import replay
    from gpuprices.storage.factory import open_store

    enricher = Enricher.from_settings(settings.classify_options)
    useful = False
    with open_store(settings.storage.database) as store:
        for source in sources:
            if source not in registry.parseable():
                click.echo(f"{source}: cannot be replayed (its feeds are re-fetched, not archived for replay)",
                           err=True)
                continue
            if store.latest_archived_crawl(source) is None:
                click.echo(f"{source}: nothing archived to replay", err=True)
                continue
            row = replay(store, enricher, source)
            line = summary_line(row, store.page_problems(int(row["id"])))
            click.echo(f"{line} (replayed offline from crawl {row['replayed_from']})")
            useful = useful or row["status"] not in ("blocked", "failed")
    if not useful:
        raise click.exceptions.Exit(1)


COMMANDS = [crawl]
