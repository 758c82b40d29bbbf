"""``gpuprices export``: listings, observations and crawls as CSV or JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from functools import partial
from typing import IO, Any

import click

from gpuprices.cli.options import source_choice
from gpuprices.cli.output import (
    FORMULA_PREFIXES,
    format_option,
    output_option,
    write_lines,
    write_rows,
    write_table,
)


def _since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--since") from None


@click.command()
@click.argument("table", type=click.Choice(["listings", "observations", "crawls", "index"]))
@format_option(default="csv", choices=("csv", "json"))
@output_option
@click.option("--since", default=None, help="Only rows seen (or crawls started) on or after this date (YYYY-MM-DD).")
@click.option("--source", type=source_choice(), default=None,
              help="Only rows from this source (listings, observations, crawls).")
@click.pass_obj
def export(app: Any, table: str, fmt: str, output: str, since: str | None, source: str | None) -> None:
    """Export listings, observations, crawls, or the daily price index per SKU (``index``).

    Listings carry their deal context: deal_percentile (of the unit price among the same SKU, side and
    condition over 30 days, 0 = cheapest), deal_n (listings it rests on) and deal_lowest_days.

    CSV opens cleanly in a spreadsheet: formula-like text is neutralized, numbers stay numbers.
    ``--source`` does not apply to the index, which combines every source."""
    from gpuprices.storage.exports import export_chunks, export_lines, export_query
    from gpuprices.storage.factory import open_store

    if source is not None and table == "index":
        raise click.BadParameter("the index combines every source; --source applies to listings, observations "
                                 "and crawls", param_hint="--source")
    settings = app.settings
    with open_store(settings.storage.database) as store:
        write: Callable[[IO[str]], int]
        if table == "index":
            from gpuprices.market import INDEX_EXPORT_COLUMNS, index_rows  # pandas: only where needed
            from gpuprices.pipeline.classify import load_catalog

            rows = index_rows(store, load_catalog(extra=settings.catalog or None), since=_since(since),
                              days=settings.market.history_days, min_samples=settings.market.min_samples)
            write = partial(write_rows, rows, fmt, columns=list(INDEX_EXPORT_COLUMNS) if fmt == "csv" else None)
        elif table == "listings":  # each priced listing placed among its market (market.deals)
            from gpuprices.market.deals import DEAL_COLUMNS, deal_book, with_deal_context

            query = export_query(store, table)
            start = _since(since)
            chunks = export_chunks(store, table, since=start.isoformat() if start else None, source=source)
            listings = with_deal_context(_dicts(chunks, query.columns, query.kinds), deal_book(store))
            columns = [*query.columns, *DEAL_COLUMNS]
            write = partial(write_rows, listings, fmt, columns=columns if fmt == "csv" else None)
        else:
            query = export_query(store, table)
            start = _since(since)
            since_text = start.isoformat() if start else None
            if fmt == "csv" and store.builds_lines:  # the database writes the lines: no Python per cell
                lines = export_lines(store, table, since=since_text, source=source, bool_text=("true", "false"))
                write = partial(write_lines, lines, query.columns, query.kinds)
            else:
                chunks = export_chunks(store, table, since=since_text, source=source,
                                       flag_prefixes=FORMULA_PREFIXES if fmt == "csv" else None,
                                       bool_text=("true", "false") if fmt == "csv" else None)
                write = partial(write_table, chunks, query.columns, query.kinds, fmt)
        if output == "-":
            count = write(sys.stdout)
        else:
            # CSV always has a header: its byte-order mark is written once, as "utf-8-sig" would, without
            # that codec's Python encoder on every write.
            csv_out = fmt == "csv"
            with open(output, "w", encoding="utf-8" if csv_out else "utf-8-sig", newline="",
                      buffering=1 << 20) as handle:
                if csv_out:
                    handle.write("\ufeff")
                count = write(handle)
    if output != "-":
        click.echo(f"{count} {table} rows written to {output}", err=True)


def _dicts(chunks: Iterable[tuple[list[tuple[Any, ...]], list[int]]], columns: Sequence[str],
           kinds: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Tuple rows as dicts (the deal context is added per row), booleans as booleans."""
    bools = [name for name, kind in zip(columns, kinds, strict=True) if kind == "bool"]
    for rows, _ in chunks:
        for values in rows:
            row = dict(zip(columns, values, strict=True))
            for name in bools:
                if row[name] is not None:
                    row[name] = bool(row[name])
            yield row


COMMANDS = [export]
