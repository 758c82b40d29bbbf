"""``gpuprices crawl``: one crawl now, with a summary."""

from __future__ import annotations

import json
from typing import Any

import click

from gpuprices import sources as registry
from gpuprices.cli.options import source_choice
from gpuprices.exceptions import CrawlError


def summary_line(row: dict[str, Any]) -> str:
    """One line a person can read: status, pages, listings, drops, blocks."""
    dropped = json.loads(row.get("dropped") or "{}")
    drops = ", ".join(f"{reason} {count}" for reason, count in sorted(dropped.items())) or "none"
    line = (
        f"{row['source']}: {row['status']} — {row['pages']} pages"
        f" ({row['blocked_pages']} blocked, {row['layout_change_pages']} layout change,"
        f" {row['failed_pages']} failed, {row['empty_pages']} empty),"
        f" {row['listings']} listings ({row['listings_new']} new, {row['listings_updated']} updated),"
        f" dropped: {drops}"
    )
    if row.get("error"):
        line += f"; error: {row['error']}"
    return line


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
    from gpuprices.crawling import run_crawl
    from gpuprices.cycle import enabled_sources

    settings = app.settings
    if replay:
        _replay(settings, list(sources) or list(registry.parseable()))
        return
    chosen = list(sources)
    if not chosen:
        chosen = enabled_sources(settings)
        if "ebay-api" not in chosen:
            click.echo("ebay-api: skipped (set EBAY_CLIENT_ID and EBAY_CLIENT_SECRET to use eBay's API)", err=True)
    if not chosen:
        raise click.UsageError("no source enabled: enable [sources.ebay] or set eBay API keys")
    useful = False
    for source in chosen:
        try:
            row = run_crawl(settings, source, queries=list(queries) or None, verbose=app.verbose)
        except CrawlError as exc:
            click.echo(f"{source}: failed — {exc}", err=True)
            continue
        click.echo(summary_line(row))
        useful = useful or row["status"] not in ("blocked", "failed")
    if not useful:
        raise click.exceptions.Exit(1)


def _replay(settings: Any, sources: list[str]) -> None:
    from gpuprices.pipeline.enrich import Enricher
    from gpuprices.replay import replay
    from gpuprices.storage.archive import latest_archived_crawl
    from gpuprices.storage.sqlite import SqliteStore

    enricher = Enricher.from_settings(settings.classify_options)
    useful = False
    with SqliteStore(settings.storage.database) as store:
        for source in sources:
            if source not in registry.parseable():
                click.echo(f"{source}: cannot be replayed (its feeds are re-fetched, not archived for replay)",
                           err=True)
                continue
            if latest_archived_crawl(store, source) is None:
                click.echo(f"{source}: nothing archived to replay", err=True)
                continue
            row = replay(store, enricher, source)
            click.echo(summary_line(row) + f" (replayed offline from crawl {row['replayed_from']})")
            useful = useful or row["status"] not in ("blocked", "failed")
    if not useful:
        raise click.exceptions.Exit(1)


COMMANDS = [crawl]
