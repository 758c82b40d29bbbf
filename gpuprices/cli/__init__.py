"""The ``gpuprices`` command: one click group, one module per family of commands.

Exit codes: 0 success, 1 an operation failed (e.g. every page of a crawl was blocked),
2 bad configuration or usage or an unusable database, 3 a blocked page given to ``parse``, 4 no data (nothing to show),
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import sys
from typing import TYPE_CHECKING

import click

from gpuprices import CONFIG_ENV
from gpuprices.exceptions import BlockedPageError, ConfigError, DatabaseUnusableError, GpupricesError, NoDataError

NO_DATA = 4
"""Exit code of every command that has nothing to show (see :class:`~gpuprices.exceptions.NoDataError`)."""

if TYPE_CHECKING:
    from gpuprices.config import Settings

NO_DATA = 4
"""Exit code of every command that has nothing to show (see :class:`~gpuprices.exceptions.NoDataError`)."""


class AppContext:
    """Shared state of one invocation; the configuration is read on first use."""

    def __init__(self, config_path: str | None, verbose: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from gpuprices.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or help lists it), so start-up pays
    for click and nothing else; heavy libraries are imported inside the commands that use them."""

    def __init__(self, *args: object, modules: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.modules = modules

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.modules, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self.modules.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        for command in importlib.import_module(f"gpuprices.cli.{module}").COMMANDS:
            if command.name == cmd_name:
                return command
        raise LookupError(f"gpuprices.cli.{module} has no command {cmd_name!r}")


COMMAND_MODULES = {
    "crawl": "crawl", "parse": "parse", "export": "export", "classify": "classify", "reclassify": "classify",
    "reparse": "archive", "sources": "sources", "watch": "sources", "run": "monitor", "status": "monitor",
    "premium": "market", "chart": "market", "rental": "rental", "breakeven": "rental", "alerts": "alerts",
    "serve": "serve", "import": "importing", "skus": "skus", "db": "db", "deploy": "workers",
}
"""Command name → module of ``gpuprices.cli`` that defines it (in its ``COMMANDS``), in help order."""


@click.group(cls=LazyGroup, modules=COMMAND_MODULES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar=CONFIG_ENV,
              help=f"TOML configuration file (also ${CONFIG_ENV}). Without one the built-in defaults apply.")
@click.option("-v", "--verbose", is_flag=True, help="Log more (Scrapy's INFO messages included).")
@click.version_option(package_name="gpuprices")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Data-center GPU resale prices: crawl, normalize, classify, index, alert, export."""
    _log_to_stderr(verbose)
    ctx.obj = AppContext(config_path, verbose)


def run(argv: list[str] | None = None) -> int:
    """Run one command; errors become one line on stderr. Returns the exit code."""
    try:
        code = cli.main(args=argv, prog_name="gpuprices", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ConfigError as exc:
        click.echo(f"gpuprices: {exc}", err=True)
        return 2
    except BlockedPageError as exc:
        click.echo(f"gpuprices: {exc}", err=True)
        return 3
    except NoDataError as exc:
        click.echo(f"gpuprices: {exc}", err=True)
        return NO_DATA
    except DatabaseUnusableError as exc:
        click.echo(f"gpuprices: {exc}", err=True)
        return 2
    except sqlite3.DatabaseError as exc:  # a query deep in a command met a damaged page
        from gpuprices.storage.sqlite import storage_error

        error = storage_error("database error", exc)
        click.echo(f"gpuprices: {error}", err=True)
        return 2 if isinstance(error, DatabaseUnusableError) else 1
    except GpupricesError as exc:
        click.echo(f"gpuprices: {exc}", err=True)
        return 1


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run(argv))


_handler: logging.Handler | None = None


def _log_to_stderr(verbose: bool) -> None:
    """Our log lines go to this invocation's stderr (``basicConfig`` would keep an earlier stream)."""
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(_handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
