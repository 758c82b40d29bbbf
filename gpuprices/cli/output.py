"""Writing rows as CSV or JSON lines, and the options shared by commands that do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from gpuprices.core.rows import FORMULA_PREFIXES, neutralize, write_rows, write_table

__all__ = ["FORMULA_PREFIXES", "format_option", "neutralize", "output_option", "write_rows", "write_table"]

F = TypeVar("F", bound=Callable[..., Any])


def format_option(default: str = "json", choices: Sequence[str] = ("json", "csv")) -> Callable[[F], F]:
    """``--format json|csv`` shared by every command that prints rows."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
                        help="Output format: JSON lines (one object per line) or CSV with a header row.")


def output_option(func: F) -> F:
    """``-o/--output FILE`` shared by commands that write files."""
    return click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True),
                        default="-", show_default=True, help="Write to FILE instead of standard output.")(func)
