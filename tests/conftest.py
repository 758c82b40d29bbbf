"""Shared fixtures: the real-page corpus, a fresh store, a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpuprices.storage.sqlite import SqliteStore

_DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"


def corpus_root() -> Path | None:
    """The real-page corpus (env ``GPUPRICES_CORPUS``, default ``../shared/fixtures``), if present."""
    root = Path(os.environ.get("GPUPRICES_CORPUS", str(_DEFAULT_CORPUS)))
    return root if root.is_dir() else None


def corpus_site(name: str) -> str:
    """The eBay site a corpus page was saved from, as its file name says."""
    if "ebay-de" in name:
        return "ebay.de"
    if "ebay-co-uk" in name:
        return "ebay.co.uk"
    return "ebay.com"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Path of the corpus; tests that need it skip when it is absent (a user's clone).

    ``GPUPRICES_REQUIRE_CORPUS=1`` (set by ``.ci/run``) turns the skip into a failure.
    """
    root = corpus_root()
    if root is None:
        if os.environ.get("GPUPRICES_REQUIRE_CORPUS") == "1":
            pytest.fail("GPUPRICES_REQUIRE_CORPUS=1 but the corpus folder is missing")
        pytest.skip("real-page corpus not found (set GPUPRICES_CORPUS)")
    return root


@pytest.fixture
def fresh_db(tmp_path: Path) -> Iterator[SqliteStore]:
    """An empty store with the current schema, closed after the test."""
    with SqliteStore(tmp_path / "test.db") as store:
        yield store


@pytest.fixture
def cli_runner() -> CliRunner:
    """click's runner for in-process command tests (``cli_runner.invoke(cli, [...])``)."""
    return CliRunner()
