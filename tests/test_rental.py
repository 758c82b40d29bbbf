"""Cloud rental prices: the three feed parsers, SKU mapping, storage, the rental index, rent vs buy, end to end."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gpuprices.config import BreakevenSettings
from gpuprices.core.items import ListingType, PageStatus, RawListing
from gpuprices.core.listing import NormalizedListing
from gpuprices.core.rental import RentalOffer
from gpuprices.market.breakeven import breakeven, breakeven_table, residual_fraction
from gpuprices.market.rental_index import compute_rental_index, rental_index_rows
from gpuprices.pipeline.classify.catalog import load_catalog
from gpuprices.spiders.parsers.rental import parse_feed, parse_rental_file, rental_row
from gpuprices.spiders.parsers.rental_sku import rental_sku
from gpuprices.spiders.parsers.rental_skypilot import cloud_of
from gpuprices.storage.factory import open_store
from gpuprices.storage.rentals import rental_rows, save_rentals
from gpuprices.storage.sqlite import SqliteStore
from tests.e2e import query, run_cli, write_config
from tests.httpserver import LocalServer, Reply

TRACKER = "cloud-pricing/primeintellect-agg-h100-80gb-sxm5-2025-10-11.jsonl"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
H100_INFO = "\"{'Gpus': [{'Name': 'H100', 'Manufacturer': 'NVIDIA', 'MemoryInfo': {'SizeInMiB': 81920}}]}\""
A100_INFO = "\"{'Gpus': [{'Name': 'A100', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 40960}}]}\""
HEADER = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice"
LAMBDA_CSV = f"""{HEADER}
cpu_4x_general,,,4.0,16.0,0.2,us-east-1,,
gpu_8x_h100_sxm5,H100,8.0,208.0,1800.0,23.92,us-east-1,{H100_INFO},
gpu_8x_h100_sxm5,H100,8.0,208.0,1800.0,23.92,us-west-1,{H100_INFO},
gpu_1x_h100_sxm5,H100,1.0,26.0,225.0,3.29,us-east-1,{H100_INFO},
gpu_1x_h100_pcie,H100,1.0,26.0,200.0,2.49,us-east-1,{H100_INFO},
gpu_1x_a10,A10,1.0,30.0,200.0,0.75,us-east-1,,
"""
AWS_CSV = f"""{HEADER},AvailabilityZone
p5.48xlarge,H100,8,192,2048,98.32,us-east-1,{H100_INFO},,us-east-1a
p4d.24xlarge,A100,8,96,1152,32.7726,us-east-1,{A100_INFO},12.5,us-east-1b
g6f.large,L4,0.125,2,8,0.2,us-east-1,,0.09,us-east-1a
g5.xlarge,A10G,1,4,16,1.006,us-east-1,,0.4,us-east-1a
trn1.2xlarge,Trainium,1,8,32,1.34,us-east-1,,,us-east-1a
p3.2xlarge,V100,1,8,61,,us-east-1,,,us-east-1a
"""
VAST_JSON = json.dumps({"offers": [
    {"id": 101, "gpu_name": "H100 SXM", "num_gpus": 8, "dph_total": 17.6, "gpu_ram": 81559, "geolocation": "Texas, US",
     "min_bid": 9.2},
    {"id": 102, "gpu_name": "A100 PCIE", "num_gpus": 2, "dph_total": 2.137, "gpu_ram": 40960},
    {"id": 103, "gpu_name": "A100 SXM4", "num_gpus": 4, "dph_total": 5.0, "gpu_ram": 81920},
    {"id": 104, "gpu_name": "Q RTX 8000", "num_gpus": 1, "dph_total": 0.35, "gpu_ram": 49152},
    {"id": 105, "gpu_name": "RTX 4090", "num_gpus": 0, "dph_total": 0.4},
]})
SETTINGS = BreakevenSettings(utilization=0.5, power_usd_per_kwh=0.10, pue=1.5, other_usd_per_gpu_hour=0.2,
                             horizon_months=24, residual_curve=[(0, 1.0), (12, 0.6), (36, 0.2)])
"""Residual at 24 months: 0.6 + (0.2 − 0.6) × 12/24 = 0.4. A 700 W GPU runs at 0.7 × 1.5 × 0.10 + 0.2 = $0.305/h."""


def _by(offers: list[RentalOffer], **where: object) -> RentalOffer:
    found = [o for o in offers if all(getattr(o, k) == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


# -- feeds ------------------------------------------------------------------------------------
def test_tracker_corpus_per_provider_min_for_every_snapshot(corpus: Path) -> None:
    offers = parse_rental_file(corpus / TRACKER, "rental-tracker")
    assert len({o.observed_at for o in offers}) == 957  # every line is a snapshot
    assert len(offers) == 5452  # snapshot × provider
    assert {o.sku for o in offers} == {"h100-80gb-sxm5"} and {o.accelerator_raw for o in offers} == {"H100_80GB_SXM5"}
    assert {o.kind for o in offers} == {"on_demand"} and {o.feed for o in offers} == {"tracker"}
    # Line 1, read by hand: the providers' "min" (the feed gives min and avg, no median).
    first = [o for o in offers if o.observed_at == datetime.fromisoformat("2025-10-19T21:01:58.727366+00:00")]
    assert {o.provider: o.price_usd_per_gpu_hour for o in first} == {
        "runpod": Decimal("2.69"), "lambda": Decimal("3.29"), "hyperstack": Decimal("2.4"),
        "primecompute": Decimal("1.0"), "dc_roan": Decimal("1.99"), "nebius": Decimal("2.12")}
    assert _by(first, provider="primecompute").note.startswith("primecompute: min of 4 offers")
    assert "avg $1.4/GPU-h" in _by(first, provider="primecompute").note
    # Line 500 and the last line.
    middle = [o for o in offers if o.observed_at == datetime.fromisoformat("2025-11-05T11:36:13.155689+00:00")]
    assert {o.provider: str(o.price_usd_per_gpu_hour) for o in middle} == {
        "runpod": "2.69", "hyperstack": "2.4", "dc_roan": "1.99", "nebius": "2.12", "vultr": "2.99"}
    last = [o for o in offers if o.observed_at == datetime.fromisoformat("2025-11-16T06:47:03.709906+00:00")]
    assert {o.provider: str(o.price_usd_per_gpu_hour) for o in last} == {
        "runpod": "2.69", "lambda": "2.99", "hyperstack": "2.4", "datacrunch": "1.09", "nebius": "2.12"}
    row = rental_row(last[0])
    assert row["gpu_count"] is None and row["instance_price_usd"] is None
    assert row["observed_at"] == "2025-11-16T06:47:03.709906+00:00"


def test_skypilot_divides_instance_prices_by_gpu_count() -> None:
    parsed = parse_feed("skypilot", AWS_CSV.encode(), url="https://x/catalogs/v7/aws/vms.csv", observed_at=NOW)
    assert parsed.status is PageStatus.OK and parsed.rows == 6 and parsed.dropped == Counter(no_price=1)
    offers = parsed.offers
    assert {o.provider for o in offers} == {"aws"} and cloud_of("https://x/catalogs/v7/aws/vms.csv") == "aws"
    p5 = _by(offers, instance_type="p5.48xlarge")
    assert (p5.sku, p5.price_usd_per_gpu_hour, p5.instance_price_usd) == ("h100-80gb-sxm5", Decimal("12.29"),
                                                                            Decimal("98.32"))
    assert p5.spot_usd_per_gpu_hour is None and p5.kind == "on_demand"  # an empty SpotPrice is no spot price
    assert p5.note.startswith("instance $98.32/h ÷ 8 GPUs") and p5.region == "us-east-1/us-east-1a"
    p4d = _by(offers, instance_type="p4d.24xlarge")  # GpuInfo says 40960 MiB: the 40 GB A100
    assert p4d.sku == "a100-40gb-sxm4" and p4d.price_usd_per_gpu_hour == Decimal("4.096575")
    assert p4d.spot_usd_per_gpu_hour == Decimal("1.5625") and "spot instance $12.5/h ÷ 8 GPUs" in p4d.note
    share = _by(offers, instance_type="g6f.large")  # an eighth of an L4: the price of a whole GPU-hour
    assert (share.sku, share.gpu_count, share.price_usd_per_gpu_hour) == ("l4-24gb", Decimal("0.125"), Decimal("1.6"))
    assert share.spot_usd_per_gpu_hour == Decimal("0.72") and "÷ 0.125 GPU (a fractional GPU share)" in share.note
    a10g = _by(offers, instance_type="g5.xlarge")  # kept, but no catalog SKU
    assert a10g.sku is None and "A10G" in a10g.note and a10g.price_usd_per_gpu_hour == Decimal("1.006")
    assert _by(offers, instance_type="trn1.2xlarge").sku is None


def test_skypilot_lambda_names_pcie_only_in_the_instance_type() -> None:
    offers = parse_feed("skypilot", LAMBDA_CSV.encode(), url="https://x/lambda/vms.csv", observed_at=NOW).offers
    assert len(offers) == 5  # the CPU row is no offer
    assert _by(offers, instance_type="gpu_1x_h100_pcie").sku == "h100-80gb-pcie"
    assert _by(offers, instance_type="gpu_1x_h100_sxm5").note == "instance $3.29/h, 1 GPU"
    assert {o.price_usd_per_gpu_hour for o in offers if o.instance_type == "gpu_8x_h100_sxm5"} == {Decimal("2.99")}
    assert _by(offers, instance_type="gpu_1x_a10").sku == "a10-24gb"


def test_vast_offers_divide_dph_total_and_read_memory() -> None:
    parsed = parse_feed("vast", VAST_JSON.encode(), url="https://console.vast.ai/api/v0/bundles/", observed_at=NOW)
    assert parsed.status is PageStatus.OK and parsed.dropped == Counter(bad_gpu_count=1)
    offers = parsed.offers
    h100 = _by(offers, instance_type="offer 101")
    assert (h100.sku, h100.price_usd_per_gpu_hour, h100.spot_usd_per_gpu_hour) == ("h100-80gb-sxm5", Decimal("2.2"),
                                                                                     Decimal("1.15"))
    assert h100.note.startswith("offer $17.6/h ÷ 8 GPUs") and h100.region == "Texas, US" and h100.provider == "vast"
    pcie = _by(offers, instance_type="offer 102")
    assert (pcie.sku, pcie.price_usd_per_gpu_hour) == ("a100-40gb-pcie", Decimal("1.0685"))
    assert _by(offers, instance_type="offer 103").sku == "a100-80gb-sxm4"  # 81920 MB per GPU
    assert _by(offers, instance_type="offer 104").sku is None  # Quadro RTX 8000: not in the catalog


def test_wrong_shapes_are_layout_changes_or_blocks_never_empty_markets() -> None:
    assert parse_feed("vast", b'{"error": "rate limited"}', url="u", observed_at=NOW).status is PageStatus.LAYOUT_CHANGE
    assert parse_feed("vast", b'{"offers": []}', url="u", observed_at=NOW).status is PageStatus.EMPTY
    assert parse_feed("skypilot", b"a,b\n1,2\n", url="u", observed_at=NOW).status is PageStatus.LAYOUT_CHANGE
    assert parse_feed("tracker", b'{"timestamp": "x"}\n', url="u", observed_at=NOW).status is PageStatus.LAYOUT_CHANGE
    challenge = b"<html><head><title>Just a moment...</title></head></html>"
    assert parse_feed("tracker", challenge, url="u", observed_at=NOW, http_status=403).status is PageStatus.BLOCKED


@pytest.mark.parametrize(("name", "memory", "instance", "sku"), [
    ("H100", None, None, "h100-80gb-sxm5"), ("H100-SXM", None, None, "h100-80gb-sxm5"),
    ("H100 80GB SXM5", None, None, "h100-80gb-sxm5"), ("H100-80GB", None, None, "h100-80gb-sxm5"),
    ("H100_80GB_SXM5", None, None, "h100-80gb-sxm5"), ("H100-MEGA", None, None, "h100-80gb-sxm5"),
    ("H100 PCIE", None, None, "h100-80gb-pcie"), ("H100", 80, "gpu_1x_h100_pcie", "h100-80gb-pcie"),
    ("H100 NVL", None, None, "h100-94gb-nvl"), ("H100", None, "Standard_NC40ads_H100_v5", "h100-94gb-nvl"),
    ("A100", None, None, "a100-40gb-sxm4"), ("A100", 80, None, "a100-80gb-sxm4"),
    ("A100-80GB", None, None, "a100-80gb-sxm4"), ("A100-80GB", None, "Standard_NC24ads_A100_v4", "a100-80gb-pcie"),
    ("A100 PCIE", 40, None, "a100-40gb-pcie"), ("A100-80GB-SXM", None, None, "a100-80gb-sxm4"),
    ("L40S", None, None, "l40s-48gb"), ("L40", None, None, "l40-48gb"), ("L4", None, None, "l4-24gb"),
    ("T4", None, None, "t4-16gb"), ("Tesla T4", None, None, "t4-16gb"), ("A10", None, None, "a10-24gb"),
    ("V100", None, None, "v100-16gb-sxm2"), ("V100-32GB", None, None, "v100-32gb-sxm2"),
    ("V100", 16, "Standard_NC6s_v3", "v100-16gb-pcie"), ("H200", None, None, "h200-141gb-sxm"),
    ("H200 NVL", None, None, "h200-141gb-nvl"), ("H200_141GB_SXM", None, None, "h200-141gb-sxm"),
    ("MI300X", None, None, "mi300x-192gb"), ("GH200", 96, None, "gh200"), ("B200", None, None, "b200"),
    ("RTX6000-Ada", None, None, "rtx-6000-ada"), ("RTX 6000Ada", None, None, "rtx-6000-ada"),
    ("A6000", None, None, "rtx-a6000"), ("RTX 4090", None, None, "rtx-4090"), ("RTX4090", None, None, "rtx-4090"),
    ("A10G", None, None, None), ("T4g", None, None, None), ("RTX6000", None, None, None),
    ("Trainium", None, None, None), ("GB200", None, None, None), ("", None, None, None),
])
def test_accelerator_names_map_to_catalog_skus(name: str, memory: float | None, instance: str | None,
                                               sku: str | None) -> None:
    match = rental_sku(name, memory_gb=memory, instance_type=instance)
    assert match.sku == sku
    assert sku is None or sku in load_catalog()  # never an id the catalog does not know
    if name == "A10G":
        assert match.model == "other:A10G" and "AWS" in match.note


# -- storage and index ------------------------------------------------------------------------
def _offer(provider: str, price: str, *, at: datetime, sku: str | None = "h100-80gb-sxm5", spot: str | None = None,
           instance: str | None = None, region: str | None = None) -> RentalOffer:
    return RentalOffer(provider=provider, sku=sku, accelerator_raw="H100", gpu_count=None, region=region,
                       instance_type=instance, price_usd_per_gpu_hour=Decimal(price),
                       spot_usd_per_gpu_hour=Decimal(spot) if spot else None, observed_at=at, feed="test",
                       feed_url="test://feed")


DAY = date(2026, 11, 20)


def _market(at: datetime) -> list[RentalOffer]:
    early = at - timedelta(hours=3)
    return [
        _offer("lambda", "3.50", at=early, instance="gpu_8x", region="us-east-1"),  # superseded the same day
        *(_offer("lambda", "2.99", at=at, instance="gpu_8x", region=r) for r in ("us-east-1", "us-west-1", "eu-1")),
        _offer("aws", "12.29", at=at, instance="p5", region="us-east-1", spot="4.00"),
        _offer("vast", "2.20", at=at, instance="offer 101", spot="1.15"),
        _offer("vast", "2.50", at=at, instance="offer 102"),
        _offer("runpod", "2.79", at=early), _offer("runpod", "2.69", at=at),
        _offer("aws", "1.006", at=at, sku=None, instance="g5.xlarge"),  # an A10G: stored, never indexed
    ]


def test_rental_index_counts_each_offer_once_a_day(database: str | Path) -> None:
    with open_store(database) as store:
        crawl = store.start_crawl("rental")
        first = save_rentals(store, crawl, _market(datetime(2026, 11, 20, 15, tzinfo=UTC)))
        assert (first.offers, first.new, first.rows) == (10, 10, 12)  # two offers carry a spot row too
        again = save_rentals(store, crawl, _market(datetime(2026, 11, 20, 15, tzinfo=UTC)))
        assert (again.new, again.seen, again.rows) == (0, 10, 0)  # the same snapshot is stored once
        assert store.crawl(crawl)["listings"] == 20 and store.crawl(crawl)["observations"] == 12
        assert len(rental_rows(store, DAY)) == 12 and rental_rows(store, DAY + timedelta(days=1)) == []
        index = rental_index_rows(compute_rental_index(store, days=1, today=DAY))
    # On demand: lambda 2.99 (3 regions, one offer), aws 12.29, vast 2.20 and 2.50, runpod 2.69 (its latest).
    # Sorted 2.20 2.50 2.69 2.99 12.29: median 2.69, p25 at position 1 = 2.50.
    assert index == [
        {"day": "2026-11-20", "sku": "h100-80gb-sxm5", "kind": "on_demand", "n": 5, "providers": 4,
         "median_usd_per_gpu_hour": "2.69", "p25_usd_per_gpu_hour": "2.50", "min_usd_per_gpu_hour": "2.20"},
        # Spot: 1.15 and 4.00 → median 2.575, p25 = 1.15 + 0.25 × 2.85 = 1.8625.
        {"day": "2026-11-20", "sku": "h100-80gb-sxm5", "kind": "spot", "n": 2, "providers": 2,
         "median_usd_per_gpu_hour": "2.575", "p25_usd_per_gpu_hour": "1.8625", "min_usd_per_gpu_hour": "1.15"},
    ]


def test_rental_index_of_the_corpus_last_day(database: str | Path, corpus: Path) -> None:
    with open_store(database) as store:
        save_rentals(store, store.start_crawl("rental"), parse_rental_file(corpus / TRACKER, "tracker"))
        index = rental_index_rows(compute_rental_index(store, days=1, today=date(2025, 11, 16)))
    # 9 snapshots that day; each provider's latest min: runpod 2.69, lambda 2.99, hyperstack 2.4,
    # datacrunch 1.09, primecompute 1.0 (only in earlier snapshots), nebius 2.12.
    assert index == [{"day": "2025-11-16", "sku": "h100-80gb-sxm5", "kind": "on_demand", "n": 6, "providers": 6,
                      "median_usd_per_gpu_hour": "2.26", "p25_usd_per_gpu_hour": "1.3475",
                      "min_usd_per_gpu_hour": "1.00"}]


def test_pipeline_closes_the_crawl_and_fails_it_on_a_storage_error(tmp_path: Path) -> None:
    from scrapy.utils.test import get_crawler

    from gpuprices.core.items import PageReport
    from gpuprices.pipeline.rental_storing import RentalStoragePipeline
    from gpuprices.spiders.rental import RentalSpider

    database = tmp_path / "p.db"
    with SqliteStore(database) as store:
        good, bad = store.start_crawl("rental"), store.start_crawl("rental")
    for crawl_id, offers in ((good, _market(NOW)), (bad, [])):
        crawler = get_crawler(RentalSpider, {"GPUPRICES_DATABASE": str(database), "GPUPRICES_CRAWL_ID": crawl_id})
        pipeline = RentalStoragePipeline.from_crawler(crawler)
        pipeline.open_spider()
        pipeline.process_item(PageReport(url="u", status=PageStatus.OK, listings=len(offers)))
        for offer in offers:
            pipeline.process_item(offer)
        if crawl_id == bad:  # the table is gone: the batch cannot be written
            assert pipeline.store is not None
            pipeline.store.db.execute("DROP TABLE rental_observations")
            pipeline.process_item(_market(NOW)[0])
            pipeline.close_spider()
        pipeline.spider_closed("finished")
    rows = {r["id"]: r for r in query(database, "SELECT id, status, listings, error FROM crawls")}
    assert (rows[good]["status"], rows[good]["listings"]) == ("ok", 10)
    assert rows[bad]["status"] == "failed" and "rental_observations" in rows[bad]["error"]


# -- rent vs buy --------------------------------------------------------------------------------
def test_breakeven_formula_on_hand_computed_numbers() -> None:
    assert residual_fraction(SETTINGS.residual_curve, 24) == pytest.approx(0.4)
    assert residual_fraction(SETTINGS.residual_curve, 60) == 0.2 and residual_fraction([(6, 0.9)], 0) == 0.9
    result = breakeven(20000.0, 2.305, tdp_w=700, settings=SETTINGS)
    # (20000 − 8000) / ((2.305 − 0.305) × 730 × 0.5) = 12000 / 730
    assert result.owned_usd_per_gpu_hour == pytest.approx(0.305)
    assert result.resale_usd_at_horizon == pytest.approx(8000)
    assert result.months == pytest.approx(12000 / 730)
    assert (result.hours_per_month, result.utilization) == (730, 0.5)
    assert "= 16.4" in result.formula and "700 W × 1.5 PUE" in result.formula
    never = breakeven(20000.0, 0.30, tdp_w=700, settings=SETTINGS)  # renting costs less than the power
    assert never.months is None and never.formula.startswith("never")
    assert breakeven(20000.0, 0.305, tdp_w=700, settings=SETTINGS).months is None
    assert breakeven(20000.0, 2.2, tdp_w=None, settings=SETTINGS).owned_usd_per_gpu_hour == pytest.approx(0.2)


def _listing(item_id: str, sku: str, price: str, *, sold: bool = False) -> NormalizedListing:
    now = datetime.now(UTC)
    raw = RawListing(source="ebay-api", site="ebay.com", item_id=item_id, title=f"NVIDIA {sku}", sold=sold,
                     ended=sold, price_text=f"${price}", listing_type=ListingType.BUY_IT_NOW, observed_at=now,
                     seller=f"seller-{item_id}")
    return NormalizedListing(raw=raw, price=Decimal(price), currency="USD", currency_raw="$", price_usd=Decimal(price),
                             usd_rate=Decimal(1), usd_rate_date=now.date(), usd_rate_method="identity",
                             condition="used", sold_at=now.date() if sold else None, sku=sku, gpu_count=1,
                             working=True, unit_price_usd=Decimal(price))


def test_breakeven_table_prefers_enough_sales_over_asking(database: str | Path) -> None:
    now = datetime.now(UTC)
    with open_store(database) as store:
        store.save_listings(store.start_crawl("ebay-api"), [
            *(_listing(f"h{p}", "h100-80gb-sxm5", p) for p in ("30000", "32000", "34000")),
            *(_listing(f"hs{p}", "h100-80gb-sxm5", p, sold=True) for p in ("25000", "27000")),  # 2 < 5 sales
            _listing("a-ask", "a100-80gb-sxm4", "15000"),
            *(_listing(f"as{p}", "a100-80gb-sxm4", p, sold=True) for p in ("10000", "11000", "12000", "13000",
                                                                              "14000")),
            _listing("h200", "h200-141gb-sxm", "31000"),  # no rental price: not in the table
        ])
        save_rentals(store, store.start_crawl("rental"), [
            _offer("vast", "2.305", at=now, spot="0.20"),
            _offer("vast", "1.735", at=now, sku="a100-80gb-sxm4"),
            _offer("vast", "0.99", at=now, sku="l40s-48gb"),  # no purchase price: not in the table
        ])
        rows = breakeven_table(store, load_catalog(), SETTINGS)
    assert [r["sku"] for r in rows] == ["a100-80gb-sxm4", "h100-80gb-sxm5"]
    a100, h100 = rows
    # A100 80GB SXM4: 5 sales → sold median 12000; TDP max(400, 500) W → 0.5 × 1.5 × 0.1 + 0.2 = 0.275 $/h;
    # (12000 − 4800) / ((1.735 − 0.275) × 730 × 0.5) = 7200 / 532.9 = 13.51
    assert (a100["purchase_basis"], a100["purchase_n"], a100["purchase_usd"]) == ("sold", 5, "12000.00")
    assert (a100["tdp_w"], a100["owned_usd_per_gpu_hour"], a100["months"]) == (500.0, "0.275", 13.51)
    assert a100["months_spot"] is None and a100["spot_usd_per_gpu_hour"] is None
    # H100 SXM5: 2 sales are too few → asking median 32000; (32000 − 12800) / (2.0 × 365) = 26.30; spot 0.20 < 0.305
    assert (h100["purchase_basis"], h100["purchase_usd"], h100["resale_usd_at_horizon"]) == ("asking", "32000.00",
                                                                                           "12800.00")
    assert (h100["rental_usd_per_gpu_hour"], h100["months"], h100["months_spot"]) == ("2.305", 26.30, None)
    assert h100["rental_day"] == now.date().isoformat() and h100["rental_n"] == 1


# -- end to end ---------------------------------------------------------------------------------
def test_crawl_rental_feeds_then_breakeven_through_the_cli(tmp_path: Path, corpus: Path) -> None:
    database = tmp_path / "prices.db"
    with LocalServer() as server:
        server.route("/robots.txt", Reply(b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"}))
        server.route("/H100_80GB_SXM5.jsonl", Reply((corpus / TRACKER).read_bytes(),
                                                    headers={"Content-Type": "application/x-ndjson"}))
        server.route("/lambda/vms.csv", Reply(LAMBDA_CSV.encode(), headers={"Content-Type": "text/csv"}))
        config = write_config(tmp_path / "config.toml", f"""
[storage]
database = "{database}"

[crawl]
download_delay = 0
autothrottle = false
retry_times = 1
timeout = 20

[sources.rental]
feeds = [{{kind = "tracker", url = "{server.url}/H100_80GB_SXM5.jsonl"}},
         {{kind = "skypilot", url = "{server.url}/lambda/vms.csv", cloud = "lambda"}}]

[breakeven]
utilization = 0.5
power_usd_per_kwh = 0.10
pue = 1.5
other_usd_per_gpu_hour = 0.2
horizon_months = 24
residual_curve = [[0, 1.0], [12, 0.6], [36, 0.2]]
""")
        done = run_cli("--config", str(config), "crawl", "--source", "rental", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "rental: ok — 2 pages" in done.stdout and "5457 listings (5457 new, 0 updated)" in done.stdout
        again = run_cli("--config", str(config), "crawl", "--source", "rental", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert "5457 listings (5 new, 5452 updated)" in again.stdout  # the tracker history is stored once
    counts = query(database, "SELECT feed, COUNT(*) AS n FROM rental_observations GROUP BY feed ORDER BY feed")
    assert counts == [{"feed": "skypilot", "n": 10}, {"feed": "tracker", "n": 5452}]
    pages = query(database, "SELECT status, listings FROM pages ORDER BY listings")
    assert pages == [{"status": "ok", "listings": 5}] * 2 + [{"status": "ok", "listings": 5452}] * 2

    with SqliteStore(database) as store:  # today's asking prices: 28000, 30000, 32000 → median 30000
        store.save_listings(store.start_crawl("ebay-api"),
                            [_listing(f"e{p}", "h100-80gb-sxm5", p) for p in ("28000", "30000", "32000")])
    result = run_cli("--config", str(config), "breakeven", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    # Today's lambda offers of h100-80gb-sxm5: gpu_8x (23.92 / 8 = 2.99, two regions) and gpu_1x (3.29) → 3.14;
    # the tracker's snapshots are from 2025, outside the 30-day window.
    assert [(r["sku"], r["purchase_basis"], r["purchase_usd"], r["rental_usd_per_gpu_hour"], r["rental_n"])
            for r in rows] == [("h100-80gb-sxm5", "asking", "30000.00", "3.14", 2)]
    assert rows[0]["months"] == pytest.approx(18000 / ((3.14 - 0.305) * 730 * 0.5), abs=0.005)  # 17.40
    table = run_cli("--config", str(config), "rental", "--format", "csv", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "h100-80gb-pcie,on_demand,1,1,2.49" in table.stdout and "a10-24gb,on_demand,1,1,0.75" in table.stdout
