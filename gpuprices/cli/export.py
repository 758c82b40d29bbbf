"""``gpuprices export``: listings, observations and crawls as CSV or JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import IO, Any

import click

from gpuprices.cli.output import FORMULA_PREFIXES, format_option, output_option, write_rows, write_table
from gpuprices.market import INDEX_EXPORT_COLUMNS, index_rows
from gpuprices.pipeline.classify import load_catalog
from gpuprices.storage.exports import EXPORT_TABLES, export_chunks, export_query
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
@click.option("--source", default=None, help="Only rows from this source (ebay, ebay-api).")
@click.pass_obj
def export(app: Any, table: str, fmt: str, output: str, since: str | None, source: str | None) -> None:
    """Export listings, observations, crawls, or the daily price index per SKU (``index``).

    CSV opens cleanly in a spreadsheet: formula-like text is neutralized, numbers stay numbers.
    ``--source`` does not apply to the index, which combines every source."""
    settings = app.settings
    with SqliteStore(settings.storage.database) as store:
        write: Callable[[IO[str]], int]
        if table == "index":
            rows = index_rows(store, load_catalog(extra=settings.catalog or None), since=_since(since),
                              days=settings.market.history_days, min_samples=settings.market.min_samples)
            write = partial(write_rows, rows, fmt, columns=list(INDEX_EXPORT_COLUMNS) if fmt == "csv" else None)
        else:
            query = export_query(store, table)
            start = _since(since)
            csv_out = fmt == "csv"
            chunks = export_chunks(store, table, since=start.isoformat() if start else None, source=source,
                                   flag_prefixes=FORMULA_PREFIXES if csv_out else None,
                                   bool_text=("true", "false") if csv_out else None)
            write = partial(write_table, chunks, query.columns, query.kinds, fmt)
        if output == "-":
            count = write(sys.stdout)
        else:
            with open(output, "w", encoding="utf-8-sig", newline="", buffering=1 << 20) as handle:
                count = write(handle)
    if output != "-":
        click.echo(f"{count} {table} rows written to {output}", err=True)


COMMANDS = [export]
