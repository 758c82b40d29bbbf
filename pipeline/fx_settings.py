"""User-supplied exchange rates for currencies the bundled ECB reference rates do not quote.

The config's ``[fx.rates]`` table, e.g. ``PEN = { usd = "0.2667", date = "2026-11-30", source = "BCRP" }``:
US dollars per one unit, the day the rate is from and who published it. They are used only where
the ECB data has no rate, and every converted row stores the rate, its date and its source.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

IsoCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class ConfiguredRate(BaseModel):
    """One currency's rate: ``usd`` dollars per unit on ``date``, published by ``source``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    usd: Decimal = Field(gt=0, allow_inf_nan=False)
    """US dollars per one unit of the currency (a decimal string keeps it exact)."""
    date: date
    """The day the rate is from (stored as the row's ``usd_rate_date``)."""
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                             pattern=r"^[^\s:]+(?: [^\s:]+)*$")]
    """Who published it (``BCRP``, ``CBC``); stored in ``usd_rate_method`` as ``config:<source>``."""

    @field_validator("usd", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        # A TOML float (0.27) has already lost exactness in binary; money rates are written as strings.
        if isinstance(value, float):
            raise ValueError('write the rate as a string, e.g. usd = "0.2667" (a float is not exact)')
        return value


class FxSettings(BaseModel):
    """The config's ``[fx]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rates: dict[IsoCode, ConfiguredRate] = Field(default_factory=dict)
    """ISO 4217 code → rate, used only for currencies (or days) the ECB data does not cover."""
