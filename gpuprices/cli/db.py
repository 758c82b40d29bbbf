"""``gpuprices db``: move a store between SQLite and PostgreSQL, and bring one to the current schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def _database(value: str) -> str | Path:
    return value if value.startswith(("postgresql://", "postgres://")) else Path(value)


@click.group(name="db")
def db_group() -> None:
    """Database maintenance: copy a store between backends, migrate the schema."""


@db_group.command(name="copy")
@click.argument("source")
@click.argument("destination")
@click.option("--batch", type=click.IntRange(min=1), default=5000, show_default=True, help="Rows per transaction.")
def copy_command(source: str, destination: str, batch: int) -> None:
    """Copy every table of SOURCE into DESTINATION (each a SQLite file or a postgresql:// URL).

    DESTINATION must be empty or an interrupted copy of SOURCE: running the same command again resumes
    it. Row counts are compared per table at the end; a difference exits with code 1.
    """
    from gpuprices.storage.copy import copy_store, verify
    from gpuprices.storage.factory import open_store

    if source == destination:
        raise click.UsageError("SOURCE and DESTINATION are the same database")
    if not source.startswith(("postgresql://", "postgres://")) and not Path(source).exists():
        raise click.UsageError(f"no such database: {source}")
    with open_store(_database(source)) as src, open_store(_database(destination)) as dest:
        results = copy_store(src, dest, batch=batch)
    for result in results:
        mark = "ok" if result.verified else "MISMATCH"
        click.echo(f"{result.table}: {result.copied} copied, {result.source_rows} in source, "
                   f"{result.destination_rows} in destination — {mark}")
    verify(results)


@db_group.command(name="migrate")
@click.argument("database", required=False)
@click.pass_obj
def migrate_command(app: Any, database: str | None) -> None:
    """Bring DATABASE (default: the configured one) to the current schema."""
    from gpuprices.storage.factory import migrate_store

    target = _database(database) if database else app.settings.storage.database
    before, after = migrate_store(target)
    click.echo(f"schema version {after}" + (f" (was {before})" if before != after else " (already current)"))


COMMANDS = [db_group]
