"""Shared fixtures: the real-page corpus, a fresh SQLite store, a CLI runner, a throwaway PostgreSQL
cluster, and a fresh store of each backend."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gpuprices.storage.sqlite import SqliteStore

# Tests press Ctrl-C (SIGINT) on the programs they start. A shell that runs pytest as a background job
# starts it with SIGINT ignored, and an ignored signal stays ignored in every child; a handled one is
# reset to the default on exec, so handling it here gives the children a working Ctrl-C.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A PostgreSQL cluster for the session (see tests/postgres_server.py); skips when the server is not
    installed, unless ``GPUPRICES_REQUIRE_POSTGRES=1`` (set by ``.ci/run``)."""
    from tests.postgres_server import PostgresCluster, find_binaries

    binaries = find_binaries()
    if binaries is None:
        if os.environ.get("GPUPRICES_REQUIRE_POSTGRES") == "1":
            pytest.fail("GPUPRICES_REQUIRE_POSTGRES=1 but initdb/pg_ctl were not found")
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg not installed")
    cluster = PostgresCluster(binaries)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """A fresh database setting of each backend: a SQLite file path, or a PostgreSQL URL (dropped
    after the test, so that the cluster stays small)."""
    if request.param == "sqlite":
        yield tmp_path / "store.db"
        return
    cluster = request.getfixturevalue("postgres")
    url = cluster.new_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def store(database: str | Path) -> Iterator[Any]:
    """A fresh, migrated store of each backend."""
    from gpuprices.storage.factory import open_store

    with open_store(database) as opened:
        yield opened


# The files that take longest (their own processes, servers and waits), longest first. Workers take
# whole files in collection order (``--dist loadfile --no-loadscope-reorder``): started first, these
# overlap the many short files instead of being left to run alone at the end.
_LONG_FILES = ("test_faults_system.py", "test_faults_crawl.py", "test_daemon_signals.py", "test_mutated_pages.py",
               "test_daemon.py", "test_edges.py", "test_index_materialized.py", "test_properties.py",
               "test_market.py", "test_web_browser.py", "test_scrapyd.py", "test_crawl_search_e2e.py",
               "test_rental.py", "test_delivery.py", "test_archive.py", "test_chaos_soak.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return _LONG_FILES.index(name) if name in _LONG_FILES else len(_LONG_FILES)

    items.sort(key=rank)  # stable: each file keeps its own order


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """In the xdist controller, before its workers start: compile once for all of them (tests/precompile.py)."""
    config = session.config
    if not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no":
        from tests.precompile import precompile

        precompile(config, Path(__file__).resolve().parent.parent)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers a core. Most tests wait on child processes, local servers and
    retries rather than compute, so a core has room for a second worker."""
    return 2 * len(os.sched_getaffinity(0))
