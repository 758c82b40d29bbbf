"""Evaluate the configured alert rules against today's index, this cycle's crawls and their health.

Index rules (premium, price crossing, change) run each rule × SKU × side × condition group through
the state machine in :mod:`alerts.state`. New-listing rules fire once per listing (the alert's
dedupe key is the listing). Health rules fire once per degraded source until it recovers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from gpuprices.alerts.health import Health
from gpuprices.alerts.outbox import Alert
from gpuprices.alerts.settings import RuleSettings
from gpuprices.alerts.state import RuleState, Threshold, step
from gpuprices.market.deals import DealBook, deal_book

logger = logging.getLogger(__name__)

INDEX_KINDS = ("premium_above", "premium_below", "price_cross", "change_pct")
IMPLICIT_HEALTH_RULE = RuleSettings(name="scraper-health", kind="health")
"""Used when no health rule is configured: operators hear about a blind scraper anyway."""


@attrs.define
class Firing:
    """An alert to enqueue and the channels it goes to."""

    alert: Alert
    channels: list[str]


def _money(value: Any) -> str | None:
    return None if value is None else str(Decimal(str(value)).quantize(Decimal("0.01")))


class RuleEvaluator:
    """Runs rules with state kept in ``store`` (``alert_state``) and a clock."""

    def __init__(self, store: Any, rules: Sequence[RuleSettings], channels: Sequence[str], now: datetime) -> None:
        self.store = store
        self.rules = list(rules)
        self.all_channels = list(channels)
        self.now = now

    # -- state machine --------------------------------------------------------------------
    def _advance(self, rule: RuleSettings, key: str, value: float, threshold: Threshold) -> bool:
        row = self.store.alert_state(rule.name, key)
        state = RuleState()
        if row is not None:
            fired_at = datetime.fromisoformat(row["last_fired_at"]) if row["last_fired_at"] else None
            state = RuleState(state=row["state"], last_value=row["last_value"], last_fired_at=fired_at)
        new, fire = step(state, triggered=threshold.triggered(value), recovered=threshold.recovered(value),
                         value=value, now=self.now, cooldown=timedelta(hours=rule.cooldown_hours))
        self.store.put_alert_state(rule.name, key, new.state, new.last_value,
                                   new.last_fired_at.isoformat() if new.last_fired_at else None)
        return fire

    def _channels(self, rule: RuleSettings) -> list[str]:
        return list(rule.channels) or self.all_channels

    def _firing(self, rule: RuleSettings, key: str, title: str, payload: dict[str, Any],
                dedupe: str | None = None) -> Firing:
        dedupe_key = dedupe or f"{rule.name}|{key}|{self.now.isoformat()}"
        data = {"rule": rule.name, "kind": rule.kind, "fired_at": self.now.isoformat(), **payload}
        return Firing(Alert(rule=rule.name, kind=rule.kind, key=key, dedupe_key=dedupe_key, title=title,
                            payload=data), self._channels(rule))

    # -- rules ----------------------------------------------------------------------------
    def index_rules(self, table: Iterable[dict[str, Any]], changes: dict[tuple[str, str, str, int], float]
                    ) -> Iterator[Firing]:
        rows = {(r["sku"], r["side"], r["condition_group"]): r for r in table}
        for rule in self.rules:
            if rule.kind not in INDEX_KINDS:
                continue
            row = rows.get((rule.sku or "", rule.side, rule.condition_group))
            if row is None or (row.get("indicative") and not rule.include_indicative):
                continue
            key = f"{rule.sku}|{rule.side}|{rule.condition_group}"
            yield from self._index_rule(rule, key, row, changes)

    def _index_rule(self, rule: RuleSettings, key: str, row: dict[str, Any],
                    changes: dict[tuple[str, str, str, int], float]) -> Iterator[Firing]:
        context = {"sku": rule.sku, "side": rule.side, "condition_group": rule.condition_group,
                   "day": str(row.get("day")), "n": row.get("n"), "median_usd": _money(row.get("median_usd")),
                   "list_price_usd": _money(row.get("list_price_usd")), "premium": row.get("premium"),
                   "sources": list(row.get("sources") or [])}  # which sources fed the row (lineage)
        if rule.kind in ("premium_above", "premium_below"):
            if row.get("premium") is None or rule.premium is None:
                return
            direction = "above" if rule.kind == "premium_above" else "below"
            value = float(row["premium"])
            if self._advance(rule, key, value, Threshold(rule.premium, direction, rule.hysteresis)):
                yield self._firing(rule, key, f"{rule.sku} {rule.side} premium {value:+.1%} is {direction} "
                                   f"{rule.premium:+.1%} (median ${float(row['median_usd']):,.0f})",
                                   {**context, "threshold": rule.premium, "value": value})
        elif rule.kind == "price_cross":
            assert rule.price_usd is not None
            value, limit = float(row["median_usd"]), float(rule.price_usd)
            for direction in (("below", "above") if rule.direction == "both" else (rule.direction,)):
                sub_key = f"{key}|{direction}"
                if self._advance(rule, sub_key, value, Threshold(limit, direction, limit * rule.hysteresis)):
                    yield self._firing(rule, sub_key, f"{rule.sku} {rule.side} median ${value:,.0f} crossed "
                                       f"{direction} ${limit:,.0f}",
                                       {**context, "threshold": str(rule.price_usd), "direction": direction})
        elif rule.kind == "change_pct":
            assert rule.change_pct is not None
            change = changes.get((rule.sku or "", rule.side, rule.condition_group, rule.window_days))
            if change is None:
                return
            limit = rule.change_pct
            if self._advance(rule, key, abs(change), Threshold(limit, "above", limit * rule.hysteresis)):
                yield self._firing(rule, key, f"{rule.sku} {rule.side} median moved {change:+.1f}% in "
                                   f"{rule.window_days} days (limit {limit:.1f}%)",
                                   {**context, "change_pct": round(change, 2), "window_days": rule.window_days})

    def breakeven_rules(self, table: Iterable[dict[str, Any]]) -> Iterator[Firing]:
        """Rent vs buy: fires when the months until buying beats renting drop below the rule's limit."""
        rows = {r["sku"]: r for r in table}
        for rule in self.rules:
            if rule.kind != "breakeven_below" or rule.months is None:
                continue
            row = rows.get(rule.sku or "")
            if row is None or row.get("months") is None:  # no prices today, or renting always cheaper
                continue
            value = float(row["months"])
            if self._advance(rule, f"{rule.sku}|breakeven", value,
                             Threshold(rule.months, "below", rule.months * rule.hysteresis)):
                yield self._firing(rule, f"{rule.sku}|breakeven",
                                   f"{rule.sku}: buying beats renting after {value:.1f} months "
                                   f"(limit {rule.months:g})",
                                   {"sku": rule.sku, "months": round(value, 2), "threshold": rule.months,
                                    "purchase_usd": row.get("purchase_usd"),
                                    "rental_usd_per_gpu_hour": row.get("rental_usd_per_gpu_hour")})

    def new_listing_rules(self, crawl_ids: Sequence[int]) -> Iterator[Firing]:
        for rule in self.rules:
            if rule.kind != "new_listing_below" or rule.unit_price_usd is None or not rule.sku:
                continue
            book: DealBook | None = None
            for crawl_id in crawl_ids:
                for row in self.store.new_priced_listings(crawl_id, rule.sku):
                    if (row["excluded_reason"] or not row["working"] or row["sold"] or row["ended"]
                            or (row["quarantined"] and not rule.include_quarantined)):
                        continue
                    unit = Decimal(row["unit_price_usd"])
                    if unit >= rule.unit_price_usd:
                        continue
                    key = f"{rule.sku}|listing|{row['listing_id']}"
                    book = book or deal_book(self.store, today=self.now.date(), sku=rule.sku)
                    deal = book.context(sku=rule.sku, sold=row["sold"], condition=row.get("condition"),
                                        unit_price_usd=unit, day=self.now.date())
                    yield self._firing(
                        rule, key, f"New {rule.sku} listing at ${unit:,.2f} per GPU (below ${rule.unit_price_usd:,})",
                        {"sku": rule.sku, "item_id": row["item_id"], "title": row["title"], "url": row["url"],
                         "unit_price_usd": str(unit), "price": row["price"], "currency": row["currency"],
                         "threshold": str(rule.unit_price_usd), "source": row["source"], **deal},
                        dedupe=f"{rule.name}|listing|{row['listing_id']}")

    def health_rules(self, health: Sequence[Health]) -> Iterator[Firing]:
        rules = [r for r in self.rules if r.kind == "health"] or [IMPLICIT_HEALTH_RULE]
        for rule in rules:
            for verdict in health:
                if rule.source and rule.source != verdict.source:
                    continue
                value = 0.0 if verdict.healthy else 1.0
                if self._advance(rule, verdict.source, value, Threshold(0.5, "above", 0.5)):
                    yield self._firing(rule, verdict.source, f"{verdict.source} degraded: {verdict.summary}",
                                       {"source": verdict.source, "crawl_id": verdict.crawl_id,
                                        "problems": list(verdict.problems)})
