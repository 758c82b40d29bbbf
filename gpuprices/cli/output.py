"""Writing rows as CSV or JSON lines, and the options shared by commands that do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import click

from gpuprices.core.rows import FORMULA_PREFIXES, neutralize, write_lines, write_rows, write_table

__all__ = ["FORMULA_PREFIXES", "format_option", "neutralize", "output_option", "write_lines", "write_rows",
           "write_table"]

F = TypeVar("F", bound=Callable[..., Any])


def usd(text: Any) -> str:
    """A USD amount as people read it, exactly and to the cent: ``$44,870.50`` (``—`` when absent)."""
    if text is None or text == "":
        return "—"
    return f"${Decimal(str(text)):,.2f}"


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 listing``, ``84 listings``, ``0 pages``."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


def format_option(default: str = "json", choices: Sequence[str] = ("json", "csv")) -> Callable[[F], F]:
    """``--format json|csv`` shared by every command that prints rows."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
                        help="Output format: JSON lines (one object per line) or CSV with a header row.")


def in_existing_folder(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An output file's folder must exist: one usage line (exit 2), not a traceback after the work."""
    if value is None or str(value) == "-":
        return value
    from pathlib import Path

    folder = Path(value).expanduser().parent
    if not folder.is_dir():
        raise click.BadParameter(f"folder {str(folder)!r} does not exist", param=param)
    return value


def output_option(func: F) -> F:
    """``-o/--output FILE`` shared by commands that write files."""
    return click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True),
                        default="-", show_default=True, callback=in_existing_folder,
                        help="Write to FILE instead of standard output.")(func)
