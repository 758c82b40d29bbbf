"""``gpuprices export``: listings, observations and crawls as CSV or JSON lines."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from gpuprices.cli.output import format_option, output_option, write_rows
from storage.exports import EXPORT_TABLES, export_columns, export_rows
from storage.sqlite import SqliteStore


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--since") from None


@click.command()
@click.argument("table", type=click.Choice(EXPORT_TABLES))
@format_option(default="csv", choices=("csv", "json"))
@output_option
@click.option("--since", default=None, help="Only rows seen (or crawls started) on or after this date (YYYY-MM-DD).")
@click.option("--source", default=None, help="Only rows from this source (ebay, ebay-api).")
@click.pass_obj
def export(app: Any, table: str, fmt: str, output: str, since: str | None, source: str | None) -> None:
    """Export a table. CSV opens cleanly in a spreadsheet: formula-like text is neutralized,
    numbers stay numbers."""
    with SqliteStore(app.settings.storage.database) as store:
        columns = export_columns(store, table)
        rows = export_rows(store, table, since=_since(since), source=source)
        if output == "-":
            count = write_rows(rows, fmt, sys.stdout, columns=columns if fmt == "csv" else None)
        else:
            with open(output, "w", encoding="utf-8-sig", newline="") as handle:
                count = write_rows(rows, fmt, handle, columns=columns if fmt == "csv" else None)
    if output != "-":
        click.echo(f"{count} {table} rows written to {output}", err=True)


COMMANDS = [export]
