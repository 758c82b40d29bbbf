"""Market analytics: the daily per-GPU price index per SKU, its signed premium over list, charts.

``render_chart`` is imported on first use: matplotlib takes a while to import and most users of the
index (alerts, exports) never draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    refresh_index,
)
from gpuprices.market.premium import PREMIUM_COLUMNS, premium_table

if TYPE_CHECKING:
    from gpuprices.market.chart import render_chart

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
    "refresh_index",
    "render_chart",
]


def __getattr__(name: str) -> Any:
    if name == "render_chart":
        from gpuprices.market.chart import render_chart

        return render_chart
    raise AttributeError(f"module 'market' has no attribute {name!r}")
