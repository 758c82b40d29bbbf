"""``gpuprices parse``: the crawl's parsing and normalization on saved files, offline."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from gpuprices.cli.dates import day_option_value
from gpuprices.cli.options import parse_source_choice, site_option
from gpuprices.cli.output import format_option, write_rows
from gpuprices.exceptions import BlockedPageError, ParseError


def _observed(value: str | None) -> datetime | None:
    return day_option_value(value, "--date")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", type=parse_source_choice(), default=None,
              help="What the files are; default: JSON → ebay-api, an eBay item page → ebay-item, other HTML → "
              "ebay. Retailer pages need product-page; rental feeds need rental-skypilot|vast|tracker.")
@site_option
@click.option("--date", "observed", default=None, help="Observation date (YYYY-MM-DD) used for the USD rate; "
              "default: today.")
@format_option()
@click.pass_obj
def parse(app: Any, files: tuple[Path, ...], source: str | None, site: str | None, observed: str | None,
          fmt: str) -> None:
    """Parse saved pages, API responses or rental feeds; one row per listing (or rental offer), no database.

    A blocked page prints one line on stderr and the exit code is 3.
    """
    from gpuprices.core.items import PageStatus
    from gpuprices.core.listing import ROW_COLUMNS, listing_row
    from gpuprices.parsing import FileParser
    from gpuprices.pipeline.enrich import Enricher
    from gpuprices.spiders.parsers.rental import RENTAL_PARSE_SOURCES

    if source in RENTAL_PARSE_SOURCES:
        _parse_rentals(files, source, _observed(observed), fmt)
        return
    # Without a config file the built-in catalog and rules apply (no environment to read either).
    parser = FileParser(Enricher.from_settings(app.settings.classify_options if app.config_path else None))
    when = _observed(observed)
    problems = {"blocked": False, "failed": False}

    def rows() -> Iterator[dict[str, Any]]:
        for path in files:
            try:
                result = parser.parse(path, source=source, site=site, observed_at=when)
            except BlockedPageError as exc:
                click.echo(f"gpuprices: {exc}", err=True)
                problems["blocked"] = True
                continue
            drops = ", ".join(f"{reason} {count}" for reason, count in sorted(result.dropped.items()))
            if result.status in (PageStatus.LAYOUT_CHANGE, PageStatus.FAILED):
                click.echo(f"gpuprices: {path}: {result.status.value}: {result.reason}"
                           + (f"; dropped {drops}" if drops else ""), err=True)
                problems["failed"] = True
            elif drops:
                click.echo(f"gpuprices: {path}: dropped {drops}", err=True)
            unvalued = Counter(item.currency for item in result.listings if item.price_usd is None)
            if unvalued:
                kept = ", ".join(f"{code} {count}" for code, count in sorted(unvalued.items()))
                click.echo(f"gpuprices: {path}: kept without a USD rate (no_usd_rate): {kept};"
                           " price_usd is empty until [fx.rates] names a rate", err=True)
            for item in result.listings:
                yield listing_row(item)

    write_rows(rows(), fmt, sys.stdout, columns=ROW_COLUMNS if fmt == "csv" else None)
    blocked, failed = problems["blocked"], problems["failed"]
    if blocked:
        raise click.exceptions.Exit(3)
    if failed:
        raise click.exceptions.Exit(1)


def _parse_rentals(files: tuple[Path, ...], source: str, when: datetime | None, fmt: str) -> None:
    """Rental feeds: one row per offer (USD per GPU-hour and how it was derived)."""
    from gpuprices.spiders.parsers.rental import RENTAL_ROW_COLUMNS, parse_rental_file, rental_row

    blocked = failed = False
    offers = []
    for path in files:
        try:
            offers.extend(parse_rental_file(path, source, observed_at=when))
        except BlockedPageError as exc:
            click.echo(f"gpuprices: {exc}", err=True)
            blocked = True
        except ParseError as exc:  # its message names the file
            click.echo(f"gpuprices: {exc}", err=True)
            failed = True
    write_rows((rental_row(offer) for offer in offers), fmt, sys.stdout,
               columns=RENTAL_ROW_COLUMNS if fmt == "csv" else None)
    if blocked:
        raise click.exceptions.Exit(3)
    if failed:
        raise click.exceptions.Exit(1)


COMMANDS = [parse]
