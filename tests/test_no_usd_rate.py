"""Currencies without an ECB rate (PEN, TWD): every row kept exact, no USD value, counted and visible;
a rate from the config's ``[fx.rates]`` values them, stored with its source and date.

The page is the corpus' real ebay.com page in IDR display currency, re-priced in memory the way eBay
shows the same page to a visitor from Peru ("S/. 44.38") or Taiwan ("NT$1,234.00"): the card markup
stays real, only the currency mark changes, so each row must come out with the IDR page's exact
numbers in the new currency.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from pydantic import ValidationError

from gpuprices.alerts.health import HealthRules, check_crawl
from gpuprices.core.listing import listing_row
from gpuprices.exceptions import ConfigError, ConversionError
from gpuprices.parsing import FileParser
from gpuprices.pipeline.currency import UsdConverter
from gpuprices.pipeline.enrich import Enricher
from gpuprices.pipeline.fx_settings import ConfiguredRate, FxSettings
from gpuprices.pipeline.reclassify import reclassify_store

IDR_PAGE = "ebay-search/s-card-2026-02-ebay-com-nike-shoes-idr-display.html"
OBSERVED = datetime(2026, 2, 26, 12, tzinfo=UTC)
PEN_RATE = {"usd": "0.2667", "date": "2026-02-25", "source": "BCRP"}
_IDR_PRICE = re.compile(rb"IDR(?=[0-9])")


def _repriced(corpus: Path, tmp_path: Path, mark: bytes) -> Path:
    page = corpus / IDR_PAGE
    if not page.exists():
        pytest.skip(f"{IDR_PAGE} not in this corpus")
    out = tmp_path / f"{mark.decode().strip()[:2].replace('/', '')}-page.html"
    out.write_bytes(_IDR_PRICE.sub(mark, page.read_bytes()))
    return out


def _parse(path: Path, fx: dict[str, Any] | None = None) -> Any:
    return FileParser(Enricher.from_settings({"fx": fx} if fx else None)).parse(
        path, source="ebay", site="ebay.com", observed_at=OBSERVED)


@pytest.fixture
def idr(corpus: Path) -> Any:
    page = corpus / IDR_PAGE
    if not page.exists():
        pytest.skip(f"{IDR_PAGE} not in this corpus")
    return _parse(page)


@pytest.mark.parametrize(("mark", "code"), [(b"S/. ", "PEN"), (b"NT$", "TWD")])
def test_every_row_kept_exact_without_a_rate(corpus: Path, tmp_path: Path, idr: Any, mark: bytes,
                                             code: str) -> None:
    result = _parse(_repriced(corpus, tmp_path, mark))
    assert not result.dropped, result.dropped  # nothing lost: no_usd_rate is no longer a drop
    expected = [(x.raw.item_id, x.price, x.price_max) for x in idr.listings]
    assert len(expected) == 60
    assert [(x.raw.item_id, x.price, x.price_max) for x in result.listings] == expected
    for listing in result.listings:
        assert listing.currency == code
        assert (listing.price_usd, listing.price_max_usd, listing.usd_rate, listing.usd_rate_date) == (None,) * 4
        assert listing.usd_rate_method == "none"
        assert listing.unit_price_usd is None
        row = listing_row(listing)
        assert row["price_usd"] is None and row["price"] == str(listing.price)


def test_a_configured_rate_values_them_with_its_source_and_date(corpus: Path, tmp_path: Path, idr: Any) -> None:
    result = _parse(_repriced(corpus, tmp_path, b"S/. "), fx={"rates": {"PEN": PEN_RATE}})
    assert len(result.listings) == 60 and not result.dropped
    rate = Decimal("0.2667")
    for listing, source in zip(result.listings, idr.listings, strict=True):
        assert (listing.price, listing.currency) == (source.price, "PEN")
        assert listing.price_usd == (source.price * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        assert (listing.usd_rate, listing.usd_rate_date, listing.usd_rate_method) == (
            rate, date(2026, 2, 25), "config:BCRP")


def test_a_configured_rate_never_overrides_the_ecb() -> None:
    converter = UsdConverter(configured={"EUR": ConfiguredRate(usd=Decimal("9"), date=date(2026, 1, 1), source="me")})
    conversion = converter.convert(Decimal("100"), "EUR", date(2025, 10, 27))
    assert (conversion.amount_usd, conversion.method) == (Decimal("116.40"), "ecb")
    with pytest.raises(ConversionError, match="TWD"):
        converter.convert(Decimal("100"), "TWD", date(2025, 10, 27))


@pytest.mark.parametrize("bad", [
    {"rates": {"PEN": {"usd": 0.27, "date": "2026-02-25", "source": "BCRP"}}},  # a float is not exact
    {"rates": {"PEN": {"usd": "-1", "date": "2026-02-25", "source": "BCRP"}}},
    {"rates": {"PEN": {"usd": "0.27", "date": "yesterday", "source": "BCRP"}}},
    {"rates": {"PEN": {"usd": "0.27", "date": "2026-02-25", "source": ""}}},
    {"rates": {"pen": {"usd": "0.27", "date": "2026-02-25", "source": "BCRP"}}},
    {"rates": {"PEN": {"usd": "0.27", "date": "2026-02-25"}}},
    {"rate": {}},
])
def test_the_rate_table_is_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FxSettings(**bad)


def test_a_bad_rate_in_the_config_file_is_one_line(tmp_path: Path) -> None:
    from gpuprices.config import load_settings

    config = tmp_path / "gpuprices.toml"
    config.write_text('[fx.rates]\nPEN = { usd = 0.27, date = "2026-02-25", source = "BCRP" }\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert "fx.rates.PEN.usd" in str(info.value) and "\n" not in str(info.value)
    config.write_text('[fx.rates]\nPEN = { usd = "0.2667", date = "2026-02-25", source = "BCRP" }\n')
    assert load_settings(config).classify_options["fx"] == {"rates": {"PEN": PEN_RATE}}


def test_stored_unvalued_rows_stay_out_of_usd_statistics_and_are_visible(store: Any, corpus: Path,
                                                                          tmp_path: Path) -> None:
    """Both backends: NULL price_usd is stored, exported, skipped by quarantine, index and reclassify."""
    from gpuprices.market.index import refresh_index, scratch_index

    pen = _parse(_repriced(corpus, tmp_path, b"S/. "))
    crawl = store.start_crawl("ebay")
    store.save_listings(crawl, pen.listings)
    store.finish_crawl(crawl, "ok", dropped=dict(pen.dropped))
    assert store.unvalued_counts(crawl) == {"PEN": 60}
    observations = list(store.export_rows("observations"))
    assert len(observations) == 60
    assert all(r["price_usd"] is None and r["currency"] == "PEN" and r["usd_rate_method"] == "none"
               for r in observations)
    assert {r["price"] for r in observations} == {str(x.price) for x in pen.listings}
    assert store.priced_rows(crawl_id=crawl) == []
    assert store.find_listings() == []  # none of them counts …
    assert len(store.find_listings(include_excluded=True)) == 60  # … but all are kept
    refresh_index(store)
    assert scratch_index(store, date(2026, 1, 1), date(2026, 12, 31)).empty
    reclassify_store(store, Enricher.from_settings(None))  # NULL price_usd must not crash it
    assert store.unvalued_counts(crawl) == {"PEN": 60}

    crawl_row = next(c for c in store.recent_crawls("ebay") if c["id"] == crawl)
    health = check_crawl(crawl_row, [], HealthRules(), store.unvalued_counts(crawl))
    assert not health.healthy
    assert "60 listings kept without a USD rate (no_usd_rate): PEN (60)" in health.problems


def test_parse_command_keeps_the_rows_and_says_so(corpus: Path, tmp_path: Path, cli_runner: Any) -> None:
    from gpuprices.cli import cli

    page = _repriced(corpus, tmp_path, b"S/. ")
    result = cli_runner.invoke(cli, ["parse", str(page), "--source", "ebay", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()] \
        if not result.stdout.lstrip().startswith("[") else json.loads(result.stdout)
    assert len(rows) == 60 and all(r["currency"] == "PEN" and r["price_usd"] is None for r in rows)
    assert "kept without a USD rate (no_usd_rate): PEN 60" in result.stderr


def test_reparse_values_kept_rows_once_a_rate_is_configured(store: Any, corpus: Path, tmp_path: Path) -> None:
    """Both backends: rows kept without a rate are re-valued by `reparse` after [fx.rates] names one."""
    from gpuprices.replay import reparse

    page = _repriced(corpus, tmp_path, b"S/. ")
    crawl = store.start_crawl("ebay")
    url = "https://www.ebay.com/sch/i.html?_nkw=nike+shoes"
    store.archive_page(crawl_id=crawl, source="ebay", url=url, status=200, body=page.read_bytes())
    unvalued = _parse(page).listings
    for listing in unvalued:
        listing.raw.page_url = url
    store.save_listings(crawl, unvalued)
    assert store.unvalued_counts(crawl) == {"PEN": 60}

    report = reparse(store, Enricher.from_settings({"fx": {"rates": {"PEN": PEN_RATE}}}), source="ebay")
    assert report.pages == 1 and report.listings == 60
    assert store.unvalued_counts(crawl) == {}
    rows = list(store.export_rows("observations"))
    assert len(rows) == 60
    assert {(r["currency"], r["usd_rate"], r["usd_rate_date"], r["usd_rate_method"]) for r in rows} == {
        ("PEN", "0.2667", "2026-02-25", "config:BCRP")}


def test_a_made_up_api_currency_code_is_a_named_drop() -> None:
    from gpuprices.core.items import RawListing
    from gpuprices.pipeline.normalize import DroppedListing, Normalizer

    raw = RawListing(source="ebay-api", site="EBAY_US", item_id="v1|1|0", title="NVIDIA A100 40GB PCIe",
                     price_value="100.00", currency_raw="QQQ", observed_at=OBSERVED)
    with pytest.raises(DroppedListing) as info:
        Normalizer().normalize(raw)
    assert info.value.reason == "unknown_currency:QQQ"
    kept = Normalizer().normalize(attrs.evolve(raw, currency_raw="PEN"))
    assert (kept.price, kept.currency, kept.price_usd, kept.usd_rate_method) == (Decimal("100.00"), "PEN", None, "none")
