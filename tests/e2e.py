"""Helpers for end-to-end tests: run the real ``gpuprices`` command in a child process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _needs_process(command: str, args: tuple[str, ...]) -> bool:
    """The daemon (``run`` without ``--once``) installs signal handlers and may ``os._exit``: it runs
    as a real process. Everything else runs in this process; a crawl's child process still starts,
    and its output reaches the captured streams through the parent (``processes.ChildOutput``)."""
    return command == "run" and "--once" not in args


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240,
            stdin: str | None = None, process: bool | None = None) -> subprocess.CompletedProcess[str]:
    """``gpuprices ARGS`` in ``cwd`` with the repository on the path; returns the finished command.

    Runs in this process (click's test runner: the same code, without paying Python's and the
    libraries' start-up for every call) unless ``process`` or the command is the daemon.
    """
    command = next((arg for arg in args if not arg.startswith("-") and arg not in _option_values(args)), "")
    if process is None:
        process = _needs_process(command, args)
    # The command (and a crawl's child) imports the project from this tree.
    on_path = {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if process:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("EBAY_", "GPUPRICES_CONFIG"))}
        full_env.update(on_path | (env or {}))
        return subprocess.run([sys.executable, "-m", "gpuprices", *args], cwd=cwd, env=full_env, text=True,
                              capture_output=True, timeout=timeout, input=stdin)
    return _run_in_process(list(args), cwd=cwd, env=on_path | (env or {}), stdin=stdin)


def _option_values(args: tuple[str, ...]) -> set[str]:
    """Values of the group options that take one (``--config FILE``), not command names."""
    return {args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--config"}


def _run_in_process(args: list[str], *, cwd: Path, env: dict[str, str],
                    stdin: str | None) -> subprocess.CompletedProcess[str]:
    from click.testing import CliRunner

    from gpuprices.cli import run

    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("EBAY_", "GPUPRICES_CONFIG"))}
    previous = Path.cwd()
    runner = CliRunner()
    with runner.isolation(input=stdin, env={**cleared, **env}) as (out, err, _):
        os.chdir(cwd)
        try:
            code = run(args)
        except SystemExit as exc:  # a command may still exit on its own
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # what a real process would print before exiting 1
            traceback.print_exc()
            code = 1
        finally:
            os.chdir(previous)
            sys.stdout.flush()
            sys.stderr.flush()
        return subprocess.CompletedProcess(["gpuprices", *args], code, out.getvalue().decode(),
                                           err.getvalue().decode())


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
