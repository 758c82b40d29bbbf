"""Market analytics: the daily per-GPU price index per SKU, its signed premium over list, charts.

Everything is imported on first use: pandas and matplotlib take a while to import, and the settings
models (:mod:`gpuprices.market.settings`) are read by the configuration at every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpuprices.market.chart import render_chart
    from gpuprices.market.index import (
        CONDITION_GROUPS,
        INDEX_COLUMNS,
        INDEX_EXPORT_COLUMNS,
        OBSERVATION_COLUMNS,
        SIDES,
        compute_index,
        daily_index,
        index_rows,
        load_observations,
    )
    from gpuprices.market.premium import PREMIUM_COLUMNS, premium_table

__all__ = [
    "CONDITION_GROUPS",
    "INDEX_COLUMNS",
    "INDEX_EXPORT_COLUMNS",
    "OBSERVATION_COLUMNS",
    "PREMIUM_COLUMNS",
    "SIDES",
    "compute_index",
    "daily_index",
    "index_rows",
    "load_observations",
    "premium_table",
    "render_chart",
]

_HOMES = {"render_chart": "chart", "PREMIUM_COLUMNS": "premium", "premium_table": "premium"}


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(f"gpuprices.market.{_HOMES.get(name, 'index')}"), name)
    raise AttributeError(f"module 'gpuprices.market' has no attribute {name!r}")
