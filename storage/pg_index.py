"""The daily index computed by PostgreSQL: the counting rules and the statistics in one SQL text.

The rules are those of :mod:`market.index` (which documents them): one sighting per listing × side ×
day (its latest price that day; an undated sale its earliest sighting, on the day first seen, and not
at all when some sighting dates that sale), sales on their sale day. ``percentile_cont`` interpolates
linearly, as numpy's default quantile does, so both backends give the same medians and quartiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from gpuprices.storage.values import INDEX_COUNTS, Sightings

if TYPE_CHECKING:
    from .postgres import PostgresStore  # relative: see storage/outbox.py

SIGHTING_COLUMNS = ("day", "sku", "side", "condition_group", "unit_price_usd", "listing_id", "seller", "source")

_SIGHTINGS = """
WITH candidates AS (
    SELECT o.listing_id, o.sold, o.observed_at,
           CASE WHEN o.sold = 0 THEN (o.observed_at AT TIME ZONE 'UTC')::date ELSE o.sold_at END AS sale_day,
           CASE WHEN o.condition IN ('new', 'open_box') THEN 'new' ELSE 'used' END AS condition_group,
           o.unit_price_usd::double precision AS unit_price_usd, o.sku, l.seller, o.source
    FROM observations AS o JOIN listings AS l ON l.id = o.listing_id
    WHERE o.observed_at >= %(since)s AND o.observed_at < %(until_excl)s
      AND {counts} {sku_filter}
),
picked AS (  -- NULL sale_day (an undated sale) is one group; its earliest sighting, else the latest
    SELECT DISTINCT ON (listing_id, sold, sale_day) *
    FROM candidates
    ORDER BY listing_id, sold, sale_day,
             CASE WHEN sold = 1 AND sale_day IS NULL THEN observed_at END ASC NULLS LAST,
             observed_at DESC
),
sightings AS (
    SELECT COALESCE(p.sale_day, (p.observed_at AT TIME ZONE 'UTC')::date) AS day, p.sku,
           CASE WHEN p.sold = 1 THEN 'sold' ELSE 'asking' END AS side, p.condition_group, p.unit_price_usd,
           p.listing_id, p.seller, p.source
    FROM picked AS p
    WHERE NOT (p.sold = 1 AND p.sale_day IS NULL AND EXISTS (
        SELECT 1 FROM picked AS q WHERE q.listing_id = p.listing_id AND q.sold = 1 AND q.sale_day IS NOT NULL))
)
"""
_WINDOW = "WHERE day >= %(since)s AND day < %(until_excl)s"
_ROWS = f"SELECT {', '.join(SIGHTING_COLUMNS)} FROM sightings {_WINDOW} ORDER BY day, listing_id, side"
_STATISTICS = f"""
SELECT day, sku, side, CASE WHEN GROUPING(condition_group) = 1 THEN 'all' ELSE condition_group END
           AS condition_group,
       COUNT(*) AS n, COUNT(DISTINCT seller) AS sellers,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY unit_price_usd) AS median_usd,
       percentile_cont(0.25) WITHIN GROUP (ORDER BY unit_price_usd) AS p25_usd,
       percentile_cont(0.75) WITHIN GROUP (ORDER BY unit_price_usd) AS p75_usd,
       MIN(unit_price_usd) AS min_usd
FROM sightings {_WINDOW}
GROUP BY GROUPING SETS ((day, sku, side, condition_group), (day, sku, side))
"""
_CHUNK_ROWS = 100_000


def _text(body: str, sku: str | None) -> str:
    return _SIGHTINGS.format(counts=INDEX_COUNTS, sku_filter="AND o.sku = %(sku)s" if sku is not None else "") + body


def _params(since: date, until_excl: date, sku: str | None) -> dict[str, Any]:
    return {"since": since, "until_excl": until_excl, "sku": sku}


def sightings(store: PostgresStore, since: date, until_excl: date, sku: str | None) -> Sightings:
    return Sightings(columns=SIGHTING_COLUMNS, chunks=_chunks(store, since, until_excl, sku), final=True)


def _chunks(store: PostgresStore, since: date, until_excl: date, sku: str | None) -> Iterator[list[tuple[Any, ...]]]:
    with store.conn.transaction(), store.conn.cursor(name="gpuprices_sightings") as cursor:
        cursor.execute(_text(_ROWS, sku), _params(since, until_excl, sku))
        while rows := cursor.fetchmany(_CHUNK_ROWS):
            yield rows


def statistics(store: PostgresStore, since: date, until_excl: date, sku: str | None) -> list[dict[str, Any]]:
    """One row per day × SKU × side × condition group (and ``all``): n, sellers, median, p25, p75, min."""
    from psycopg.rows import dict_row

    with store.conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(_text(_STATISTICS, sku), _params(since, until_excl, sku))
        return cursor.fetchall()
