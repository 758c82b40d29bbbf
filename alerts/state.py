"""The per rule × key state machine: fire once, re-arm after recovery past a hysteresis band.

``armed`` --condition true (and cooldown over)--> ``fired`` (one alert)
``fired`` --value recovered past the band--> ``armed``
Anything else keeps the state, so a condition that stays true never repeats its alert, and a
value hovering at the threshold does not flap. The state lives in the database (restart-safe).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

ARMED = "armed"
FIRED = "fired"


@attrs.define
class RuleState:
    """Stored state of one rule × key."""

    state: str = ARMED
    last_value: float | None = None
    last_fired_at: datetime | None = None


@attrs.frozen
class Threshold:
    """A condition on one value: ``value < limit`` (``below``) or ``value > limit`` (``above``)."""

    limit: float
    direction: str
    """``below`` or ``above``."""
    band: float
    """Hysteresis: how far past the limit the value must come back before re-arming (same unit)."""

    def triggered(self, value: float) -> bool:
        return value < self.limit if self.direction == "below" else value > self.limit

    def recovered(self, value: float) -> bool:
        if self.direction == "below":
            return value >= self.limit + self.band
        return value <= self.limit - self.band


def step(state: RuleState, *, triggered: bool, recovered: bool, value: float | None, now: datetime,
         cooldown: timedelta) -> tuple[RuleState, bool]:
    """Advance the machine; returns the new state and whether to send an alert now."""
    fire = False
    new = RuleState(state=state.state, last_value=value, last_fired_at=state.last_fired_at)
    if state.state == ARMED:
        cooling = state.last_fired_at is not None and now - state.last_fired_at < cooldown
        if triggered and not cooling:
            new.state = FIRED
            new.last_fired_at = now
            fire = True
    elif recovered:
        new.state = ARMED
    return new, fire
