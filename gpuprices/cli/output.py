"""Writing rows as CSV or JSON lines, and the options shared by commands that do."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import IO, Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> Any:
    """Make a text cell safe for spreadsheets: titles and seller names are written by strangers.

    A text starting with ``= + - @`` (or tab/CR) gets a leading apostrophe so it is shown as text,
    not run as a formula. Plain numbers (``-0.42``) stay numbers.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralize(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: IO[str],
               columns: Sequence[str] | None = None) -> int:
    """Write ``rows`` to ``out`` as ``csv`` (with header) or ``json`` (one object per line)."""
    count = 0
    if fmt == "json":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=_json_default) + "\n")
            count += 1
        return count
    writer: csv.DictWriter[str] | None = None
    if columns is not None:
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row), extrasaction="ignore", lineterminator="\r\n")
            writer.writeheader()
        writer.writerow({key: _csv_cell(value) for key, value in row.items()})
        count += 1
    return count


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
