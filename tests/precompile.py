"""Compile the project and rewrite the test modules once, before the xdist workers start.

On a fresh checkout every worker would otherwise rewrite the asserts of every test module and compile
the project on its own while it collects: the same ~8 s of CPU four times over, all at once, before
the first test runs. Done here once, split across the cores, the workers find the caches written.

Rewriting uses pytest's own assertion rewriter (private API: ``_rewrite_test`` and ``_write_pyc``,
unchanged in form since pytest 7). Anything unexpected skips the step, and the workers do the work
as before: this only saves time.
"""

from __future__ import annotations

import compileall
import contextlib
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest


def _test_rewriter(config: pytest.Config) -> Callable[[Path], None] | None:
    try:
        from _pytest.assertion.rewrite import (
            PYC_TAIL,
            _read_pyc,
            _rewrite_test,
            _write_pyc,
            assertstate_key,
            get_cache_dir,
        )

        state = config.stash[assertstate_key]
    except (ImportError, KeyError):
        return None

    def rewrite(path: Path) -> None:
        pyc = get_cache_dir(path) / (path.name[:-3] + PYC_TAIL)
        if _read_pyc(path, pyc) is not None:  # already cached for this source
            return
        pyc.parent.mkdir(exist_ok=True)
        source_key, code = _rewrite_test(path, config)
        _write_pyc(state, code, source_key, pyc)

    return rewrite


def _share(work: list[Callable[[], Any]], part: int, parts: int) -> None:
    for job in work[part::parts]:
        # A module that does not compile fails later, in the worker, with its own error.
        with contextlib.suppress(Exception):
            job()


def precompile(config: pytest.Config, root: Path) -> None:
    """Write the project's bytecode and the rewritten test modules, one process a core."""
    rewrite = _test_rewriter(config)
    package = root / "gpuprices"
    # compileall does not follow the layer symlinks (gpuprices/spiders -> ../spiders): each is compiled where it lies.
    folders = [package, *sorted(p.resolve() for p in package.iterdir() if p.is_symlink() and p.is_dir())]
    sources = [p for folder in folders for p in sorted(folder.rglob("*.py"))]
    tests = [*sorted((root / "tests").glob("test_*.py")), root / "tests" / "conftest.py"]
    work: list[Callable[[], Any]] = [partial(rewrite, path) for path in tests] if rewrite is not None else []
    work += [partial(compileall.compile_file, str(path), quiet=2) for path in sources]
    parts = len(os.sched_getaffinity(0))
    children = []
    for part in range(1, parts):
        pid = os.fork()
        if pid == 0:  # the child does its share and leaves at once, running no pytest exit hooks
            try:
                _share(work, part, parts)
            finally:
                os._exit(0)
        children.append(pid)
    _share(work, 0, parts)
    for pid in children:
        os.waitpid(pid, 0)
