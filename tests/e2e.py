"""Helpers for end-to-end tests: run the real ``gpuprices`` command in a child process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m gpuprices ARGS`` with the repository on the path; returns the finished process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("EBAY_", "GPUPRICES_CONFIG"))}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "gpuprices", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout, input=stdin)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def fast_crawl_config(database: Path, extra: str = "", *, rental: bool = False) -> str:
    """A config with no politeness delays (local test servers only).

    The public rental feeds (on by default for users) are switched off unless ``rental``: tests never
    touch the live web, and a test that wants rentals writes its own ``[sources.rental]`` table.
    """
    rental_off = "" if rental else "\n[sources.rental]\nenabled = false\n"
    return rental_off + f"""
[storage]
database = "{database}"

[crawl]
download_delay = 0
autothrottle = false
retry_times = 2
max_retry_after = 5
timeout = 20
{extra}
"""


def query(database: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    conn = sqlite3.connect(database)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()
