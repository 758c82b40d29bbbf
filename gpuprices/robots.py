"""May a source fetch its pages at all? A site's robots.txt, read at most once a day.

Sources whose every page a site's robots.txt disallows (eBay disallows ``/sch/``) are not runnable:
``gpuprices sources`` says why and cycles skip them, instead of a crawl that is refused page by
page and recorded as degraded every cycle. The answer is cached in the database (``meta``) for a
day; a failed fetch (no network) is retried after an hour and never blocks: the source stays
runnable and its crawl reports the network error itself.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from gpuprices.exceptions import StorageError
from gpuprices.storage.base import Store
from gpuprices.storage.factory import open_store

__all__ = ["FETCH_TIMEOUT", "disallowed"]

FETCH_TIMEOUT = 5.0
"""Seconds for the robots.txt request: a source check must never hold up a cycle."""
_FRESH = timedelta(days=1)
_RETRY_FAILED = timedelta(hours=1)


def _fetch(url: str, user_agent: str, timeout: float) -> dict[str, object]:
    import httpx

    try:
        response = httpx.get(url, headers={"User-Agent": user_agent}, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        return {"error": f"{exc.__class__.__name__}: {str(exc)[:200]}"}
    return {"status": response.status_code, "body": response.text[:500_000]}


def _cached(store: Store, key: str, now: datetime) -> dict[str, object] | None:
    stored = store.meta(key)
    if stored is None:
        return None
    entry = json.loads(stored[0])
    age = now - datetime.fromisoformat(stored[1])
    return entry if age < (_RETRY_FAILED if "error" in entry else _FRESH) else None


def disallowed(database: str | Path, page_url: str, user_agent: str, *, now: datetime | None = None,
               timeout: float = FETCH_TIMEOUT) -> str:
    """``robots.txt of HOST disallows /PATH/`` when the site's robots.txt refuses ``page_url`` to
    ``user_agent``; empty when it allows it, has none, or cannot be read now."""
    from protego import Protego  # Scrapy's robots.txt parser: the same answer the crawl would get

    parts = urlsplit(page_url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    now = now or datetime.now(UTC)
    key = f"robots:{robots_url}"
    try:
        with open_store(database) as store:
            entry = _cached(store, key, now)
            if entry is None:
                entry = _fetch(robots_url, user_agent, timeout)
                store.put_meta(key, json.dumps(entry))
    except StorageError:
        return ""  # the crawl will report the database problem itself
    if entry.get("status") != 200 or not isinstance(entry.get("body"), str):
        return ""  # no robots.txt (4xx) allows everything; an error says nothing
    if Protego.parse(str(entry["body"])).can_fetch(page_url, user_agent):
        return ""
    first = parts.path.strip("/").split("/", 1)[0]
    return f"robots.txt of {parts.netloc} disallows /{first}/" if first else f"robots.txt of {parts.netloc} " \
        "disallows everything"
