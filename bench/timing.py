"""What every benchmark reports: a ratio to a baseline measured in the same run, against a goal."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import attrs

REPEAT = max(5, int(os.environ.get("BENCH_REPEAT", "5")))


@attrs.frozen
class Timing:
    median: float
    min: float

    def __str__(self) -> str:
        return f"{_seconds(self.median)} (min {_seconds(self.min)})"


@attrs.frozen
class Result:
    ratio: float
    goal: float | None
    details: str

    @property
    def met(self) -> bool:
        return self.goal is None or self.ratio <= self.goal

    def line(self, name: str) -> str:
        goal = f"goal ≤ {self.goal:g}; " if self.goal is not None else ""
        return f"{name}: {self.ratio:.2f} x ({goal}{self.details})"


def measure(func: Callable[[], object], repeat: int = REPEAT, *, warmup: bool = True) -> Timing:
    """Median and min wall time of ``repeat`` runs (≥ 5) after one warm-up run."""
    if warmup:
        func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return Timing(statistics.median(times), min(times))


def alternate(ours: Callable[[], object], baseline: Callable[[], object],
              repeat: int = REPEAT) -> tuple[Timing, Timing]:
    """Both measured in turns (one warm-up each first), so a busy machine slows both alike."""
    ours()
    baseline()
    mine: list[float] = []
    base: list[float] = []
    for _ in range(repeat):
        for func, times in ((baseline, base), (ours, mine)):
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
    return Timing(statistics.median(mine), min(mine)), Timing(statistics.median(base), min(base))


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
