"""A throwaway PostgreSQL cluster on 127.0.0.1 (Debian's ``initdb``/``pg_ctl``), one per test session.

``initdb`` refuses to run as root: as root the cluster belongs to the ``postgres`` user (``runuser``).
Each test gets its own database, created from a template that already holds the migrated schema.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

_COUNTER = itertools.count(1)


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: the newest /usr/lib/postgresql/*/bin, else PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]),
                         reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """``start()`` → a superuser URL on 127.0.0.1; ``new_database()`` → a fresh, migrated database URL."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="gpuprices-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "gpuprices"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
            os.chmod(self.root, 0o700)
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--locale=C.UTF-8" if Path("/usr/lib/locale/C.utf8").exists() else "--locale=C")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.root} -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        self.admin_url = self.url("postgres")
        self._template()
        return self.admin_url

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _template(self) -> None:
        import psycopg

        from gpuprices.storage.postgres import PostgresStore

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE gpuprices_template")
        PostgresStore(self.url("gpuprices_template")).close()  # migrates

    def new_database(self) -> str:
        import psycopg

        name = f"test_{os.getpid()}_{next(_COUNTER)}"
        # FILE_COPY copies the small template's files; PostgreSQL 15's default (WAL_LOG) writes all
        # of it through the WAL, three times slower.
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE gpuprices_template STRATEGY FILE_COPY")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database of :meth:`new_database` (connections still open to it are ended)."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
