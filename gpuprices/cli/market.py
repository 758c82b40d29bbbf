"""``gpuprices premium`` and ``gpuprices chart``: the daily market index, read from the database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gpuprices.cli.output import in_existing_folder, usd, write_rows
from gpuprices.cli.skus import check_sku
from gpuprices.exceptions import NoDataError

if TYPE_CHECKING:
    from gpuprices.pipeline.classify.catalog import Catalog



def _catalog(app: Any) -> Catalog:
    from gpuprices.pipeline.classify.catalog import load_catalog

    return load_catalog(extra=app.settings.catalog or None)


def _days_option(default: int | None, text: str) -> Any:
    return click.option("--days", type=click.IntRange(min=1), default=default, show_default=default is not None,
                        help=text)


@click.command()
@click.option("--sku", default=None, help="Only this SKU (catalog id, e.g. h100-80gb-pcie).")
@_days_option(30, "Window in days up to today (UTC); each row shows its latest day in it.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="A table for people, CSV with a header, or JSON lines (one object per row).")
@click.option("--all", "show_all", is_flag=True,
              help="Also list catalog SKUs × side × condition group without data in the window (n = 0).")
@click.pass_obj
def premium(app: Any, sku: str | None, days: int, fmt: str, show_all: bool) -> None:
    """Premium over list price per SKU, side (asking/sold) and condition group (new/used/all).

    Prices are per GPU in USD; the premium is signed (median / list price − 1, so -42% means 42%
    below list), using the list price valid on that day. The 7-day change compares the median with
    the latest day 7 to 14 days earlier. Rows marked indicative rest on fewer than
    [market] min_samples listings or on one seller.
    """
    from gpuprices.market.index import compute_index, utc_today
    from gpuprices.market.premium import PREMIUM_COLUMNS, premium_table
    from gpuprices.storage.factory import open_store

    catalog = _catalog(app)
    sku = check_sku(catalog, sku)
    today = utc_today()
    with open_store(app.settings.storage.database) as store:
        index = compute_index(store, catalog, days=days, sku=sku, min_samples=app.settings.market.min_samples,
                              today=today)
    rows = premium_table(index, today=today)
    if show_all:
        rows = _with_missing(rows, catalog, sku, today)
    if not rows:
        raise NoDataError(f"no index data in the last {days} days" + (f" for {sku}" if sku else ""))
    if fmt == "table":
        _print_table(rows, days=days, min_samples=app.settings.market.min_samples)
    else:
        write_rows(rows, fmt, sys.stdout, columns=PREMIUM_COLUMNS if fmt == "csv" else None)


def _with_missing(rows: list[dict[str, Any]], catalog: Catalog, sku: str | None, today: Any) -> list[dict[str, Any]]:
    from gpuprices.market.index import CONDITION_GROUPS, SIDES
    from gpuprices.market.premium import empty_row

    have = {(r["sku"], r["side"], r["condition_group"]) for r in rows}
    out = list(rows)
    for item in catalog:
        if sku is not None and item.id != sku:
            continue
        price = catalog.list_price(item.id, today)
        for side in SIDES:
            for group in CONDITION_GROUPS:
                if (item.id, side, group) not in have:
                    out.append(empty_row(item.id, side, group, list_price_usd=price.usd if price else None,
                                         list_price_date=price.date if price else None))
    sides = {s: i for i, s in enumerate(SIDES)}
    groups = {g: i for i, g in enumerate(CONDITION_GROUPS)}
    return sorted(out, key=lambda r: (r["sku"], sides[r["side"]], groups[r["condition_group"]]))


def _pct(value: float | None, *, scale: float = 1.0) -> str:
    return "—" if value is None else f"{value * scale:+.1f}%"


def _print_table(rows: list[dict[str, Any]], *, days: int, min_samples: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Premium over list price — latest day in the last {days} days, USD per GPU",
                  caption=f"* indicative: fewer than {min_samples} listings or a single seller")
    for name, justify in (("SKU", "left"), ("side", "left"), ("cond", "left"), ("day", "left"), ("n", "right"),
                          ("median", "right"), ("list price", "right"), ("premium", "right"),
                          ("7-day change", "right"), ("", "left")):
        table.add_column(name, justify=justify, no_wrap=name in ("SKU", "day"))  # type: ignore[arg-type]
    for row in rows:
        premium_text = _pct(row["premium_pct"])
        style = "red" if (row["premium"] or 0) < 0 else "green" if row["premium"] else ""
        table.add_row(row["sku"], row["side"], row["condition_group"], row["day"] or "—", str(row["n"]),
                      usd(row["median_usd"]), usd(row["list_price_usd"]),
                      f"[{style}]{premium_text}[/]" if style else premium_text,
                      _pct(row["change_7d"], scale=100), "*" if row["indicative"] else "")
    console = Console()
    if not console.is_terminal:  # piped or captured: no width to fit, so never truncate a SKU or a price
        console = Console(width=160)
    console.print(table)


@click.command()
@click.option("--sku", default=None,
              help="Catalog SKU id; default: the SKU with the most listing-days in the window.")
@click.option("--side", type=click.Choice(["asking", "sold"]), default="asking", show_default=True,
              help="Asking prices of open listings, or prices of sales.")
@click.option("--condition", "condition_group", type=click.Choice(["new", "used", "all"]), default="all",
              show_default=True, help="Condition group: new (+ open box), used (+ refurbished, unknown), or all.")
@_days_option(None, "Days of history up to today (UTC); default: [market] history_days.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              callback=in_existing_folder,
              help="Chart file: FILE.png, or FILE.html (self-contained page with the chart and the numbers).")
@click.pass_obj
def chart(app: Any, sku: str | None, side: str, condition_group: str, days: int | None, output: Path) -> None:
    """Chart one SKU's daily median price (p25–p75 band, list price line) and its premium over list.

    Exits with code 4 (no data) and one line when there is no data for that SKU, side and condition.
    """
    from gpuprices.market.chart import render_chart  # matplotlib is slow to import; only this command needs it
    from gpuprices.market.index import compute_index, utc_today
    from gpuprices.storage.factory import open_store

    if output.suffix.lower() not in (".png", ".html"):
        raise click.BadParameter("must end in .png or .html", param_hint="-o/--output")
    catalog = _catalog(app)
    sku = check_sku(catalog, sku)
    window = days or app.settings.market.history_days
    today = utc_today()
    with open_store(app.settings.storage.database) as store:
        # The materialized index: memory and time follow the days charted, not the observations.
        index = compute_index(store, catalog, days=window, sku=sku, min_samples=app.settings.market.min_samples,
                              today=today)
    if index.empty:
        raise NoDataError(f"no index data in the last {window} days" + (f" for {sku}" if sku else ""))
    if sku is None:
        overall = index[index["condition_group"] == "all"]
        sku = str(overall.groupby("sku")["n"].sum().idxmax())
    try:
        written = render_chart(index, sku=sku, side=side, condition_group=condition_group, output=output)
    except ValueError as exc:  # nothing for this side and condition
        raise NoDataError(str(exc)) from None
    click.echo(f"chart of {sku} ({side}, {condition_group}) written to {written}", err=True)


COMMANDS = [premium, chart]
