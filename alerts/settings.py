"""Alert configuration: channels (where alerts go) and rules (when they fire).

```toml
[[alerts.channels]]
name = "ops"
kind = "webhook"            # webhook | slack | discord | apprise
url = "https://hooks.example.com/gpu"
secret = "whsec_..."        # Standard Webhooks secret (webhook channels)

[[alerts.rules]]
name = "cheap-h100"
kind = "new_listing_below"  # premium_above, premium_below, price_cross, change_pct, health
sku = "h100-80gb-pcie"
unit_price_usd = 25000
channels = ["ops"]
```
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

ChannelKind = Literal["webhook", "slack", "discord", "apprise"]
RuleKind = Literal["premium_above", "premium_below", "price_cross", "new_listing_below", "change_pct", "health",
                   "breakeven_below"]
Side = Literal["asking", "sold"]
ConditionGroup = Literal["new", "used", "all"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ChannelSettings(_Strict):
    """One place alerts are delivered to."""

    name: str = Field(min_length=1)
    kind: ChannelKind
    url: SecretStr
    """Receiver URL (or Apprise URL). Secret: Slack/Discord/Apprise URLs carry tokens."""
    secret: SecretStr | None = None
    """Standard Webhooks signing secret ``whsec_<base64>`` (webhook channels)."""
    timeout: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _check(self) -> ChannelSettings:
        url = self.url.get_secret_value()
        if self.kind != "apprise" and not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        if self.secret is not None and not self.secret.get_secret_value().startswith("whsec_"):
            raise ValueError("secret must be a Standard Webhooks secret starting with whsec_")
        return self


class RuleSettings(_Strict):
    """One alert rule; which value fields it needs depends on ``kind``."""

    name: str = Field(min_length=1)
    kind: RuleKind
    sku: str | None = None
    """Catalog SKU id; required except for health rules."""
    side: Side = "asking"
    condition_group: ConditionGroup = "all"
    premium: float | None = None
    """premium_above / premium_below: threshold as a fraction (-0.3 = 30 % below list price)."""
    price_usd: Decimal | None = None
    """price_cross: the median price threshold in USD."""
    direction: Literal["below", "above", "both"] = "below"
    """price_cross: which crossing fires."""
    unit_price_usd: Decimal | None = None
    """new_listing_below: per-GPU price threshold in USD."""
    change_pct: float | None = None
    """change_pct: fires when the median moved more than this many percent over ``window_days``."""
    window_days: int = Field(7, ge=1, le=365)
    months: float | None = Field(None, gt=0)
    """breakeven_below: fires when buying beats renting within this many months."""
    source: str | None = None
    """health: only this source (default: every source)."""
    hysteresis: float = Field(0.02, ge=0)
    """Re-arm only after the value recovers past the threshold by this much (fraction of the threshold;
    for premium rules an absolute fraction of list price)."""
    cooldown_hours: float = Field(24.0, ge=0)
    """At most one alert per rule × SKU within this time."""
    include_indicative: bool = False
    """Also fire on index rows resting on few listings or one seller."""
    include_quarantined: bool = False
    """new_listing_below: also consider quarantined listings."""
    channels: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs(self) -> RuleSettings:
        needed = {
            "premium_above": "premium", "premium_below": "premium", "price_cross": "price_usd",
            "new_listing_below": "unit_price_usd", "change_pct": "change_pct", "breakeven_below": "months",
        }.get(self.kind)
        if needed and getattr(self, needed) is None:
            raise ValueError(f"{self.kind} rules need {needed}")
        if self.kind != "health" and not self.sku:
            raise ValueError(f"{self.kind} rules need sku")
        return self


class AlertsSettings(_Strict):
    channels: list[ChannelSettings] = Field(default_factory=list)
    rules: list[RuleSettings] = Field(default_factory=list)
    max_delivery_hours: float = Field(24.0, gt=0)
    """Keep retrying a delivery this long, then mark it dead."""
    backoff_initial_seconds: float = Field(5.0, gt=0)
    backoff_max_seconds: float = Field(3600.0, gt=0)
    max_retry_after_seconds: float = Field(3600.0, gt=0)

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, channels: list[ChannelSettings]) -> list[ChannelSettings]:
        names = [c.name for c in channels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate channel name {duplicates[0]!r}")
        return channels

    @model_validator(mode="after")
    def _known_channels(self) -> AlertsSettings:
        names = {c.name for c in self.channels}
        for rule in self.rules:
            unknown = [c for c in rule.channels if c not in names]
            if unknown:
                raise ValueError(f"rule {rule.name!r} names unknown channel {unknown[0]!r}")
        return self
