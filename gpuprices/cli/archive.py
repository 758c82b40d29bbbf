"""``gpuprices reparse``: repair stored history from the page archive after a parser fix."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from gpuprices.cli.options import source_choice
from gpuprices.pipeline.enrich import Enricher
from gpuprices.replay import reparse
from gpuprices.storage.sqlite import SqliteStore


@click.command(name="reparse")
@click.option("--since", default=None, help="Only pages fetched on or after this date (YYYY-MM-DD).")
@click.option("--source", type=source_choice("parseable"), default=None,
              help="Only pages of this source.")
@click.pass_obj
def reparse_command(app: Any, since: str | None, source: str | None) -> None:
    """Re-run the current parsers on archived pages and update listings and observations in place
    (idempotent), so a parser fix repairs history without re-crawling."""
    if since is not None:
        try:
            since = date.fromisoformat(since).isoformat()
        except ValueError:
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--since") from None
    settings = app.settings
    enricher = Enricher.from_settings(settings.classify_options)
    with SqliteStore(settings.storage.database) as store:
        report = reparse(store, enricher, since=since, source=source)
    drops = ", ".join(f"{reason} {count}" for reason, count in sorted(report.dropped.items())) or "none"
    click.echo(f"re-parsed {report.pages} archived pages: {report.listings} listings, dropped: {drops}; "
               f"{report.quarantine_changed} quarantine changes")


COMMANDS = [reparse_command]
