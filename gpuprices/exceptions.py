"""Every error gpuprices raises on purpose, in one flat module.

Hierarchy::

    GpupricesError
    ├── ConfigError            bad or unreadable configuration (exit code 2)
    ├── ParseError             input that cannot be read as a listing
    │   ├── PriceParseError    a price text with no amount or no currency
    │   └── BlockedPageError   a bot check or edge error page instead of content (exit code 3)
    ├── ConversionError        no exchange rate for a currency
    ├── StorageError           the database cannot be opened or written
    │   └── DatabaseUnusableError  not a database, damaged, or of a newer schema (exit code 2)
    └── CrawlError             a crawl could not run or every page failed

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


class BlockedPageError(ParseError):
    """A bot check ("Pardon Our Interruption") or an edge error page instead of results."""


class ConversionError(GpupricesError):
    """No exchange rate is known for the currency (or for any date before the one asked)."""


class StorageError(GpupricesError):
    """The database cannot be opened, migrated or written."""


class DatabaseUnusableError(StorageError):
    """The file is not an SQLite database, is damaged, or has a schema newer than this gpuprices."""


class CrawlError(GpupricesError):
    """A crawl could not be started, or every page it fetched was blocked or failed."""
