"""``gpuprices breakeven`` and ``gpuprices rental``: cloud rental prices and rent vs buy, from the database."""

from __future__ import annotations

import sys
from typing import Any

import click

from gpuprices.cli.output import usd, write_rows
from gpuprices.cli.skus import check_sku
from gpuprices.exceptions import NoDataError

_SKU = click.option("--sku", default=None, help="Only this SKU (catalog id, e.g. h100-80gb-sxm5).")
_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                       show_default=True, help="A table for people, CSV with a header, or JSON lines.")


def _print(table: Any) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # piped or captured: no width to fit, so never truncate a SKU or a price
        console = Console(width=180)
    console.print(table)


def _hours(text: str | None) -> str:
    return "—" if text is None else f"${text}"


@click.command()
@_SKU
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True,
              help="Window in days up to today (UTC): prices come from the latest day with data in it.")
@_FORMAT
@click.pass_obj
def breakeven(app: Any, sku: str | None, days: int, fmt: str) -> None:
    """Rent vs buy: months of use until owning a GPU is cheaper than renting it.

    months = (purchase − resale at the horizon) / ((rental − owned running cost) × 730 h × utilization),
    with the owned running cost = TDP kW × PUE × $/kWh + other $/GPU-hour, all from [breakeven]. The
    purchase price is the sold median when it rests on at least min_sold_samples sales, else the
    asking median; the rental price is the on-demand median (spot beside it). "never" means renting
    costs less than the electricity of owning.
    """
    from gpuprices.market.breakeven import BREAKEVEN_COLUMNS, breakeven_table
    from gpuprices.market.index import utc_today
    from gpuprices.pipeline.classify.catalog import load_catalog
    from gpuprices.storage.factory import open_store

    catalog = load_catalog(extra=app.settings.catalog or None)
    sku = check_sku(catalog, sku)
    with open_store(app.settings.storage.database) as store:
        rows = breakeven_table(store, catalog, app.settings.breakeven, sku=sku, today=utc_today(), days=days)
    if not rows:
        raise NoDataError(f"no SKU with both a purchase price and an on-demand rental price in the last {days} days"
                          + (f" for {sku}" if sku else ""))
    if fmt != "table":
        write_rows(rows, fmt, sys.stdout, columns=BREAKEVEN_COLUMNS if fmt == "csv" else None)
        return
    from rich.table import Table

    settings = app.settings.breakeven
    table = Table(title=f"Rent vs buy — months of use until owning is cheaper ({settings.utilization:.0%} utilization,"
                        f" resale at {settings.horizon_months} months)",
                  caption="purchase: sold median with enough sales, else asking median; never = rental ≤ running cost")
    for name in ("SKU", "purchase", "basis", "on-demand /GPU-h", "spot /GPU-h", "owned /GPU-h", "resale",
                 "months", "months (spot)"):
        table.add_column(name, justify="left" if name in ("SKU", "basis") else "right", no_wrap=name == "SKU")
    for row in rows:
        basis = f"{row['purchase_basis']} (n={row['purchase_n']})"
        table.add_row(row["sku"], usd(row["purchase_usd"]), basis,
                      _hours(row["rental_usd_per_gpu_hour"]), _hours(row["spot_usd_per_gpu_hour"]),
                      _hours(row["owned_usd_per_gpu_hour"]), usd(row["resale_usd_at_horizon"]),
                      _months(row["months"]), _months(row["months_spot"]) if row["spot_usd_per_gpu_hour"] else "—")
    _print(table)


def _months(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


@click.command()
@_SKU
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True,
              help="Days of history up to today (UTC), one row per day with data.")
@_FORMAT
@click.pass_obj
def rental(app: Any, sku: str | None, days: int, fmt: str) -> None:
    """Daily cloud rental index per SKU and kind (on-demand, spot), USD per GPU-hour.

    An offer is a provider × instance type (a vast.ai offer, a tracker provider); it counts once a
    day, its regions folded into their median. n = offers, providers = distinct providers; median,
    p25 and min are over offers. Accelerators outside the catalog (A10G, unknown names) are kept in
    the database but never indexed.
    """
    from gpuprices.market.index import utc_today
    from gpuprices.market.rental_index import RENTAL_INDEX_COLUMNS, compute_rental_index, rental_index_rows
    from gpuprices.pipeline.classify.catalog import load_catalog
    from gpuprices.storage.factory import open_store

    catalog = load_catalog(extra=app.settings.catalog or None)
    sku = check_sku(catalog, sku)
    with open_store(app.settings.storage.database) as store:
        rows = rental_index_rows(compute_rental_index(store, days=days, sku=sku, today=utc_today()))
    if not rows:
        raise NoDataError(f"no rental prices in the last {days} days" + (f" for {sku}" if sku else ""))
    if fmt != "table":
        write_rows(rows, fmt, sys.stdout, columns=RENTAL_INDEX_COLUMNS if fmt == "csv" else None)
        return
    from rich.table import Table

    table = Table(title=f"Cloud rental index — last {days} days, USD per GPU-hour")
    for name in ("day", "SKU", "kind", "offers", "providers", "median", "p25", "min"):
        table.add_column(name, justify="right" if name in ("offers", "providers", "median", "p25", "min") else "left",
                         no_wrap=name in ("day", "SKU"))
    for row in rows:
        table.add_row(row["day"], row["sku"], row["kind"], str(row["n"]), str(row["providers"]),
                      _hours(row["median_usd_per_gpu_hour"]), _hours(row["p25_usd_per_gpu_hour"]),
                      _hours(row["min_usd_per_gpu_hour"]))
    _print(table)


COMMANDS = [breakeven, rental]
