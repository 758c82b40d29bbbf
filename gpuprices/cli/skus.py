"""``gpuprices skus``: the SKU catalog, and the ``--sku`` check every command shares."""

from __future__ import annotations

import sys
from typing import Any

import click

from gpuprices.cli.output import write_rows

SKU_COLUMNS = ("id", "model", "memory_gb", "form_factor", "list_price_usd", "list_price_date", "list_price_source")


def catalog_of(app: Any) -> Any:
    """The built-in catalog with the config's ``[catalog]`` additions."""
    from gpuprices.pipeline.classify.catalog import load_catalog

    return load_catalog(extra=app.settings.catalog or None)


def check_sku(catalog: Any, sku: str | None) -> str | None:
    """``--sku`` as a catalog id; an unknown one is a usage error naming the closest ids (exit 2)."""
    if sku is None:
        return None
    key = sku.strip().lower()
    if key not in catalog:
        raise click.BadParameter(catalog.unknown(sku), param_hint="--sku")
    return key


def sku_rows(catalog: Any, today: Any) -> list[dict[str, Any]]:
    rows = []
    for item in catalog:
        price = catalog.list_price(item.id, today)
        rows.append({"id": item.id, "model": item.model, "memory_gb": item.memory_gb, "form_factor": item.form_factor,
                     "list_price_usd": f"{price.usd:.2f}" if price else None,
                     "list_price_date": price.date.isoformat() if price else None,
                     "list_price_source": price.source if price else None})
    return rows


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="A table for people, CSV with a header, or JSON lines.")
@click.pass_obj
def skus(app: Any, fmt: str) -> None:
    """List the SKU catalog: id (what --sku and alert rules take), model, memory, form factor and the
    list price valid today with its date and source."""
    from datetime import UTC, datetime

    rows = sku_rows(catalog_of(app), datetime.now(UTC).date())
    if fmt != "table":
        write_rows(rows, fmt, sys.stdout, columns=SKU_COLUMNS if fmt == "csv" else None)
        return
    widths = {column: max(len(column), *(len(str(row[column] or "—")) for row in rows))
              for column in SKU_COLUMNS[:-1]}
    click.echo("  ".join(column.ljust(widths[column]) for column in widths).rstrip())
    for row in rows:
        click.echo("  ".join(str(row[column] or "—").ljust(widths[column]) for column in widths).rstrip())


COMMANDS = [skus]
