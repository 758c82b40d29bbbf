"""Rows as CSV (with a header, safe to open in a spreadsheet) or JSON lines: the CLI's and the web API's output."""

from __future__ import annotations

import bisect
import csv
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_FORMULA = "=+-@\uff1d\uff0b\uff0d\uff20"  # and the full-width ＝＋－＠ spreadsheets also accept
# Spreadsheets skip leading whitespace and invisible characters before a formula: every Unicode
# space, BOM, zero-width and word joiners, direction marks and soft hyphen.
_INVISIBLE = "".join(sorted({chr(c) for c in range(0x3001) if chr(c).isspace()}
                            | set("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                  "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")))
_FORMULA_START = tuple(_FORMULA + _INVISIBLE)
"""First characters that make a text cell worth a closer look (a formula may follow)."""
CELL = "\x01"
"""Separates the cells of a line the database built (``storage.exports.export_lines``): a control
character that is no formula start, so a cell that may start a formula is :data:`CELL` and one of
:data:`_FORMULA_START`."""
_CELL_STARTS_FORMULA = re.compile(CELL + "[" + re.escape("".join(_FORMULA_START)) + "]")
_NEEDS_QUOTES = re.compile('[,"\r\n]')


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


FORMULA_PREFIXES = "".join(_FORMULA_START)


def write_table(chunks: Iterable[tuple[list[Any], list[int]]], columns: Sequence[str],
                kinds: Sequence[str], fmt: str, out: IO[str]) -> int:
    """Write chunks of tuple rows from ``storage.exports`` (CSV: booleans already ``true``/``false``)
    as CSV or JSON lines; memory stays flat. Each chunk lists the rows with a cell that starts like a
    formula: only those are looked at, and only their ``text`` cells are neutralized."""
    texts = [i for i, kind in enumerate(kinds) if kind == "text"]
    count = 0
    if fmt == "json":
        bools = [i for i, kind in enumerate(kinds) if kind == "bool"]
        dumps, names = json.dumps, list(columns)
        for rows, _ in chunks:
            lines = []
            for row in rows:
                values = list(row)
                for i in bools:
                    if values[i] is not None:
                        values[i] = bool(values[i])
                lines.append(dumps(dict(zip(names, values, strict=True)), ensure_ascii=False,
                                   default=_json_default))
            out.write("".join(line + "\n" for line in lines))
            count += len(lines)
        return count
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for rows, flagged in chunks:
        for position in flagged:
            values = list(rows[position])
            for i in texts:
                values[i] = neutralize(values[i])
            rows[position] = values
        writer.writerows(rows)  # in C: no Python per row or cell
        count += len(rows)
    return count


def write_lines(chunks: Iterable[tuple[list[str], dict[int, Any]]], columns: Sequence[str], kinds: Sequence[str],
                out: IO[str]) -> int:
    """Write chunks of lines from ``storage.exports.export_lines`` as CSV, the same bytes as
    :func:`write_table`. Most lines become CSV by replacing :data:`CELL` with commas, a chunk at a
    time; the few whose cells need quotes or may start a formula are split and written by the CSV
    writer (text cells neutralized), and rows given with typed values are written from those."""
    texts = [i for i, kind in enumerate(kinds) if kind == "text"]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for lines, typed in chunks:
        quoted, formulas = _special_lines(lines)
        start = 0
        for position in sorted({*quoted, *formulas, *typed}):
            if position > start:
                out.write("\r\n".join(lines[start:position]).replace(CELL, ",") + "\r\n")
            start = position + 1
            values: list[Any] = list(typed[position]) if position in typed else lines[position].split(CELL)
            if position in typed or position in formulas:
                for i in texts:
                    values[i] = neutralize(values[i])
            writer.writerow(values)
        if start < len(lines):
            out.write("\r\n".join(lines[start:]).replace(CELL, ",") + "\r\n")
        count += len(lines)
    return count


def _special_lines(lines: list[str]) -> tuple[list[int], set[int]]:
    """Positions of lines with a cell that needs quotes, and of lines with a cell that may start a
    formula; searched in the joined chunk (fast C scans), line by line only where one was found."""
    probe = CELL + CELL.join(lines)  # every cell, the first of a line too, follows a CELL
    quoted = [i for i, line in enumerate(lines) if _NEEDS_QUOTES.search(line)] if any(
        mark in probe for mark in ',"\r\n') else []
    formulas: set[int] = set()
    if _CELL_STARTS_FORMULA.search(probe):
        starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
        formulas = {bisect.bisect_right(starts, match.start()) - 1 for match in _CELL_STARTS_FORMULA.finditer(probe)}
    return quoted, formulas
