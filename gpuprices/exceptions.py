"""Every error gpuprices raises on purpose, in one flat module.

Hierarchy::

    GpupricesError
    ├── ConfigError            bad or unreadable configuration (exit code 2)
    ├── ParseError             input that cannot be read as a listing
    │   ├── PriceParseError    a price text with no amount or no currency
    │   │   └── UnknownCurrencyError   a currency symbol or code we do not know
    │   └── BlockedPageError   a bot check or edge error page instead of content (exit code 3)
    │       └── ErrorPageError the site's own error page (eBay "Error Page", a 4xx/5xx body)
    ├── ConversionError        no exchange rate for a currency
    ├── StorageError           the database cannot be opened or written
    │   └── DatabaseUnusableError  not a database, damaged, or of a newer schema (exit code 2)
    ├── CrawlError             a crawl could not run or every page failed
    └── NoDataError            nothing to show: no index rows, no rentals, nothing to retry (exit code 4)

Messages are one line and never contain secrets.
"""

from __future__ import annotations


class GpupricesError(Exception):
    """Base class of all errors raised on purpose by gpuprices."""


class ConfigError(GpupricesError):
    """The configuration file or environment is invalid; the message names the key."""


class ParseError(GpupricesError):
    """Input that cannot be read as a listing."""


class PriceParseError(ParseError):
    """A price text without a usable amount or currency. The row is dropped, never priced 0."""


class UnknownCurrencyError(PriceParseError):
    """A price written in a currency we cannot name: counted as ``unknown_currency:<symbol>``, never guessed."""

    def __init__(self, symbol: str, text: str) -> None:
        super().__init__(f"unknown currency {symbol!r} in price {text[:80]!r}")
        self.symbol = symbol


class BlockedPageError(ParseError):
    """A bot check ("Pardon Our Interruption") or an edge error page instead of results."""


class ErrorPageError(BlockedPageError):
    """The site's own error page ("Error Page | eBay", a 4xx/5xx body) instead of results (exit code 3)."""


class ConversionError(GpupricesError):
    """No exchange rate is known for the currency (or for any date before the one asked)."""


class StorageError(GpupricesError):
    """The database cannot be opened, migrated or written."""


class DatabaseUnusableError(StorageError):
    """The file is not an SQLite database, is damaged, or has a schema newer than this gpuprices."""


class CrawlError(GpupricesError):
    """A crawl could not be started, or every page it fetched was blocked or failed."""


class NoDataError(GpupricesError):
    """A command has nothing to show or do (no index data in the window, no delivery to retry): not a
    failure, but not an answer either. Every command exits with the same code for it (4)."""
