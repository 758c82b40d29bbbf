"""The daily index's input rows on PostgreSQL: :meth:`IndexTables.index_observations` in its SQL.

The same rows as SQLite's (:mod:`storage.index`): one per listing × side × day key, the latest
sighting of it (``DISTINCT ON`` where SQLite keeps the bare columns of the ``MAX`` row), day keys as
days since 1970-01-01 (``-1``: an undated sale) and ``pick`` as a julian day (minus that of the first
sighting of an undated sale). The market computes the statistics from them on either backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from gpuprices.storage.index import COUNTS

if TYPE_CHECKING:
    from .postgres import PostgresStore  # relative: see storage/outbox.py

_JULIAN = "(EXTRACT(EPOCH FROM o.observed_at) / 86400.0 + 2440587.5)"
_SELECT = f"""SELECT DISTINCT ON (listing_id, sold, day_key) * FROM (
SELECT o.listing_id AS listing_id,
       o.sold AS sold,
       CASE WHEN o.sold = 0 THEN FLOOR(EXTRACT(EPOCH FROM o.observed_at) / 86400)::bigint
            ELSE COALESCE((o.sold_at - DATE '1970-01-01')::bigint, -1) END AS day_key,
       (CASE WHEN o.sold = 1 AND o.sold_at IS NULL THEN -{_JULIAN} ELSE {_JULIAN} END)::double precision AS pick,
       CASE WHEN o.condition IN ('new', 'open_box') THEN 1 ELSE 0 END AS is_new,
       o.unit_price_usd::double precision AS unit_price_usd,
       o.sku AS sku,
       l.seller AS seller,
       o.source AS source
FROM observations AS o JOIN listings AS l ON l.id = o.listing_id
WHERE {{where}}) AS candidates
ORDER BY listing_id, sold, day_key, pick DESC"""

_WINDOW = _SELECT.format(where=f"o.observed_at >= %(since)s AND o.observed_at < %(until_excl)s AND {COUNTS}"
                         " {sku_filter}")
_MATERIALIZE = (
    "(" + _SELECT.format(where="o.sold = 0 AND o.observed_at >= %(since)s AND o.observed_at < %(until_excl)s"
                               f" AND {COUNTS}")
    + ")\nUNION ALL\n(" + _SELECT.format(where=f"""o.sold = 1 AND {COUNTS} AND o.listing_id IN (
    SELECT s.listing_id FROM observations AS s WHERE s.sold = 1 AND s.sold_at >= %(since)s
      AND s.sold_at < %(until_excl)s
    UNION
    SELECT s.listing_id FROM observations AS s WHERE s.sold = 1 AND s.sold_at IS NULL
      AND s.observed_at >= %(since)s AND s.observed_at < %(until_excl)s)""") + ")")
_CHUNK_ROWS = 100_000


def observations(store: PostgresStore, since: date, until: date, *, sku: str | None,
                 everything_known: bool) -> Iterator[list[tuple[Any, ...]]]:
    params = {"since": since.isoformat(), "until_excl": (until + timedelta(days=1)).isoformat(), "sku": sku}
    if everything_known:
        sql = _MATERIALIZE
    else:
        sql = _WINDOW.replace("{sku_filter}", "AND o.sku = %(sku)s" if sku is not None else "")
    # A server-side cursor (bounded memory) needs a transaction; a read-only one takes no locks.
    with store.conn.transaction(), store.conn.cursor(name="gpuprices_index") as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_CHUNK_ROWS):
            yield rows
