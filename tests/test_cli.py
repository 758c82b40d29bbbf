"""The command line: help everywhere, config errors, ``parse`` on the corpus, ``classify``."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gpuprices.cli import cli
from tests.e2e import run_cli

PARSE_KEYS = {"item_id", "title", "url", "price", "price_max", "currency", "currency_raw", "price_usd", "usd_rate",
              "usd_rate_date", "shipping", "shipping_currency", "condition", "condition_raw", "listing_type",
              "bids", "sold", "ended", "best_offer_accepted", "sold_at"}


def _all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(_all_commands(command, prefix + name + " "))
    return found


@pytest.mark.parametrize(("name", "command"), _all_commands(cli))
def test_every_command_has_help(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 20, f"{name} has no help text"
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_group_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    for name in ("crawl", "parse", "export", "classify", "reclassify"):
        assert name in result.output


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[storage]\ndatabase = 3\n", "storage.database"),
        ('[sources.ebay]\nmax_pages = "two"\n', "sources.ebay.max_pages"),
        ("[sources.ebay]\nmaxpages = 2\n", "sources.ebay.maxpages"),
        ('[sources.ebay]\nqueries = "h100"\n', "sources.ebay.queries"),
        ('[sources.ebay]\nbase_url = "www.ebay.com"\n', "sources.ebay.base_url"),
        ("[sources.ebay-api]\ndaily_call_budget = -1\n", "sources.ebay-api.daily_call_budget"),
        ("[crawl]\nconcurrent_requests_per_domain = 8\n", "crawl.concurrent_requests_per_domain"),
        ("[storage\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_the_key_exit_2(tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    done = run_cli("--config", str(config), "export", "crawls", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], done.stderr
    assert not (tmp_path / "gpuprices.db").exists()  # nothing was touched


def test_missing_config_file_from_env(tmp_path: Path) -> None:
    done = run_cli("export", "crawls", cwd=tmp_path, env={"GPUPRICES_CONFIG": str(tmp_path / "nope.toml")})
    assert done.returncode == 2 and "config file not found" in done.stderr


def test_secret_in_bad_config_is_not_echoed(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[sources.ebay-api]\nclient_secret = "PRD-abc-secret"\nmarketplace = 5\n')
    done = run_cli("--config", str(config), "crawl", cwd=tmp_path)
    assert done.returncode == 2 and "PRD-abc-secret" not in done.stderr + done.stdout


def test_defaults_work_without_config(tmp_path: Path) -> None:
    done = run_cli("export", "crawls", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("id,source,started_at")
    assert (tmp_path / "gpuprices.db").exists()


def _parse_json(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, ["parse", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_parse_search_page_keys_and_gt5_values(corpus: Path) -> None:
    rows = _parse_json(str(corpus / "ebay-search/s-card-2026-04-ebay-de-lego-nan-eur.html"), "--date", "2026-04-14")
    assert len(rows) == 60
    assert set(rows[0]) >= PARSE_KEYS
    first = rows[0]
    assert (first["item_id"], first["price"], first["price_max"], first["currency"]) == (
        "266831246079", "17.72", "18.66", "EUR")
    assert (first["shipping"], first["shipping_currency"]) == ("10.24", "EUR")
    assert first["usd_rate_date"] == "2026-04-14" and first["usd_rate_method"] == "ecb"
    expected_usd = (Decimal("17.72") * Decimal(str(first["usd_rate"]))).quantize(Decimal("0.01"))
    assert first["price_usd"] == str(expected_usd)
    third = rows[2]
    assert (third["price"], third["price_max"], third["shipping"]) == ("26.73", None, "12.96")
    assert sum(1 for r in rows if r["price_max"]) == 23


def test_parse_sold_japanese_page_gt6(corpus: Path) -> None:
    rows = _parse_json(str(corpus / "ebay-sold/s-card-sold-2026-01-ebay-com-ja-ui-pink-floyd-cd-jpy.html"),
                       "--date", "2026-01-20")
    assert len(rows) == 55
    first = rows[0]
    assert (first["item_id"], first["price"], first["currency"], first["currency_raw"]) == (
        "365170894671", "8916", "JPY", "円")
    assert (first["sold"], first["ended"], first["sold_at"], first["shipping"]) == (True, True, "2026-01-09", "3391")
    assert first["condition"] == "new"
    assert all(r["sold"] for r in rows)
    assert sum(1 for r in rows if r["best_offer_accepted"]) == 6
    accepted = [r for r in rows if r["best_offer_accepted"]]
    assert all(r["unit_price_usd"] is None for r in accepted)  # the sale price is hidden


def test_parse_completed_page_gt4(corpus: Path) -> None:
    rows = _parse_json(str(corpus / "ebay-sold/s-card-completed-2025-10-ebay-com-champion-reverse-weave.html"))
    by_id = {r["item_id"]: r for r in rows}
    assert (by_id["134302287832"]["sold"], by_id["134302287832"]["sold_at"]) == (True, "2025-10-27")
    ended = by_id["406307126070"]
    assert (ended["sold"], ended["ended"], ended["price"]) == (False, True, "250.00")
    assert by_id["297576927757"]["best_offer_accepted"] is True
    assert by_id["146815499898"]["listing_type"] == "best_offer"


def test_parse_idr_display_page(corpus: Path) -> None:
    rows = _parse_json(str(corpus / "ebay-search/s-card-2026-02-ebay-com-nike-shoes-idr-display.html"))
    assert len(rows) == 60
    assert {r["currency"] for r in rows} == {"IDR"}
    assert all("Opens in a new window" not in str(r["title"]) for r in rows)


def test_parse_api_response_gt8(corpus: Path) -> None:
    rows = _parse_json(str(corpus / "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json"))
    first = rows[0]
    assert (first["item_id"], first["price"], first["currency"], first["shipping"]) == (
        "285539337148", "31999.46", "USD", "0.00")
    assert first["listing_type"] == "buy_it_now" and first["sold"] is False


def test_parse_csv_has_header_and_one_row_per_listing(corpus: Path) -> None:
    result = CliRunner().invoke(cli, ["parse", "--format", "csv",
                                      str(corpus / "ebay-search/s-item-2025-03-ebay-com-shirts-usd.html"),
                                      str(corpus / "ebay-api/browse-search-nvidia-l40s-2023-12.json")])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 60 + 7
    first = rows[0]
    assert (first["item_id"], first["price"], first["price_max"], first["shipping"]) == (
        "253241346941", "10.44", "15.96", "32.51")


def test_parse_blocked_page_exit_3_one_line(tmp_path: Path, corpus: Path) -> None:
    done = run_cli("parse", str(corpus / "ebay-blocked/pardon-our-interruption-2026-07-ebay-com.html"), cwd=tmp_path)
    assert done.returncode == 3
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "blocked" in lines[0]


def test_parse_layout_change_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "changed.html"
    page.write_text("<html><body><ul class='srp-results'><li class='s-card' data-listingid='1'><div>new markup"
                    "</div></li><li class='s-card' data-listingid='2'><div>new</div></li>"
                    "<li class='s-card' data-listingid='3'><div>new</div></li></ul></body></html>")
    done = run_cli("parse", str(page), cwd=tmp_path)
    assert done.returncode == 1
    assert "layout_change" in done.stderr


def test_classify_titles_from_args_and_stdin() -> None:
    result = CliRunner().invoke(cli, ["classify", "NVIDIA Tesla H100 80GB GPU PCIe Version Not SXM version",
                                      "Nvidia Passive HEATSINK for Tesla A100 NVLINK SXM4"])
    assert result.exit_code == 0
    card, heatsink = (json.loads(line) for line in result.stdout.splitlines())
    assert (card["model"], card["sku"], card["form_factor"], card["excluded_reason"]) == (
        "H100", "h100-80gb-pcie", "pcie", None)
    assert heatsink["excluded_reason"] == "accessory" and heatsink["classification_note"]
    piped = CliRunner().invoke(cli, ["classify"], input="5pcs Nvidia A100 40GB PCIe\n\n")
    lot = json.loads(piped.stdout.strip())
    assert lot["gpu_count"] == 5 and lot["model"] == "A100"
