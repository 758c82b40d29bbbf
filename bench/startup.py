"""Command start-up: what every cron call and every ``gpuprices`` invocation pays before working.

* ``cli-help``: ``gpuprices --help`` vs the ``--help`` of a minimal click group (goal ≤ 3×).
* ``classify``: ``gpuprices classify TITLE`` vs a script that imports only the classifier and
  classifies the same title (goal ≤ 1.5×).

Both are whole processes, timed in turns (ours, baseline, ours, …) after a warm-up; the figure is
the median of the per-pair ratios, with the medians and minimums of each side.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLE = "NVIDIA H100 80GB PCIe Tensor Core GPU 900-21010-0000-000"

_MINIMAL_CLICK = '''
import click

@click.group()
def cli():
    """A minimal click command line."""

@cli.command()
def hello():
    """Say hello."""

cli()
'''

_CLASSIFIER_ONLY = f'''
from gpuprices.pipeline.classify import classify, load_catalog
print(classify({TITLE!r}, catalog=load_catalog()).sku)
'''


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
    return time.perf_counter() - start


def paired(ours: list[str], baseline: list[str], runs: int) -> dict[str, float]:
    """Whole-process wall times of ``ours`` and ``baseline`` in turns; medians, minimums, pair ratio."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    _time(ours, env), _time(baseline, env)  # warm-up: file cache, .pyc files
    mine, theirs = [], []
    for _ in range(runs):
        mine.append(_time(ours, env))
        theirs.append(_time(baseline, env))
    return {"ratio": statistics.median(m / t for m, t in zip(mine, theirs, strict=True)),
            "ours": statistics.median(mine), "ours_min": min(mine),
            "baseline": statistics.median(theirs), "baseline_min": min(theirs)}


def _line(result: dict[str, float], what: str, goal: float) -> str:
    return (f"{result['ratio']:.2f} x (goal ≤ {goal:g}; {what}: ours {result['ours'] * 1000:.0f} ms "
            f"(min {result['ours_min'] * 1000:.0f}) vs {result['baseline'] * 1000:.0f} ms "
            f"(min {result['baseline_min'] * 1000:.0f}), median of per-pair ratios)")


def _runs() -> int:
    return max(5, int(os.environ.get("BENCH_REPEAT", "7")))


def bench_cli_help() -> str:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "minimal_cli.py"
        script.write_text(_MINIMAL_CLICK, encoding="utf-8")
        result = paired([sys.executable, "-m", "gpuprices", "--help"], [sys.executable, str(script), "--help"],
                        _runs())
    return _line(result, "gpuprices --help vs a minimal click group's --help", 3)


def bench_classify() -> str:
    result = paired([sys.executable, "-m", "gpuprices", "classify", TITLE],
                    [sys.executable, "-c", _CLASSIFIER_ONLY], _runs())
    return _line(result, "gpuprices classify TITLE vs a script importing only the classifier", 1.5)


GOALS = {"cli-help": 3.0, "classify": 1.5}
BENCHMARKS = {"cli-help": bench_cli_help, "classify": bench_classify}

if __name__ == "__main__":
    for name, bench in BENCHMARKS.items():
        print(f"{name}: {bench()}", flush=True)
