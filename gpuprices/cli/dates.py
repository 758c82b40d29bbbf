"""Date options shared by commands (``--date``, ``--since``)."""

from __future__ import annotations

from datetime import UTC, datetime

import click


def day_option_value(value: str | None, hint: str) -> datetime | None:
    """``YYYY-MM-DD`` (or an ISO time) as a UTC time; a usage error naming ``hint`` otherwise."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint=hint) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
