"""gpuprices: data-center GPU resale prices, normalized, classified and monitored.

The public API is re-exported here, loaded on first use so that importing one parser does not load
the configuration models; the command line lives in :mod:`gpuprices.cli`.

Layers, highest first (held by the import contract in ``pyproject.toml``)::

    application   gpuprices.cli, config, daemon, cycle, crawling, …
    alerts        gpuprices.alerts
    market        gpuprices.market
    pipeline      gpuprices.pipeline
    spiders | storage
    core          gpuprices.core (items), gpuprices.exceptions
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from gpuprices.config import Settings, load_settings

__version__ = "0.1.0"

CONFIG_ENV = "GPUPRICES_CONFIG"
"""The environment variable naming the configuration file."""

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

_LAZY = {"Settings": "gpuprices.config", "load_settings": "gpuprices.config"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gpuprices' has no attribute {name!r}")
