"""Market settings: the daily index and rent vs buy (the ``[market]`` and ``[breakeven]`` tables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MarketSettings(_Section):
    """Daily index settings."""

    min_samples: int = Field(10, ge=1)
    """Index rows resting on fewer listings (or on one seller) are flagged ``indicative``."""
    history_days: int = Field(365, ge=1)


class BreakevenSettings(_Section):
    """Rent vs buy (``gpuprices breakeven``)."""

    utilization: float = Field(0.7, gt=0, le=1)
    """Fraction of the 730 hours a month the owned GPU does useful work."""
    power_usd_per_kwh: float = Field(0.12, ge=0)
    pue: float = Field(1.3, ge=1)
    """Data-center power usage effectiveness (cooling overhead)."""
    other_usd_per_gpu_hour: float = Field(0.0, ge=0)
    """Hosting, networking, maintenance per owned GPU-hour."""
    horizon_months: int = Field(36, ge=1, le=120)
    residual_curve: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.0, 1.0), (12.0, 0.65), (24.0, 0.45), (36.0, 0.3), (60.0, 0.15)])
    """(months, fraction of the purchase price the GPU resells for), interpolated linearly."""
    min_sold_samples: int = Field(5, ge=1)
    """Use the sold median when it rests on at least this many sales, else the asking median."""
