"""``gpuprices deploy``: upload the project to the Scrapyd workers of ``[workers]``."""

from __future__ import annotations

from typing import Any

import click


@click.command(name="deploy")
@click.option("--version", default=None, help="Version label of the upload (default: the current Unix time).")
@click.pass_obj
def deploy_command(app: Any, version: str | None) -> None:
    """Build the project egg (scrapyd-client) and upload it to every worker in workers.urls."""
    from gpuprices.scrapyd_jobs import deploy

    for line in deploy(app.settings.workers, version):
        click.echo(line)


COMMANDS = [deploy_command]
