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
_FORMULA = "=+-@\uff1d\uff0b\uff0d\uff20"  # and the full-width ＝＋－＠ spreadsheets also accept
# Spreadsheets skip leading whitespace and invisible characters before a formula: every Unicode
# space, BOM, zero-width and word joiners, direction marks and soft hyphen.
_INVISIBLE = "".join(sorted({chr(c) for c in range(0x3001) if chr(c).isspace()}
                            | set("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                  "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")))
_FORMULA_START = tuple(_FORMULA + _INVISIBLE)
"""First characters that make a text cell worth a closer look (a formula may follow)."""


def neutralize(value: Any) -> Any:
    """Make a text cell safe for spreadsheets: titles and seller names are written by strangers.

    A text whose first visible character is ``= + - @`` (or their full-width forms), or that starts
    with a tab or CR, gets a leading apostrophe so it is shown as text, not run as a formula. Plain
    numbers (``-0.42``) stay numbers.
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START) or _NUMBER.match(value):
        return value
    if value[0] in "\t\r" or value.lstrip(_INVISIBLE)[:1] in tuple(_FORMULA):
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


def format_option(default: str = "json", choices: Sequence[str] = ("json", "csv")) -> Callable[[F], F]:
    """``--format json|csv`` shared by every command that prints rows."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
                        help="Output format: JSON lines (one object per line) or CSV with a header row.")


def output_option(func: F) -> F:
    """``-o/--output FILE`` shared by commands that write files."""
    return click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True),
                        default="-", show_default=True, help="Write to FILE instead of standard output.")(func)
