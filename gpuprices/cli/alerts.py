"""``gpuprices alerts``: send a test alert, list recent alerts and their deliveries, retry dead ones."""

from __future__ import annotations

import sys
import uuid
from typing import Any

import click

from gpuprices.cli.output import write_rows
from gpuprices.exceptions import NoDataError

LIST_COLUMNS = ("created_at", "rule", "key", "title", "channel", "status", "attempts", "next_attempt_at",
                "last_error", "delivery_id")
_TIME_COLUMNS = {"created_at", "next_attempt_at"}
_TABLE_WIDTHS = {"title": 40, "last_error": 60, "key": 30}


@click.group()
def alerts() -> None:
    """Alert delivery: send a test alert, list recent alerts and delivery state, retry dead deliveries."""


@alerts.command("test")
@click.option("--channel", "channel_names", multiple=True, metavar="NAME",
              help="Only this configured channel (repeatable). Default: every channel.")
@click.pass_obj
def test_alert(app: Any, channel_names: tuple[str, ...]) -> None:
    """Send a sample alert now through the outbox to each channel and report delivered or failed.

    Exit code 1 when any channel failed. A failed sample alert is not retried later.
    """
    from gpuprices.alerts.outbox import Alert, Outbox, utc_now
    from gpuprices.storage.factory import open_store

    settings = app.settings.alerts
    configured = [c.name for c in settings.channels]
    if not configured:
        raise click.UsageError("no alert channels configured ([[alerts.channels]] in the config file)")
    unknown = [n for n in channel_names if n not in configured]
    if unknown:
        raise click.BadParameter(f"unknown channel {unknown[0]!r}; configured: {', '.join(configured)}",
                                 param_hint="--channel")
    names = list(dict.fromkeys(channel_names)) or configured
    now = utc_now()
    alert = Alert(rule="test", kind="test", key="test", dedupe_key=f"test:{uuid.uuid4().hex}",
                  title="gpuprices test alert",
                  payload={"message": "If you can read this, gpuprices alerts reach this channel.",
                           "sent_at": now.isoformat(timespec="seconds")})
    with open_store(app.settings.storage.database) as store, Outbox(store, settings) as outbox:
        alert_id = outbox.enqueue(alert, names)
        assert alert_id is not None  # the dedupe key is fresh
        outbox.deliver_due(alert_id=alert_id)
        outbox.abandon(alert_id, "test alert, not retried")
        rows = outbox.recent(len(names), alert_id=alert_id)
    failed = 0
    for row in rows:
        if row["status"] == "delivered":
            click.echo(f"{row['channel']}: delivered")
        else:
            failed += 1
            click.echo(f"{row['channel']}: failed: {row['last_error'] or 'unknown error'}")
    if failed:
        click.get_current_context().exit(1)


def _cell(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    text = "" if value is None else " ".join(str(value).split())
    if column in _TIME_COLUMNS and text:
        text = text[:19].replace("T", " ")  # UTC; seconds are enough to read
    width = _TABLE_WIDTHS.get(column)
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[dict[str, Any]]) -> None:
    cells = [[_cell(row, c) for c in LIST_COLUMNS] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(LIST_COLUMNS)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(LIST_COLUMNS, widths, strict=True)).rstrip())
    for line in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


@alerts.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Show at most this many deliveries (newest alerts first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="A table for reading, JSON lines or CSV for scripts.")
@click.pass_obj
def list_alerts(app: Any, limit: int, fmt: str) -> None:
    """List recent alerts with each delivery's status, attempts, next attempt and last error."""
    from gpuprices.alerts.outbox import Outbox
    from gpuprices.storage.factory import open_store

    with open_store(app.settings.storage.database) as store, Outbox(store, app.settings.alerts) as outbox:
        rows = outbox.recent(limit)
        counts = outbox.summary()
    if fmt == "table":
        if rows:
            _table(rows)
        click.echo(", ".join(f"{count} {status}" for status, count in counts.items()), err=True)
    else:
        write_rows(rows, fmt, sys.stdout, columns=LIST_COLUMNS if fmt == "csv" else None)


@alerts.command("retry")
@click.option("--id", "delivery_ids", multiple=True, type=int, metavar="N",
              help="Delivery id to re-queue (repeatable; see `alerts list`). Default: every dead delivery.")
@click.pass_obj
def retry_alerts(app: Any, delivery_ids: tuple[int, ...]) -> None:
    """Re-queue dead deliveries (same webhook-id, fresh deadline) and try them once now."""
    from gpuprices.alerts.outbox import Outbox
    from gpuprices.storage.factory import open_store

    with open_store(app.settings.storage.database) as store, Outbox(store, app.settings.alerts) as outbox:
        requeued = outbox.retry(list(delivery_ids) if delivery_ids else None)
        if delivery_ids and not requeued:  # the ids named nothing to retry: say so, not "re-queued 0"
            which = ", ".join(f"#{number}" for number in delivery_ids)
            raise NoDataError(f"no dead delivery {which} to retry: no such delivery, or it is not dead "
                              "(see `gpuprices alerts list`)")
        report = outbox.deliver_due()
    click.echo(f"re-queued {requeued}; delivered {report.delivered}, will retry {report.retried},"
               f" dead {report.dead}")


COMMANDS = [alerts]
