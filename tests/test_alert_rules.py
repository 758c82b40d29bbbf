"""Alert rules: the state machine with a fake clock, hysteresis, cooldown, restarts, health checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gpuprices.alerts.health import HealthRules, check_crawl
from gpuprices.alerts.rules import RuleEvaluator
from gpuprices.alerts.settings import RuleSettings
from gpuprices.alerts.state import ARMED, FIRED, RuleState, Threshold, step
from gpuprices.storage.common import SqlStore
from tests.test_storage import make_listing

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def test_state_machine_fires_once_and_rearms_after_the_band() -> None:
    threshold = Threshold(limit=-0.30, direction="below", band=0.02)
    clock = FakeClock()
    state = RuleState()
    fired = []
    # premium falls below -30 %, stays there, hovers inside the band, recovers, falls again
    for value in (-0.25, -0.31, -0.35, -0.29, -0.31, -0.285, -0.27, -0.32):
        state, fire = step(state, triggered=threshold.triggered(value), recovered=threshold.recovered(value),
                           value=value, now=clock.advance(days=2), cooldown=timedelta(hours=24))
        fired.append(fire)
    assert fired == [False, True, False, False, False, False, False, True]
    assert state.state == FIRED


def test_cooldown_limits_alerts_per_window() -> None:
    threshold = Threshold(limit=100.0, direction="above", band=0.0)
    clock = FakeClock()
    state = RuleState()
    fires = []
    for value in (101, 99, 101, 99, 101):  # flapping every hour
        state, fire = step(state, triggered=threshold.triggered(value), recovered=threshold.recovered(value),
                           value=value, now=clock.advance(hours=1), cooldown=timedelta(hours=24))
        fires.append(fire)
    assert fires == [True, False, False, False, False]
    clock.advance(hours=30)
    state, fire = step(state, triggered=True, recovered=False, value=101, now=clock.now, cooldown=timedelta(hours=24))
    assert fire and state.state == FIRED


def _premium_row(premium: float, median: float = 20000.0, n: int = 12, indicative: bool = False) -> dict[str, Any]:
    return {"sku": "h100-80gb-pcie", "side": "asking", "condition_group": "all", "day": "2026-11-01", "n": n,
            "median_usd": median, "list_price_usd": 36000.0, "premium": premium, "indicative": indicative}


def test_premium_rule_state_survives_a_restart(store: SqlStore) -> None:
    rule = RuleSettings(name="h100-cheap", kind="premium_below", sku="h100-80gb-pcie", premium=-0.4,
                        channels=[])
    first = list(RuleEvaluator(store, [rule], ["ops"], T0).index_rules([_premium_row(-0.45)], {}))
    assert len(first) == 1
    alert = first[0].alert
    assert alert.key == "h100-80gb-pcie|asking|all" and first[0].channels == ["ops"]
    assert "premium" in alert.title and alert.payload["value"] == -0.45
    # a "restarted" evaluator (new object, same database) does not repeat the alert
    again = list(RuleEvaluator(store, [rule], ["ops"], T0 + timedelta(days=3)).index_rules([_premium_row(-0.46)], {}))
    assert again == []
    state = store.alert_state("h100-cheap", "h100-80gb-pcie|asking|all")
    assert state is not None and state["state"] == FIRED
    # recovery past the band re-arms, and the next fall fires again
    list(RuleEvaluator(store, [rule], [], T0 + timedelta(days=5)).index_rules([_premium_row(-0.37)], {}))
    assert store.alert_state("h100-cheap", "h100-80gb-pcie|asking|all")["state"] == ARMED  # type: ignore[index]
    later = list(RuleEvaluator(store, [rule], [], T0 + timedelta(days=7)).index_rules([_premium_row(-0.5)], {}))
    assert len(later) == 1 and later[0].alert.dedupe_key != alert.dedupe_key


def test_indicative_rows_are_ignored_unless_asked(store: SqlStore) -> None:
    rule = RuleSettings(name="r", kind="premium_above", sku="h100-80gb-pcie", premium=0.0)
    assert list(RuleEvaluator(store, [rule], [], T0).index_rules([_premium_row(0.2, indicative=True)], {})) == []
    loud = RuleSettings(name="r2", kind="premium_above", sku="h100-80gb-pcie", premium=0.0, include_indicative=True)
    assert len(list(RuleEvaluator(store, [loud], [], T0).index_rules([_premium_row(0.2, indicative=True)], {}))) == 1


def test_price_cross_both_directions(store: SqlStore) -> None:
    rule = RuleSettings(name="x", kind="price_cross", sku="h100-80gb-pcie", price_usd=Decimal(25000),
                        direction="both", hysteresis=0.01)
    fired = []
    for day, median in enumerate((26000, 24000, 24900, 25300, 26000)):
        firings = RuleEvaluator(store, [rule], [], T0 + timedelta(days=day)).index_rules(
            [_premium_row(-0.3, median=median)], {})
        fired.append([f.alert.payload["direction"] for f in firings])
    assert fired == [["above"], ["below"], [], ["above"], []]


def test_change_pct_rule(store: SqlStore) -> None:
    rule = RuleSettings(name="moves", kind="change_pct", sku="h100-80gb-pcie", change_pct=10, window_days=7)
    key = ("h100-80gb-pcie", "asking", "all", 7)
    assert list(RuleEvaluator(store, [rule], [], T0).index_rules([_premium_row(-0.3)], {key: 4.0})) == []
    moved = list(RuleEvaluator(store, [rule], [], T0).index_rules([_premium_row(-0.3)], {key: -12.5}))
    assert len(moved) == 1 and moved[0].alert.payload["change_pct"] == -12.5


def _save(store: SqlStore, crawl: int, item_id: str, price: str, **fields: Any) -> None:
    listing = make_listing(item_id, price=price)
    listing.sku, listing.gpu_count, listing.working = "h100-80gb-pcie", 1, True
    listing.unit_price_usd = Decimal(price)
    for key, value in fields.items():
        setattr(listing, key, value)
    store.save_listings(crawl, [listing])


def test_new_listing_alert_fires_once_per_listing(store: SqlStore) -> None:
    rule = RuleSettings(name="cheap-h100", kind="new_listing_below", sku="h100-80gb-pcie",
                        unit_price_usd=Decimal(25000))
    crawl = store.start_crawl("ebay")
    _save(store, crawl, "1", "24000.00")
    _save(store, crawl, "2", "23000.00")
    _save(store, crawl, "3", "30000.00")  # above the threshold
    _save(store, crawl, "4", "900.00", quarantined=True, quarantine_reason="outlier")
    _save(store, crawl, "5", "200.00", excluded_reason="accessory", unit_price_usd=None)
    firings = list(RuleEvaluator(store, [rule], ["ops"], T0).new_listing_rules([crawl]))
    assert sorted(f.alert.payload["item_id"] for f in firings) == ["1", "2"]
    assert len({f.alert.dedupe_key for f in firings}) == 2
    # the dedupe key is the listing: the next crawl yields the same keys (the outbox ignores repeats)
    crawl2 = store.start_crawl("ebay")
    _save(store, crawl2, "1", "24000.00")
    repeat = list(RuleEvaluator(store, [rule], ["ops"], T0 + timedelta(hours=3)).new_listing_rules([crawl2]))
    assert {f.alert.dedupe_key for f in repeat} <= {f.alert.dedupe_key for f in firings}


def _crawl_row(**fields: Any) -> dict[str, Any]:
    row = {"id": 9, "source": "ebay", "status": "ok", "pages": 4, "listings": 200, "blocked_pages": 0,
           "layout_change_pages": 0, "failed_pages": 0, "dropped": "{}", "error": None}
    row.update(fields)
    return row


HISTORY = [_crawl_row(id=i, listings=200 + i) for i in range(1, 6)]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"blocked_pages": 2, "status": "partial"}, "2 of 4 pages blocked"),
        ({"layout_change_pages": 1, "status": "partial"}, "layout change"),
        ({"listings": 40}, "below 50% of the recent median"),
        ({"dropped": json.dumps({"unparseable_price": 60})}, "price coverage"),
        ({"status": "failed", "error": "crawl timed out", "pages": 0, "listings": 0}, "crawl failed"),
    ],
)
def test_health_problems(fields: dict[str, Any], problem: str) -> None:
    verdict = check_crawl(_crawl_row(**fields), HISTORY, HealthRules())
    assert not verdict.healthy and problem in verdict.summary


def test_healthy_crawl() -> None:
    assert check_crawl(_crawl_row(), HISTORY, HealthRules()).healthy
    assert check_crawl(_crawl_row(listings=40), [], HealthRules()).healthy  # no baseline yet


def test_health_alert_fires_once_until_recovery(store: SqlStore) -> None:
    bad = check_crawl(_crawl_row(blocked_pages=4, status="blocked"), HISTORY, HealthRules())
    good = check_crawl(_crawl_row(), HISTORY, HealthRules())
    evaluator = RuleEvaluator(store, [], ["ops"], T0)  # no health rule configured: the implicit one applies
    assert len(list(evaluator.health_rules([bad]))) == 1
    assert list(RuleEvaluator(store, [], ["ops"], T0 + timedelta(hours=3)).health_rules([bad])) == []
    assert list(RuleEvaluator(store, [], ["ops"], T0 + timedelta(hours=6)).health_rules([good])) == []
    again = list(RuleEvaluator(store, [], ["ops"], T0 + timedelta(days=2)).health_rules([bad]))
    assert len(again) == 1 and "blocked" in again[0].alert.title


def test_breakeven_rule_fires_when_buying_beats_renting_sooner(store: SqlStore) -> None:
    rule = RuleSettings(name="buy-now", kind="breakeven_below", sku="h100-80gb-sxm5", months=18, hysteresis=0.1)
    rows = [{"sku": "h100-80gb-sxm5", "months": 20.0, "purchase_usd": "24000.00", "rental_usd_per_gpu_hour": "2.20"}]
    assert list(RuleEvaluator(store, [rule], [], T0).breakeven_rules(rows)) == []
    rows[0]["months"] = 15.5
    fired = list(RuleEvaluator(store, [rule], [], T0 + timedelta(days=1)).breakeven_rules(rows))
    assert len(fired) == 1 and fired[0].alert.payload["months"] == 15.5
    rows[0]["months"] = 18.5  # inside the band (18 + 1.8): stays fired
    assert list(RuleEvaluator(store, [rule], [], T0 + timedelta(days=3)).breakeven_rules(rows)) == []
    rows[0]["months"] = None  # "never": no value, no change
    assert list(RuleEvaluator(store, [rule], [], T0 + timedelta(days=4)).breakeven_rules(rows)) == []
