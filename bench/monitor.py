"""Monitor benchmarks: the daemon's memory over many cycles, and alert latency on loopback."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def rss_bytes() -> int:
    """Resident set size of this process (Linux)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def _settings(db: Path, receiver_url: str) -> Any:
    from gpuprices.config import Settings

    return Settings(**{
        "storage": {"database": str(db)},
        "alerts": {
            "channels": [{"name": "ops", "kind": "webhook", "url": f"{receiver_url}/gpu", "secret": SECRET}],
            "rules": [
                {"name": "cheap", "kind": "new_listing_below", "sku": "h100-80gb-pcie", "unit_price_usd": 26000,
                 "channels": ["ops"]},
                {"name": "premium", "kind": "premium_below", "sku": "h100-80gb-pcie", "premium": -0.2,
                 "include_indicative": True, "channels": ["ops"]},
            ],
        },
    })


def _crawl_batch(store: Any, cycle: int, size: int = 40) -> dict[str, Any]:
    """Store one synthetic crawl of H100 listings, as a crawl child would."""
    from gpuprices.core.items import ListingType, PageReport, PageStatus, RawListing
    from gpuprices.core.listing import NormalizedListing
    from gpuprices.pipeline.enrich import Enricher

    enricher = Enricher.from_settings(None)
    crawl_id = store.start_crawl("ebay-api")
    now = datetime.now(UTC) - timedelta(minutes=200 - cycle)
    listings = []
    for index in range(size):
        price = Decimal(24000 + (index * 137 + cycle * 11) % 6000)
        raw = RawListing(source="ebay-api", site="EBAY_US", item_id=str(10**11 + cycle * 1000 + index % 30),
                         title="NVIDIA H100 80GB PCIe 900-21010-0000-000", price_value=str(price), currency_raw="USD",
                         listing_type=ListingType.BUY_IT_NOW, seller=f"seller{index % 9}", seller_feedback=500,
                         observed_at=now)
        listings.append(enricher.enrich(NormalizedListing(
            raw=raw, price=price, currency="USD", currency_raw="USD", price_usd=price, usd_rate=Decimal(1),
            usd_rate_date=now.date(), usd_rate_method="identity")))
    store.save_listings(crawl_id, listings)
    store.record_page(crawl_id, PageReport(url="bench", status=PageStatus.OK, listings=size, cards=size))
    return store.finish_crawl(crawl_id, "ok")


def bench_daemon_memory() -> str:
    """RSS after 200 monitor cycles over RSS after 10 (analysis, rules, outbox, delivery in-process)."""
    from gpuprices.cycle import analyse_and_alert
    from gpuprices.storage.sqlite import SqliteStore

    sink = subprocess.Popen([sys.executable, str(Path(__file__).with_name("sink.py"))], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdin is not None and sink.stdout is not None
    url = sink.stdout.readline().strip()
    with tempfile.TemporaryDirectory() as folder:
        settings = _settings(Path(folder) / "bench.db", url)
        marks: dict[int, int] = {}
        started = time.perf_counter()
        for cycle in range(1, 201):
            with SqliteStore(settings.storage.database) as store:
                crawl = _crawl_batch(store, cycle)
                analyse_and_alert(settings, store, [crawl])
            if cycle in (10, 200):
                marks[cycle] = rss_bytes()
        elapsed = time.perf_counter() - started
    sink.stdin.close()
    delivered = int(sink.stdout.readline() or 0)
    sink.wait()
    growth = marks[200] / marks[10]
    return (f"{growth:.3f} x (RSS {marks[10] / 2**20:.1f} MiB after 10 cycles, {marks[200] / 2**20:.1f} MiB "
            f"after 200; {elapsed / 200 * 1000:.0f} ms per cycle; {delivered} alerts delivered; goal <= 1.10)")


def bench_alert_latency() -> str:
    """Analysis end → signed webhook received, through the outbox, vs a bare signed httpx POST."""
    import httpx
    from standardwebhooks.webhooks import Webhook

    from gpuprices.alerts.outbox import Alert, Outbox
    from gpuprices.storage.sqlite import SqliteStore
    from tests.webhook_receiver import WebhookReceiver

    runs = 30
    with tempfile.TemporaryDirectory() as folder, WebhookReceiver(SECRET) as receiver:
        settings = _settings(Path(folder) / "latency.db", receiver.url)
        ours: list[float] = []
        with SqliteStore(settings.storage.database) as store:
            outbox = Outbox(store, settings.alerts)
            for index in range(runs):
                alert = Alert(rule="bench", kind="new_listing_below", key=str(index), dedupe_key=f"bench|{index}",
                              title="bench alert", payload={"index": index})
                start = time.perf_counter()
                outbox.enqueue(alert, ["ops"])
                outbox.deliver_due()
                ours.append(time.perf_counter() - start)
        bare: list[float] = []
        signer = Webhook(SECRET)
        with httpx.Client() as client:
            for index in range(runs):
                body = f'{{"type":"gpuprices.alert","data":{{"index":{index}}}}}'
                start = time.perf_counter()
                stamp = datetime.now(UTC)
                signature = signer.sign(f"msg_bare{index}", stamp, body)
                client.post(f"{receiver.url}/gpu", content=body, headers={
                    "webhook-id": f"msg_bare{index}", "webhook-timestamp": str(int(stamp.timestamp())),
                    "webhook-signature": signature, "content-type": "application/json"})
                bare.append(time.perf_counter() - start)
    ours.sort()
    bare.sort()
    median_ours, median_bare = ours[runs // 2], bare[runs // 2]
    return (f"{median_ours / median_bare:.2f} x (median {median_ours * 1000:.1f} ms from analysis end to receipt "
            f"through the outbox, incl. the durable write, vs {median_bare * 1000:.1f} ms for a bare signed POST; "
            f"p90 {ours[int(runs * 0.9)] * 1000:.1f} ms)")
