"""``gpuprices sources`` and ``gpuprices watch``: what is crawled, and the watch lists."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from gpuprices.cli.output import plural

if TYPE_CHECKING:
    from gpuprices.storage.base import Store



def _watched(store: Store) -> dict[str, list[str]]:
    from gpuprices.sources import watch_lists

    return watch_lists(store)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Human-readable lines or one JSON object per source.")
@click.pass_obj
def sources(app: Any, fmt: str) -> None:
    """List the sources with their state (ready, off, idle: nothing to crawl, not runnable), last crawl,
    and why a source cannot run (API keys missing, robots.txt disallows its pages)."""
    from gpuprices.sources import describe, source_states
    from gpuprices.storage.factory import open_store

    with open_store(app.settings.storage.database) as store:
        lasts = {row["source"]: row for row in store.last_crawls()}
        states = source_states(app.settings, _watched(store))
    for state in states:
        row = describe(state, lasts.get(state.name))
        if fmt == "json":
            click.echo(json.dumps(row))
            continue
        flag = "ready" if state.ready else "off" if not state.enabled else "idle" if state.idle else "not runnable"
        last = f"last crawl {row['last_crawl']} {row['last_status']} ({plural(row['last_listings'] or 0, 'listing')})" \
            if row["last_crawl"] else "never crawled"
        why = f" — {state.needs}" if state.needs else ""
        click.echo(f"{state.name:13} {flag:13} {state.description}; {last}{why}")


@click.group()
def watch() -> None:
    """Watch lists: eBay item pages and retailer product pages crawled on every cycle."""


@watch.command("add")
@click.argument("urls", nargs=-1, required=True)
@click.pass_obj
def watch_add(app: Any, urls: tuple[str, ...]) -> None:
    """Watch eBay item URLs (or ids) and retailer product page URLs."""
    from gpuprices.sources import watch_target
    from gpuprices.storage.factory import open_store

    with open_store(app.settings.storage.database) as store:
        for url in urls:
            try:
                source, target = watch_target(url)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="URL") from None
            added = store.add_watch(source, target)
            click.echo(f"{source}: {'watching' if added else 'already watching'} {target}")


@watch.command("list")
@click.pass_obj
def watch_list(app: Any) -> None:
    """Show the watch lists (the config's and the ones added with `watch add`)."""
    from gpuprices.storage.factory import open_store

    settings = app.settings
    with open_store(settings.storage.database) as store:
        stored = _watched(store)
    from gpuprices import sources as registry

    for source in registry.watchable():
        section = registry.get(source).settings_of(settings)
        configured = getattr(section, "items", None) or getattr(section, "urls", None) or []
        for target in configured:
            click.echo(f"{source}\t{target}\t(config)")
        for target in stored[source]:
            click.echo(f"{source}\t{target}")


@watch.command("remove")
@click.argument("urls", nargs=-1, required=True)
@click.pass_obj
def watch_remove(app: Any, urls: tuple[str, ...]) -> None:
    """Stop watching URLs added with `watch add` (config entries are edited in the config)."""
    from gpuprices.sources import watch_target
    from gpuprices.storage.factory import open_store

    with open_store(app.settings.storage.database) as store:
        for url in urls:
            source, target = watch_target(url)
            removed = store.remove_watch(source, target)
            click.echo(f"{source}: {'removed' if removed else 'was not watched'} {target}")


COMMANDS = [sources, watch]
