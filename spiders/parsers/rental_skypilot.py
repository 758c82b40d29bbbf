"""SkyPilot catalog CSVs (``catalogs/v7/<cloud>/vms.csv``) → rental offers.

Columns: ``InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice``
plus ``AvailabilityZone`` in some clouds. ``Price`` and ``SpotPrice`` are USD per hour for the whole
instance; either may be empty. CPU-only rows (no accelerator) are not offers and are skipped
without counting as dropped.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import datetime
from urllib.parse import urlsplit

from gpuprices.core.items import PageStatus
from gpuprices.spiders.parsers.rental_items import ParsedFeed, RentalOffer, decimal_or_none, make_offer

__all__ = ["cloud_of", "parse_skypilot_csv"]

REQUIRED = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "Region")
_CLOUD_IN_PATH = re.compile(r"/catalogs/v\d+/([^/]+)/vms\.csv$")
_MEMORY_MIB = re.compile(r"SizeInMiB['\"]?\s*:\s*(\d+)")


def cloud_of(url: str) -> str:
    """The cloud a catalog URL or path belongs to: ``…/catalogs/v7/lambda/vms.csv`` → ``lambda``."""
    path = urlsplit(url).path if "://" in url else url.replace("\\", "/")
    match = _CLOUD_IN_PATH.search(path)
    if match:
        return match.group(1)
    parts = [p for p in path.split("/") if p]
    return parts[-2] if len(parts) >= 2 else "skypilot"


def _memory_gb(gpu_info: str | None) -> float | None:
    # GpuInfo is a Python-literal dict as text; only the per-GPU memory is needed, so a regex reads it
    # without evaluating anything.
    match = _MEMORY_MIB.search(gpu_info or "")
    return int(match.group(1)) / 1024 if match else None


def parse_skypilot_csv(text: str, *, url: str, observed_at: datetime, cloud: str | None = None) -> ParsedFeed:
    """Offers of one catalog; ``layout_change`` when the required columns are missing."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        return ParsedFeed(PageStatus.LAYOUT_CHANGE, reason=f"SkyPilot CSV without columns {', '.join(missing)}")
    provider = cloud or cloud_of(url)
    offers: list[RentalOffer] = []
    dropped: Counter[str] = Counter()
    rows = 0
    for row in reader:
        accelerator = (row.get("AcceleratorName") or "").strip()
        if not accelerator:
            continue
        rows += 1
        count = decimal_or_none(row.get("AcceleratorCount"))
        if count is None or count <= 0:
            dropped["bad_gpu_count"] += 1
            continue
        price = decimal_or_none(row.get("Price"))
        spot = decimal_or_none(row.get("SpotPrice"))
        # A listed price of 0 is a placeholder, not a free GPU.
        price = price if price is not None and price > 0 else None
        spot = spot if spot is not None and spot > 0 else None
        region = (row.get("Region") or "").strip()
        zone = (row.get("AvailabilityZone") or "").strip()
        offer = make_offer(provider=provider, accelerator=accelerator, gpu_count=count, on_demand=price, spot=spot,
                           observed_at=observed_at, feed="skypilot", feed_url=url,
                           region=f"{region}/{zone}" if zone and zone != region else region,
                           instance_type=(row.get("InstanceType") or "").strip(),
                           memory_gb=_memory_gb(row.get("GpuInfo")))
        if offer is None:
            dropped["no_price"] += 1
            continue
        offers.append(offer)
    if offers:
        status, reason = PageStatus.OK, ""
    elif rows:
        status, reason = PageStatus.LAYOUT_CHANGE, f"{rows} GPU rows but none with a usable price"
    else:
        status, reason = PageStatus.EMPTY, "no GPU instances in the catalog"
    return ParsedFeed(status, offers=offers, rows=rows, reason=reason, dropped=dropped)
