"""``gpuprices import``: saved pages, API responses and rental feeds into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gpuprices.cli.crawl import alerts_line, summary_lines
from gpuprices.cli.dates import day_option_value
from gpuprices.cli.options import parse_source_choice, site_option
from gpuprices.cli.output import plural
from gpuprices.exceptions import NoDataError


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--source", type=parse_source_choice(), default=None,
              help="What the files are; default: recognized per file (JSON → ebay-api, an eBay item page → "
              "ebay-item, a SkyPilot CSV or tracker JSONL → its rental feed, other HTML → ebay).")
@site_option
@click.option("--date", "captured", default=None, help="Capture date (YYYY-MM-DD) of every file: the "
              "observation date and USD rate date; default: the date a file states, else today.")
@click.pass_obj
def import_(app: Any, paths: tuple[Path, ...], source: str | None, site: str | None, captured: str | None) -> None:
    """Store saved pages, Browse API responses and rental feeds (files or folders) like a crawl.

    The same parsing, classification, quarantine, index and alert rules as a crawl; recorded as a
    crawl of kind "import" with each file's name, sha256, source and capture date. A file imported
    before (same content) adds nothing. Exit code 1 when no file gave anything (all blocked, wrong or
    unreadable); files imported before are not a failure.
    """
    from gpuprices.importing import DUPLICATE, ImportedFile, import_paths

    def show(result: ImportedFile) -> None:
        if result.status == DUPLICATE:
            click.echo(f"{result.path}: skipped, {result.reason}", err=True)
        elif result.status == "wrong_kind":
            click.echo(f"gpuprices: {result.reason}", err=True)
        elif result.status in ("ok", "empty"):
            noun = "offer" if result.source.startswith("rental-") else "listing"
            click.echo(f"{result.path}: {result.source}, {plural(result.listings, noun)} ({result.new} new), "
                       f"captured {result.captured_at:%Y-%m-%d} (from {result.captured_from})")
        else:
            click.echo(f"gpuprices: {result.path}: {result.source}: {result.status}: {result.reason}", err=True)

    report = import_paths(app.settings, paths, source=source, site=site,
                          captured=day_option_value(captured, "--date"), on_file=show)
    if not report.files:
        raise NoDataError(f"no files to import in {', '.join(str(path) for path in paths)}")
    for line in summary_lines(app.settings, report.crawls):
        click.echo(line)
    if report.cycle is not None:
        click.echo(alerts_line(report.cycle))
    useful = [f for f in report.files if f.status in ("ok", "empty", DUPLICATE)]
    if not useful:
        raise click.exceptions.Exit(1)


COMMANDS = [import_]
