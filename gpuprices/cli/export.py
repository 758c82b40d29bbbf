"""``gpuprices export``: listings, observations and crawls as CSV or JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import click

from gpuprices.cli.options import source_choice
from gpuprices.cli.output import format_option, output_option, write_rows
from gpuprices.market import INDEX_EXPORT_COLUMNS, index_rows
from gpuprices.pipeline.classify import load_catalog
from gpuprices.storage.exports import EXPORT_TABLES, export_columns, export_rows
from gpuprices.storage.sqlite import SqliteStore


def _since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--since") from None


@click.command()
@click.argument("table", type=click.Choice([*EXPORT_TABLES, "index"]))
@format_option(default="csv", choices=("csv", "json"))
@output_option
@click.option("--since", default=None, help="Only rows seen (or crawls started) on or after this date (YYYY-MM-DD).")
@click.option("--source", type=source_choice(), default=None,
              help="Only rows from this source (listings, observations, crawls).")
@click.pass_obj
def export(app: Any, table: str, fmt: str, output: str, since: str | None, source: str | None) -> None:
    """Export listings, observations, crawls, or the daily price index per SKU (``index``).

    CSV opens cleanly in a spreadsheet: formula-like text is neutralized, numbers stay numbers.
    ``--source`` does not apply to the index, which combines every source."""
    if source is not None and table == "index":
        raise click.BadParameter("the index combines every source; --source applies to listings, observations "
                                 "and crawls", param_hint="--source")
    settings = app.settings
    with SqliteStore(settings.storage.database) as store:
        rows: Iterator[dict[str, Any]]
        if table == "index":
            columns = list(INDEX_EXPORT_COLUMNS)
            rows = index_rows(store, load_catalog(extra=settings.catalog or None), since=_since(since),
                              days=settings.market.history_days, min_samples=settings.market.min_samples)
        else:
            columns = export_columns(store, table)
            start = _since(since)
            rows = export_rows(store, table, since=start.isoformat() if start else None, source=source)
        if output == "-":
            count = write_rows(rows, fmt, sys.stdout, columns=columns if fmt == "csv" else None)
        else:
            with open(output, "w", encoding="utf-8-sig", newline="") as handle:
                count = write_rows(rows, fmt, handle, columns=columns if fmt == "csv" else None)
    if output != "-":
        click.echo(f"{count} {table} rows written to {output}", err=True)


COMMANDS = [export]
