"""Option types and decorators shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click


class LazyChoice(click.Choice[str]):
    """A choice whose values are read when the option is parsed or its help shown, not at import:
    sources registered after start-up (plugins, tests) are accepted, and importing a command stays cheap."""

    def __init__(self, values: Callable[[], Sequence[str]], case_sensitive: bool = True) -> None:
        self._values = values
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._values())

    @choices.setter
    def choices(self, values: Sequence[str]) -> None:
        self._values = lambda: tuple(values)


def source_choice(values: str = "names") -> LazyChoice:
    """The registered sources (``names``) or those parseable offline (``parseable``)."""

    def read() -> Sequence[str]:
        from gpuprices import sources as registry

        found: Sequence[str] = getattr(registry, values)()
        return found

    return LazyChoice(read)


def parse_source_choice() -> LazyChoice:
    """What ``parse`` and ``import`` read: the offline-parseable sources and the rental feed kinds."""

    def read() -> Sequence[str]:
        from gpuprices import sources as registry
        from gpuprices.spiders.parsers.rental import RENTAL_PARSE_SOURCES

        return [*registry.parseable(), *RENTAL_PARSE_SOURCES]

    return LazyChoice(read)


F = TypeVar("F", bound=Callable[..., Any])


def site_option(func: F) -> F:
    """``--site``: the eBay site saved pages came from, for ``parse`` and ``import``."""
    return click.option("--site", default=None, help="eBay site of the pages (ebay.de, ebay.co.uk …) for currency "
                        "and number hints; default: read from the page.")(func)
