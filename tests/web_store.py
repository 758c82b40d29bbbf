"""A store built from the real-page corpus through the crawl's own code path, for the web tests.

The eBay Browse API responses of the corpus are parsed, normalized, classified and saved as one crawl
per day over the last days (as the daemon would have done), then quarantined like a crawl. Two
strangers' titles carrying HTML are added by editing a copy of one response in a temporary folder
(the corpus itself is never copied or changed). Rental prices come from the corpus' tracker feed
with its snapshot times moved to recent days (and relabelled once as A100 80GB SXM4), an alert with
a dead delivery from the outbox.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from gpuprices.alerts.outbox import Alert, Outbox
from gpuprices.alerts.settings import AlertsSettings
from gpuprices.core.items import PageReport
from gpuprices.parsing import FileParser
from gpuprices.pipeline.crawl_pipeline import crawl_status
from gpuprices.spiders.parsers.rental import parse_rental_file
from gpuprices.storage.rentals import save_rentals
from gpuprices.storage.sqlite import SqliteStore

XSS_TITLE = 'NVIDIA H100 80GB PCIe <script>window.__xss=1</script> GPU'
XSS_TITLE_2 = 'NVIDIA H100 80GB PCIe "><img src=x onerror=window.__xss=2> GPU'
SECRET_CHANNEL_URL = "https://hooks.example.test/services/T000/B000/SECRETTOKEN123456"
DAYS = 5
"""Crawls on this many consecutive days, the last one today."""


@attrs.frozen
class CorpusStore:
    database: Path
    config: Path
    days: int
    xss_item_ids: tuple[str, ...]


def _api_files(corpus: Path) -> list[Path]:
    return sorted((corpus / "ebay-api").glob("browse-search-nvidia-*.json"))


def _xss_copy(corpus: Path, folder: Path) -> tuple[Path, tuple[str, ...]]:
    """A copy of one API response whose first two items carry HTML in their titles."""
    items = json.loads((corpus / "ebay-api" / "browse-search-nvidia-h100-pcie-2023-12.json").read_text("utf-8"))
    picked = items[:2]
    for item, title in zip(picked, (XSS_TITLE, XSS_TITLE_2), strict=True):
        item["title"] = title
        item["itemId"] = item["itemId"].replace("|0", "|7")  # distinct listings beside the originals
    path = folder / "browse-search-xss.json"
    path.write_text(json.dumps(picked), encoding="utf-8")
    return path, tuple(item["itemId"].split("|")[1] for item in picked)


def _crawl(store: SqliteStore, parser: FileParser, files: list[Path], when: datetime) -> int:
    crawl_id = store.start_crawl("ebay-api", ["nvidia"])
    for path in files:
        parsed = parser.parse(path, source="ebay-api", site="EBAY_US", observed_at=when)
        store.record_page(crawl_id, PageReport(url=str(path), status=parsed.status, listings=len(parsed.listings),
                                               cards=len(parsed.listings), reason=parsed.reason))
        store.save_listings(crawl_id, parsed.listings)
    parser.enricher.quarantine_crawl(store, crawl_id)
    listings = int(store.crawl(crawl_id)["listings"] or 0)
    store.finish_crawl(crawl_id, crawl_status(store.page_statuses(crawl_id), listings))
    return crawl_id


def _rentals(store: SqliteStore, corpus: Path, folder: Path, now: datetime) -> None:
    source = next((corpus / "cloud-pricing").glob("*.jsonl"))
    lines = [json.loads(line) for line in source.read_text("utf-8").splitlines() if line.strip()]
    for back, line in enumerate(reversed(lines[-DAYS:])):
        line["timestamp"] = (now - timedelta(days=back, hours=1)).isoformat()
    # The same snapshots once more as A100 80GB SXM4 (a SKU the listings have), so rent vs buy has a row.
    a100 = [{**line, "gpu_type": "A100_80GB", "socket_type": "SXM4"} for line in lines[-DAYS:]]
    moved = folder / "tracker-recent.jsonl"
    moved.write_text("\n".join(json.dumps(line) for line in [*lines[-DAYS:], *a100]) + "\n", encoding="utf-8")
    crawl_id = store.start_crawl("rental")
    save_rentals(store, crawl_id, parse_rental_file(moved, "tracker"))
    store.finish_crawl(crawl_id, "ok")


def _alerts(store: SqliteStore, now: datetime) -> None:
    channel = {"name": "ops", "kind": "slack", "url": SECRET_CHANNEL_URL}
    settings = AlertsSettings.model_validate({"channels": [channel]})
    outbox = Outbox(store, settings, clock=lambda: now)
    alert_id = outbox.enqueue(Alert(rule="h100-cheap", kind="new_listing_below", key="h100-80gb-pcie|listing|1",
                                    dedupe_key="h100-cheap|1", title='Cheap <b>H100</b> "deal"',
                                    payload={"sku": "h100-80gb-pcie"}), ["ops"])
    assert alert_id is not None
    outbox.abandon(alert_id, "HTTP 404 from https://hooks.example.test")
    store.put_alert_state("h100-cheap", "h100-80gb-pcie|listing|1", "fired", 21000.0, now.isoformat())


def config_text(database: Path, extra: str = "") -> str:
    return f"""
[storage]
database = "{database}"

[sources.rental]
enabled = false

[market]
min_samples = 3

[[alerts.channels]]
name = "ops"
kind = "slack"
url = "{SECRET_CHANNEL_URL}"

[[alerts.rules]]
name = "h100-cheap"
kind = "new_listing_below"
sku = "h100-80gb-pcie"
unit_price_usd = 22000
{extra}
"""


def build_corpus_store(corpus: Path, folder: Path, *, extra_config: str = "", now: datetime | None = None
                       ) -> CorpusStore:
    """The database and config file of a corpus store in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC).replace(microsecond=0)
    database = folder / "web.db"
    xss_file, xss_ids = _xss_copy(corpus, folder)
    files = _api_files(corpus)
    parser = FileParser()
    with SqliteStore(database) as store:
        for back in range(DAYS - 1, -1, -1):
            when = now - timedelta(days=back, minutes=30)
            _crawl(store, parser, files + ([xss_file] if back == 0 else []), when)
        _rentals(store, corpus, folder, now)
        _alerts(store, now)
    config = folder / "web.toml"
    config.write_text(config_text(database, extra_config), encoding="utf-8")
    return CorpusStore(database=database, config=config, days=DAYS, xss_item_ids=xss_ids)

