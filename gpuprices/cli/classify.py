"""``gpuprices classify`` and ``gpuprices reclassify``: what is being sold, and why."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from gpuprices.core.columns import CLASSIFICATION as CLASSIFY_FIELDS

if TYPE_CHECKING:
    from gpuprices.pipeline.enrich import Enricher

def _enricher(app: Any) -> Enricher:
    from gpuprices.pipeline.enrich import Enricher

    return Enricher.from_settings(app.settings.classify_options)


@click.command()
@click.argument("titles", nargs=-1)
@click.pass_obj
def classify(app: Any, titles: tuple[str, ...]) -> None:
    """Classify listing titles (arguments, or one per line on stdin); one JSON object per title."""
    from gpuprices.pipeline.classify import classify as classify_title
    from gpuprices.pipeline.classify import load_catalog

    # Without a config file the built-in catalog applies, and the configuration is not even read.
    catalog = load_catalog(extra=app.settings.catalog or None) if app.config_path else load_catalog()
    lines = titles or tuple(line.rstrip("\n") for line in sys.stdin if line.strip())
    for title in lines:
        result = classify_title(title, catalog=catalog)
        row: dict[str, Any] = {"title": title}
        for field in CLASSIFY_FIELDS:
            value = getattr(result, field)
            row[field] = getattr(value, "value", value)
        click.echo(json.dumps(row, ensure_ascii=False))


@click.command()
@click.pass_obj
def reclassify(app: Any) -> None:
    """Re-apply the current catalog, rules and quarantine to every stored listing and observation."""
    from gpuprices.pipeline.reclassify import reclassify_store
    from gpuprices.storage.factory import open_store

    enricher = _enricher(app)
    with open_store(app.settings.storage.database) as store:
        report = reclassify_store(store, enricher)
    click.echo(f"reclassified {report.listings} listings and {report.observations} observations:"
               f" {report.changed} changed class, {report.quarantine_changed} changed quarantine")


COMMANDS = [classify, reclassify]
