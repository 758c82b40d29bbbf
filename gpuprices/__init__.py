"""gpuprices: data-center GPU resale prices, normalized, classified and monitored.

The public API is re-exported here; the command line lives in :mod:`gpuprices.cli`.
"""

from gpuprices.config import Settings, load_settings
from gpuprices.exceptions import (
    BlockedPageError,
    ConfigError,
    ConversionError,
    CrawlError,
    GpupricesError,
    ParseError,
    PriceParseError,
    StorageError,
)

__version__ = "0.1.0"

__all__ = [
    "BlockedPageError",
    "ConfigError",
    "ConversionError",
    "CrawlError",
    "GpupricesError",
    "ParseError",
    "PriceParseError",
    "Settings",
    "StorageError",
    "__version__",
    "load_settings",
]
