"""The ``gpuprices`` command: one click group, one module per family of commands.

Exit codes: 0 success, 1 an operation failed (e.g. every page of a crawl was blocked),
2 bad configuration or usage, 3 a blocked page given to ``parse``.
"""

from __future__ import annotations

import logging
import sys

import click

from gpuprices.config import CONFIG_ENV, Settings, load_settings
from gpuprices.exceptions import BlockedPageError, ConfigError, GpupricesError


class AppContext:
    """Shared state of one invocation; the configuration is read on first use."""

    def __init__(self, config_path: str | None, verbose: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar=CONFIG_ENV,
              help=f"TOML configuration file (also ${CONFIG_ENV}). Without one the built-in defaults apply.")
@click.option("-v", "--verbose", is_flag=True, help="Log more (Scrapy's INFO messages included).")
@click.version_option(package_name="gpuprices")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Data-center GPU resale prices: crawl, normalize, classify, index, alert, export."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")
    ctx.obj = AppContext(config_path, verbose)


COMMAND_MODULES = ("crawl", "parse", "export", "classify", "archive", "sources", "monitor", "market", "rental",
                   "alerts", "db", "workers")
"""Modules of ``gpuprices.cli`` whose ``COMMANDS`` are registered, in help order."""


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        module = importlib.import_module(f"gpuprices.cli.{name}")
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: errors become one line on stderr and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="gpuprices", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"gpuprices: {exc}", err=True)
        sys.exit(2)
    except BlockedPageError as exc:
        click.echo(f"gpuprices: {exc}", err=True)
        sys.exit(3)
    except GpupricesError as exc:
        click.echo(f"gpuprices: {exc}", err=True)
        sys.exit(1)
