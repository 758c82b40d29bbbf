"""Benchmarks: each prints ``NAME: RATIO x (goal ≤ G; details)``, RATIO = our time (or memory) over a
baseline's for the same work, both measured in this run (medians of ≥ 5 runs after a warm-up, with
their min; lower is better). Exits 1 when a goal is missed.

    python bench/run.py                 # all benchmarks
    python bench/run.py export crawl    # some

History benchmarks use cached databases (bench/data.py, under $GPUPRICES_BENCH_CACHE, default
/work/benchcache): the first run builds them (10 M observations take a while).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import Result  # noqa: E402


def _legacy(func: Callable[[], str]) -> Callable[[], Result]:
    """Benchmarks that print their own text: ``RATIO x (... goal <= G)`` or ``RATIO x (goal ≤ G; ...)``."""
    def run() -> Result:
        text = func()
        ratio = float(text.split(" x", 1)[0])
        goal = re.search(r"goal (?:<=|≤) ([0-9.]+)", text)
        details = re.sub(r";? ?goal (?:<=|≤) [0-9.]+;? ?", "", text.split("(", 1)[1].rstrip(")"))
        return Result(ratio, float(goal.group(1)) if goal else None, details)
    return run


def benchmarks() -> dict[str, Callable[[], Result]]:
    from bench import crawl, history, monitor, pipeline, postgres, startup

    return {
        "history": history.bench_history,
        "cycle": history.bench_cycle,
        "cycle-growth": history.bench_cycle_growth,
        "chart-rss": history.bench_chart_rss,
        "export": history.bench_export,
        "crawl": crawl.bench_crawl,
        "ingest": pipeline.bench_ingest,
        "parse": pipeline.bench_parse,
        "startup": pipeline.bench_startup,
        "cli-help": _legacy(startup.bench_cli_help),
        "classify": _legacy(startup.bench_classify),
        "rebuild": history.bench_rebuild,
        "daemon-memory": _legacy(monitor.bench_daemon_memory),
        "alert-latency": _legacy(monitor.bench_alert_latency),
        "pg-ingest": _legacy(postgres.bench_pg_ingest),
        "pg-analytics": _legacy(postgres.bench_pg_analytics),
    }


def main(names: list[str]) -> int:
    known = benchmarks()
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    missed = []
    for name in names or list(known):
        result = known[name]()
        print(result.line(name), flush=True)
        if not result.met:
            missed.append(name)
    if missed:
        print(f"goals missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
