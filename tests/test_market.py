"""Market index: which rows count, exact statistics, dated list prices, premium, 7-day change, CLI, chart."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from gpuprices.cli import cli
from gpuprices.exceptions import NoDataError
from gpuprices.market import (
    INDEX_COLUMNS,
    INDEX_EXPORT_COLUMNS,
    OBSERVATION_COLUMNS,
    compute_index,
    daily_index,
    index_rows,
    load_observations,
    premium_table,
)
from gpuprices.market.index import money, utc_today
from gpuprices.pipeline.classify.catalog import Catalog, load_catalog
from gpuprices.storage.common import SqlStore
from gpuprices.storage.factory import open_store
from tests.e2e import run_cli
from tests.market_data import insert_observations, synthetic_market

H100 = "h100-80gb-pcie"  # built-in list price: $36,000 from 2023-04-14
DAY = date(2026, 3, 10)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    # A second, dated H100 list price ($30,000 from 2026-03-15) and a SKU without any list price.
    return load_catalog(extra={
        "list_prices": {H100: [{"date": "2026-03-15", "usd": "30000", "source": "test"}]},
        "skus": [{"id": "test-gpu-8gb", "model": "Test GPU", "memory_gb": 8, "form_factor": "pcie"}],
    })


def at(day: date, hour: int = 12) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00+00:00"


def rows_of(index: pd.DataFrame, **match: Any) -> pd.DataFrame:
    mask = pd.Series(True, index=index.index)
    for key, value in match.items():
        mask &= index[key] == (pd.Timestamp(value) if isinstance(value, date) else value)
    return index[mask]


def one(index: pd.DataFrame, **match: Any) -> pd.Series:
    found = rows_of(index, **match)
    assert len(found) == 1, f"{len(found)} rows for {match}"
    return found.iloc[0]


def build(store: SqlStore, catalog: Catalog, rows: list[dict[str, Any]], *, since: date = DAY,
          until: date | None = None, min_samples: int = 10) -> pd.DataFrame:
    insert_observations(store, rows)
    frame = load_observations(store, since=since, until=until or since + timedelta(days=30))
    return daily_index(frame, catalog, min_samples=min_samples)


def test_exact_median_quartiles_iqr_and_condition_groups(store: SqlStore, catalog: Catalog) -> None:
    prices = {"1": ("20000", "used"), "2": ("22000", "refurbished"), "3": ("25000", None), "4": ("31000", "new"),
              "5": ("33000", "open_box")}
    rows = [{"item_id": i, "price": p, "condition": c, "seller": f"s{i}", "observed_at": at(DAY)}
            for i, (p, c) in prices.items()]
    index = build(store, catalog, rows)
    assert list(index.columns) == list(INDEX_COLUMNS)
    used = one(index, sku=H100, side="asking", condition_group="used", day=DAY)
    # 20000, 22000, 25000 (an unknown condition counts as used); linear interpolation (numpy's default)
    assert (used.n, used.sellers, used.median_usd, used.p25_usd, used.p75_usd, used.iqr_usd, used.min_usd) == (
        3, 3, 22000.0, 21000.0, 23500.0, 2500.0, 20000.0)
    new = one(index, sku=H100, side="asking", condition_group="new", day=DAY)
    assert (new.n, new.median_usd) == (2, 32000.0)  # new + open box
    both = one(index, sku=H100, side="asking", condition_group="all", day=DAY)
    # 20000 22000 25000 31000 33000: median 25000, p25 22000, p75 31000
    assert (both.n, both.sellers, both.median_usd, both.p25_usd, both.p75_usd, both.iqr_usd) == (
        5, 5, 25000.0, 22000.0, 31000.0, 9000.0)
    assert len(index) == 3  # no sold rows were invented


def test_rows_that_must_not_count_never_count(store: SqlStore, catalog: Catalog) -> None:
    good: list[dict[str, Any]] = [{"item_id": "ok-ask", "price": "25000"},
            {"item_id": "ok-sold", "price": "21000", "sold": 1, "ended": 1, "sold_at": DAY.isoformat()}]
    bad: list[dict[str, Any]] = [
        {"item_id": "excluded", "excluded_reason": "accessory", "price": "100"},
        {"item_id": "quarantined", "quarantined": 1, "price": "900"},
        {"item_id": "broken", "working": 0, "price": "5000"},
        {"item_id": "parts", "condition": "for_parts", "price": "4000"},
        {"item_id": "no-unit-price", "price": None},
        {"item_id": "no-sku", "sku": None, "price": "1"},
        {"item_id": "empty-sku", "sku": "", "price": "1"},
        {"item_id": "best-offer", "sold": 1, "ended": 1, "best_offer_accepted": 1, "sold_at": DAY.isoformat(),
         "price": "36000"},
        {"item_id": "ended-unsold", "sold": 0, "ended": 1, "price": "99999"},
    ]
    index = build(store, catalog, [{**r, "observed_at": at(DAY)} for r in good + bad])
    asking = one(index, side="asking", condition_group="all")
    sold = one(index, side="sold", condition_group="all")
    assert (asking.n, asking.median_usd) == (1, 25000.0)
    assert (sold.n, sold.median_usd) == (1, 21000.0)
    frame = load_observations(store, since=DAY, until=DAY)
    assert list(frame.columns) == list(OBSERVATION_COLUMNS)
    assert sorted(frame["unit_price_usd"]) == [21000.0, 25000.0]


def test_a_listing_seen_three_times_a_day_counts_once_at_its_latest_price(store: SqlStore,
                                                                          catalog: Catalog) -> None:
    rows = [{"item_id": "x", "price": price, "observed_at": at(day, hour)}
            for day, hour, price in [(DAY, 21, "26000"), (DAY, 3, "24000"), (DAY, 9, "25000"),
                                     (DAY + timedelta(days=1), 6, "23000")]]
    rows.append({"item_id": "y", "price": "30000", "seller": "seller-b", "observed_at": at(DAY)})
    index = build(store, catalog, rows)
    first = one(index, side="asking", condition_group="all", day=DAY)
    assert (first.n, first.sellers, first.median_usd, first.min_usd) == (2, 2, 28000.0, 26000.0)
    second = one(index, side="asking", condition_group="all", day=DAY + timedelta(days=1))
    assert (second.n, second.median_usd) == (1, 23000.0)


def test_sales_count_on_their_sale_day_and_once(store: SqlStore, catalog: Catalog) -> None:
    sale_day = DAY - timedelta(days=3)
    rows = [
        # seen on the sold page on three days, sold three days before the first sighting
        *({"item_id": "dated", "price": "20000", "sold": 1, "ended": 1, "sold_at": sale_day.isoformat(),
           "observed_at": at(DAY + timedelta(days=d))} for d in range(3)),
        # no sale date: counted once, on the first day it was seen sold
        *({"item_id": "undated", "price": "22000", "sold": 1, "ended": 1, "observed_at": at(DAY + timedelta(days=d))}
          for d in (2, 1)),
    ]
    index = build(store, catalog, rows, since=sale_day)
    sold = rows_of(index, side="sold", condition_group="all")
    assert [(r.day.date(), r.n, r.median_usd) for r in sold.itertuples()] == [
        (sale_day, 1, 20000.0), (DAY + timedelta(days=1), 1, 22000.0)]
    # a window that starts after the sale day does not count the sale
    later = daily_index(load_observations(store, since=DAY, until=DAY + timedelta(days=5)), catalog)
    assert rows_of(later, side="sold", day=sale_day).empty


def test_the_index_only_knows_observations_made_by_until(store: SqlStore, catalog: Catalog) -> None:
    insert_observations(store, [{"item_id": "a", "observed_at": at(DAY)},
                                {"item_id": "b", "observed_at": at(DAY + timedelta(days=1), 0)}])
    assert len(load_observations(store, since=DAY, until=DAY)) == 1
    assert len(load_observations(store, since=DAY, until=DAY + timedelta(days=1))) == 2
    assert load_observations(store, since=DAY, until=DAY, sku="a100-80gb-pcie").empty


def test_indicative_with_few_listings_or_one_seller(store: SqlStore, catalog: Catalog) -> None:
    many = [{"item_id": f"m{i}", "price": str(20000 + i), "seller": f"s{i % 3}", "observed_at": at(DAY)}
            for i in range(10)]
    single = [{"item_id": f"o{i}", "sku": "a100-80gb-pcie", "price": "9000", "seller": "only-one",
               "observed_at": at(DAY)} for i in range(12)]
    few = [{"item_id": f"f{i}", "sku": "l40s-48gb", "price": "7000", "seller": f"s{i}", "observed_at": at(DAY)}
           for i in range(3)]
    index = build(store, catalog, many + single + few, min_samples=10)
    assert not one(index, sku=H100, condition_group="all").indicative  # 10 listings, 3 sellers
    assert one(index, sku="a100-80gb-pcie", condition_group="all").indicative  # 12 listings, 1 seller
    assert one(index, sku="l40s-48gb", condition_group="all").indicative  # 3 sellers, 3 < 10 listings
    assert not build(store, catalog, [], min_samples=3).pipe(one, sku="l40s-48gb", condition_group="all").indicative


def test_premium_uses_the_list_price_valid_that_day_and_is_signed(store: SqlStore, catalog: Catalog) -> None:
    before, after = date(2026, 3, 14), date(2026, 3, 15)
    rows = [{"item_id": f"{d}-{i}", "price": "24000", "seller": f"s{i}", "observed_at": at(d)}
            for d in (before, after) for i in range(2)]
    rows.append({"item_id": "above", "sku": "a100-80gb-pcie", "price": "16500", "observed_at": at(before)})
    rows.append({"item_id": "unpriced", "sku": "test-gpu-8gb", "price": "500", "observed_at": at(before)})
    index = build(store, catalog, rows, since=before)
    old = one(index, sku=H100, day=before, condition_group="all")
    new = one(index, sku=H100, day=after, condition_group="all")
    assert (old.list_price_usd, old.list_price_date.date()) == (36000.0, date(2023, 4, 14))
    assert (new.list_price_usd, new.list_price_date.date(), new.list_price_source) == (30000.0, after, "test")
    assert old.premium == pytest.approx(24000 / 36000 - 1) and old.premium < 0  # -33 %: below list is negative
    assert new.premium == pytest.approx(-0.2)
    assert one(index, sku="a100-80gb-pcie", condition_group="all").premium == pytest.approx(0.1)  # above list
    unpriced = one(index, sku="test-gpu-8gb", condition_group="all")
    assert math.isnan(unpriced.premium) and math.isnan(unpriced.list_price_usd) and pd.isna(unpriced.list_price_date)


def _series(medians: dict[int, str], *, sku: str = H100) -> list[dict[str, Any]]:
    start = date(2026, 3, 1)
    return [{"item_id": f"{sku}-{d}", "sku": sku, "price": p, "observed_at": at(start + timedelta(days=d))}
            for d, p in medians.items()]


def test_premium_table_latest_day_and_7_day_change(store: SqlStore, catalog: Catalog) -> None:
    rows = _series({0: "30000", 4: "21000", 7: "20000", 14: "18000", 16: "99999"})  # day 16 is after "today"
    rows += _series({0: "9000", 20: "9900"}, sku="a100-80gb-pcie")  # only a 20-day-old reference: no change
    rows += _series({14: "7000"}, sku="l40s-48gb")  # no reference at all
    index = build(store, catalog, rows, since=date(2026, 3, 1))
    table = premium_table(index, today=date(2026, 3, 21))
    by_key = {(r["sku"], r["side"], r["condition_group"]): r for r in table}
    h100 = by_key[(H100, "asking", "all")]
    # latest day ≤ today is 03-17 (day 16); 7 days earlier is 03-10 → nearest earlier day with data is 03-08 (day 7)
    assert h100["day"] == "2026-03-17" and h100["change_7d"] == pytest.approx(round(99999 / 20000 - 1, 4))
    table = premium_table(index, today=date(2026, 3, 16))
    by_key = {(r["sku"], r["side"], r["condition_group"]): r for r in table}
    h100 = by_key[(H100, "asking", "all")]
    assert h100 == {
        "sku": H100, "side": "asking", "condition_group": "all", "day": "2026-03-15", "n": 1, "sellers": 1,
        "median_usd": "18000.00", "p25_usd": "18000.00", "p75_usd": "18000.00", "list_price_usd": "30000.00",
        "list_price_date": "2026-03-15", "premium": -0.4, "premium_pct": -40.0, "change_7d": -0.1,
        "indicative": True,
    }
    assert (H100, "asking", "new") not in by_key  # groups without data are not invented
    assert by_key[("l40s-48gb", "asking", "all")]["change_7d"] is None
    a100 = premium_table(index, today=date(2026, 3, 25))
    assert {(r["sku"], r["change_7d"]) for r in a100 if r["condition_group"] == "all"} >= {("a100-80gb-pcie", None)}
    assert premium_table(index, today=date(2026, 2, 1)) == []


def test_index_rows_for_export(store: SqlStore, catalog: Catalog) -> None:
    today = utc_today()
    insert_observations(store, [
        {"item_id": "a", "price": "20000.105", "observed_at": at(today - timedelta(days=2))},
        {"item_id": "b", "price": "21000", "observed_at": at(today - timedelta(days=40))},
    ])
    rows = list(index_rows(store, catalog, since=None, days=30))
    assert [r["day"] for r in rows] == [(today - timedelta(days=2)).isoformat()] * 2  # used + all
    row = rows[1]  # new, used, all: the aggregate comes last
    assert tuple(row) == INDEX_EXPORT_COLUMNS
    assert (row["median_usd"], row["n"], row["indicative"], row["condition_group"]) == ("20000.11", 1, True, "all")
    assert isinstance(row["premium"], float) and row["premium"] < 0 and row["list_price_date"] is not None
    json.dumps(rows)  # plain JSON types only
    older = list(index_rows(store, catalog, since=today - timedelta(days=60), days=30))
    assert len(older) == 4


def test_money_rounds_half_up_to_cents() -> None:
    assert (money(100.015), money(31999.46), money(float("nan")), money(None)) == ("100.02", "31999.46", None, None)


def test_synthetic_market_is_consistent(store: SqlStore, catalog: Catalog) -> None:
    insert_observations(store, synthetic_market(start=date(2026, 1, 1), days=20, listings_per_day=120))
    index = compute_index(store, catalog, days=20, today=date(2026, 1, 20))
    parts = index[index["condition_group"] != "all"].groupby(["day", "sku", "side"])["n"].sum()
    totals = index[index["condition_group"] == "all"].set_index(["day", "sku", "side"])["n"]
    assert parts.sort_index().equals(totals.sort_index())
    assert (rows_of(index, sku=H100, condition_group="all")["premium"] < 0).all()
    assert (index["p25_usd"] <= index["median_usd"]).all() and (index["median_usd"] <= index["p75_usd"]).all()


def _configured(tmp_path: Path) -> str | Path:
    text = (tmp_path / "gpuprices.toml").read_text(encoding="utf-8")
    value = text.split('database = "', 1)[1].split('"', 1)[0]
    return value if "://" in value else Path(value)


# -- command line -----------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, database: str | Path) -> Path:
    """A config on a fresh database of each backend (the file ``cli.db``, or a PostgreSQL URL)."""
    if isinstance(database, Path):
        database = tmp_path / "cli.db"
    path = tmp_path / "gpuprices.toml"
    path.write_text(f'[storage]\ndatabase = "{database}"\n[market]\nmin_samples = 2\n', encoding="utf-8")
    return path


def _fill_cli_db(tmp_path: Path) -> date:
    today = utc_today()
    with open_store(_configured(tmp_path)) as db:
        insert_observations(db, [
            {"item_id": f"h{i}", "price": str(20000 + 1000 * i), "seller": f"s{i}",
             "observed_at": at(today - timedelta(days=d))} for d in (0, 7) for i in range(3)
        ] + [{"item_id": "sold", "price": "19000", "sold": 1, "ended": 1, "sold_at": today.isoformat(),
              "observed_at": at(today)}])
    return today


def test_cli_premium_json(tmp_path: Path, config: Path) -> None:
    today = _fill_cli_db(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(config), "premium", "--format", "json", "--sku", H100])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    keys = {(r["side"], r["condition_group"]) for r in rows}
    assert keys == {("asking", "all"), ("asking", "used"), ("sold", "all"), ("sold", "used")}
    asking = next(r for r in rows if (r["side"], r["condition_group"]) == ("asking", "all"))
    assert asking["sku"] == H100 and asking["day"] == today.isoformat()
    assert (asking["n"], asking["median_usd"], asking["list_price_usd"]) == (3, "21000.00", "36000.00")
    assert asking["premium"] == pytest.approx(round(21000 / 36000 - 1, 4)) and asking["indicative"] is False
    assert asking["change_7d"] == 0.0
    sold = next(r for r in rows if (r["side"], r["condition_group"]) == ("sold", "all"))
    assert sold["indicative"] is True and sold["change_7d"] is None


def test_cli_premium_table_csv_and_all(tmp_path: Path, config: Path) -> None:
    _fill_cli_db(tmp_path)
    table = CliRunner().invoke(cli, ["--config", str(config), "premium"])
    assert table.exit_code == 0 and H100 in table.output and "-41.7%" in table.output
    csv_out = CliRunner().invoke(cli, ["--config", str(config), "premium", "--format", "csv"])
    assert csv_out.output.splitlines()[0].startswith("sku,side,condition_group,day,n,")
    everything = CliRunner().invoke(cli, ["--config", str(config), "premium", "--format", "json", "--all",
                                          "--sku", "a100-80gb-pcie"])
    rows = [json.loads(line) for line in everything.output.splitlines()]
    assert len(rows) == 6 and all(r["n"] == 0 and r["list_price_usd"] == "15000.00" for r in rows)
    unknown = CliRunner().invoke(cli, ["--config", str(config), "premium", "--sku", "h9000"])
    assert unknown.exit_code == 2 and "unknown SKU" in unknown.output


def test_render_chart_png_and_html(tmp_path: Path, store: SqlStore, catalog: Catalog) -> None:
    from gpuprices.market import render_chart  # matplotlib: loaded by the worker that runs this test only

    insert_observations(store, synthetic_market(start=date(2026, 3, 1), days=25, listings_per_day=80))
    index = compute_index(store, catalog, days=25, today=date(2026, 3, 25))
    png = render_chart(index, sku=H100, output=tmp_path / "h100.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    page = render_chart(index, sku=H100, side="sold", condition_group="used", output=tmp_path / "h100.html")
    text = page.read_text(encoding="utf-8")
    assert '<img alt="' in text and "data:image/png;base64,iVBORw0KGgo" in text and "<td>2026-03-" in text
    with pytest.raises(ValueError, match="no index data for b200"):
        render_chart(index, sku="b200", output=tmp_path / "b200.png")
    with pytest.raises(ValueError, match=r"\.png or \.html"):
        render_chart(index, sku=H100, output=tmp_path / "h100.svg")


def test_cli_chart_picks_the_busiest_sku(tmp_path: Path, config: Path) -> None:
    _fill_cli_db(tmp_path)
    out = tmp_path / "chart.html"
    result = CliRunner().invoke(cli, ["--config", str(config), "chart", "-o", str(out), "--days", "30"])
    assert result.exit_code == 0, result.output
    assert H100 in result.output and "data:image/png;base64," in out.read_text(encoding="utf-8")


def test_cli_chart_without_data_is_one_line_exit_4(tmp_path: Path, config: Path) -> None:
    _fill_cli_db(tmp_path)
    result = run_cli("--config", str(config), "chart", "--sku", "a100-80gb-pcie", "-o", str(tmp_path / "x.png"),
                     cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr and "no index data" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()
    wrong_side = CliRunner().invoke(cli, ["--config", str(config), "chart", "--sku", H100, "--condition", "new",
                                          "-o", str(tmp_path / "y.png")])
    assert isinstance(wrong_side.exception, NoDataError)  # main() turns it into exit code 4
    assert "no index data for h100-80gb-pcie (asking, condition new)" in str(wrong_side.exception)


def test_chart_with_one_day_draws_band_and_list_price_on_a_short_time_axis(store: Any,
                                                                          catalog: Catalog) -> None:
    import itertools

    import numpy as np
    from matplotlib import dates as mdates

    from gpuprices.market.chart import chart_figure

    day = date(2026, 3, 10)
    insert_observations(store, [{"item_id": f"one{i}", "price": str(30000 + 1500 * i), "seller": f"s{i}",
                                 "observed_at": at(day)} for i in range(4)])
    index = compute_index(store, catalog, days=1, today=day, min_samples=2)
    rows = rows_of(index, sku=H100, side="asking", condition_group="all")
    figure = chart_figure(rows, sku=H100, side="asking", condition_group="all")
    figure.canvas.draw()
    price_ax, premium_ax = figure.axes
    start, end = (mdates.num2date(x) for x in premium_ax.get_xlim())
    assert 6 <= (end - start).days <= 8  # about a week around the day, not years
    band = price_ax.collections[0]
    assert band.get_paths() and np.ptp(band.get_paths()[0].vertices[:, 0]) > 0.9  # a day wide, not a zero-width sliver
    list_line = next(line for line in price_ax.lines if line.get_label() == "list price")
    assert len(set(list_line.get_xdata())) >= 2 and set(list_line.get_ydata()) == {36000.0}
    labels = [tick.get_text() for tick in premium_ax.get_yticklabels() if tick.get_text()]
    values = [float(label.rstrip("%").replace("−", "-")) for label in labels]
    steps = {round(b - a, 6) for a, b in itertools.pairwise(values)}
    assert len(steps) == 1  # evenly spaced ticks, each printed exactly (no "+2%" for 2.5)
    assert all(label == "0%" or label.startswith(("+", "-")) for label in labels)
