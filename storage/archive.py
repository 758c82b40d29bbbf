"""The raw page archive: fetched pages compressed with URL, time, HTTP status and crawl id.

Pages are compressed with zstd (level 3: about ten times faster than zlib level 6 on 1–2.5 MB pages
at a similar size, which takes the archive off the crawl's hot path); rows written by earlier versions
are zlib and stay readable (:func:`page_body` tells them apart by the zstd frame's magic number).
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import zstandard

from gpuprices.core.items import CapturedPage
from gpuprices.storage.values import utcnow

if TYPE_CHECKING:
    from .common import SqlStore  # relative: the folder is also type-checked as the package "storage"


@attrs.frozen(kw_only=True)
class ArchivedPage(CapturedPage):
    """One archived page, decompressed; ``meta`` is what the spider knew about the request (query,
    page number, sold view)."""

    id: int
    crawl_id: int
    source: str
    content_type: str | None
    encoding: str | None


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_LEVEL = 3
_local = threading.local()  # zstd contexts are not thread-safe; one per thread, reused across pages


def compress_body(body: bytes) -> bytes:
    if not hasattr(_local, "compressor"):
        _local.compressor = zstandard.ZstdCompressor(level=_LEVEL)
    return bytes(_local.compressor.compress(body))


def page_body(blob: bytes) -> bytes:
    """An archived page's bytes, zstd (this version) or zlib (earlier versions)."""
    if blob[:4] == _ZSTD_MAGIC:
        if not hasattr(_local, "decompressor"):
            _local.decompressor = zstandard.ZstdDecompressor()
        return bytes(_local.decompressor.decompress(blob))
    return zlib.decompress(blob)


def archive_page(store: SqlStore, *, crawl_id: int, source: str, url: str, status: int, body: bytes,
                 content_type: str | None = None, encoding: str | None = None,
                 meta: dict[str, Any] | None = None, fetched_at: str | None = None) -> int:
    """Store one fetched page; ``fetched_at`` (ISO, UTC) defaults to now."""
    with store._transaction():
        row = store._execute(
            "INSERT INTO raw_pages (crawl_id, source, url, fetched_at, status, content_type, encoding, size, body,"
            " meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [crawl_id, source, url, fetched_at or utcnow(), status, content_type, encoding, len(body),
             compress_body(body), json.dumps(meta or {}, sort_keys=True)]).fetchone()
    return int(row[0])


def archived_pages(store: SqlStore, *, source: str | None = None, since: str | None = None,
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
    for (page_id,) in store._execute(sql, params).fetchall():
        record = store._query("SELECT * FROM raw_pages WHERE id = ?", [page_id])[0]
        yield ArchivedPage(id=record["id"], crawl_id=record["crawl_id"], source=record["source"], url=record["url"],
                           fetched_at=datetime.fromisoformat(record["fetched_at"]), status=record["status"],
                           content_type=record["content_type"], encoding=record["encoding"],
                           body=page_body(bytes(record["body"])), meta=json.loads(record["meta"] or "{}"))


def latest_archived_crawl(store: SqlStore, source: str) -> int | None:
    row = store._execute("SELECT MAX(crawl_id) FROM raw_pages WHERE source = ?", [source]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def prune_archive(store: SqlStore, retention_days: int) -> int:
    """Delete archived pages older than the retention."""
    cutoff = (datetime.now(UTC) - timedelta(days=retention_days)).isoformat(timespec="seconds")
    with store._transaction():
        cursor = store._execute("DELETE FROM raw_pages WHERE fetched_at < ?", [cutoff])
    return int(cursor.rowcount)
