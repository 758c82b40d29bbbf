"""The raw page archive: fetched pages compressed (zlib) with URL, time, HTTP status and crawl id."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from gpuprices.core.items import CapturedPage
from gpuprices.storage.sqlite import SqliteStore, utcnow


@attrs.frozen(kw_only=True)
class ArchivedPage(CapturedPage):
    """One archived page, decompressed; ``meta`` is what the spider knew about the request (query,
    page number, sold view)."""

    id: int
    crawl_id: int
    source: str
    content_type: str | None
    encoding: str | None


def archive_page(store: SqliteStore, *, crawl_id: int, source: str, url: str, status: int, body: bytes,
                 content_type: str | None = None, encoding: str | None = None,
                 meta: dict[str, Any] | None = None) -> int:
    with store._transaction():
        cursor = store.db.execute(
            "INSERT INTO raw_pages (crawl_id, source, url, fetched_at, status, content_type, encoding, size, body,"
            " meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [crawl_id, source, url, utcnow(), status, content_type, encoding, len(body), zlib.compress(body, 6),
             json.dumps(meta or {}, sort_keys=True)])
    return int(cursor.lastrowid or 0)


def archived_pages(store: SqliteStore, *, source: str | None = None, since: str | None = None,
                   crawl_id: int | None = None) -> Iterator[ArchivedPage]:
    """Archived pages in fetch order (decompressed one at a time: the archive can be large)."""
    where: list[str] = []
    params: list[Any] = []
    if source:
        where.append("source = ?")
        params.append(source)
    if since:
        where.append("fetched_at >= ?")
        params.append(since)
    if crawl_id is not None:
        where.append("crawl_id = ?")
        params.append(crawl_id)
    sql = "SELECT id FROM raw_pages" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    for (page_id,) in store.db.execute(sql, params).fetchall():
        record = next(iter(store.db.query("SELECT * FROM raw_pages WHERE id = ?", [page_id])))
        yield ArchivedPage(id=record["id"], crawl_id=record["crawl_id"], source=record["source"], url=record["url"],
                           fetched_at=datetime.fromisoformat(record["fetched_at"]), status=record["status"],
                           content_type=record["content_type"], encoding=record["encoding"],
                           body=zlib.decompress(record["body"]), meta=json.loads(record["meta"] or "{}"))


def latest_archived_crawl(store: SqliteStore, source: str) -> int | None:
    row = store.db.execute("SELECT MAX(crawl_id) FROM raw_pages WHERE source = ?", [source]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def prune_archive(store: SqliteStore, retention_days: int) -> int:
    """Delete archived pages older than the retention."""
    cutoff = (datetime.now(UTC) - timedelta(days=retention_days)).isoformat(timespec="seconds")
    with store._transaction():
        cursor = store.db.execute("DELETE FROM raw_pages WHERE fetched_at < ?", [cutoff])
    return cursor.rowcount
