"""Streaming exports: tuple rows, booleans as booleans, spreadsheet formulas neutralized in text only."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import attrs
import pytest

from gpuprices.cli.output import FORMULA_PREFIXES, write_lines, write_table
from gpuprices.storage import exports
from gpuprices.storage.exports import export_chunks, export_lines, export_query
from gpuprices.storage.sqlite import SqliteStore
from tests.test_index_materialized import _listing

TITLES = ["NVIDIA H100", "=HYPERLINK(\"http://x\")", "-42", "+cmd", "@SUM(A1)", "-not a number", "plain"]


def _store(tmp_path: Path, titles: list[str] = TITLES) -> SqliteStore:
    store = SqliteStore(tmp_path / "export.db")
    crawl = store.start_crawl("ebay")
    items = []
    for index, title in enumerate(titles):
        item = _listing(index, 0, 12, 0, 1000 + index, "sold" if index % 2 else "asking", 0, index, "used", 0)
        items.append(attrs.evolve(item, raw=attrs.evolve(item.raw, title=title)))
    store.save_listings(crawl, items)
    return store


def _export(store: SqliteStore, table: str, fmt: str) -> str:
    query = export_query(store, table)
    out = io.StringIO()
    chunks = export_chunks(store, table, flag_prefixes=FORMULA_PREFIXES if fmt == "csv" else None,
                           bool_text=("true", "false") if fmt == "csv" else None)
    count = write_table(chunks, query.columns, query.kinds, fmt, out)
    assert count == len(TITLES)
    return out.getvalue()


@pytest.mark.parametrize("chunk", [2, 5000])  # flagged rows found across chunk boundaries too
def test_csv_neutralizes_formula_text_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(exports, "_CHUNK", chunk)
    with _store(tmp_path) as store:
        rows = list(csv.DictReader(io.StringIO(_export(store, "observations", "csv"))))
    assert [r["title"] for r in rows] == ["NVIDIA H100", "'=HYPERLINK(\"http://x\")", "-42", "'+cmd", "'@SUM(A1)",
                                          "'-not a number", "plain"]
    assert [r["sold"] for r in rows] == ["false", "true"] * 3 + ["false"]
    assert rows[0]["family"] == "ebay" and rows[0]["item_id"] == "0" and rows[0]["price"] == "1000"
    assert rows[0]["sold_at"] == "" and rows[0]["id"] == "1"  # NULL is an empty cell


def test_json_keeps_types(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        rows = [json.loads(line) for line in _export(store, "observations", "json").splitlines()]
        listings = [json.loads(line) for line in _export(store, "listings", "json").splitlines()]
    assert rows[1]["title"] == "=HYPERLINK(\"http://x\")"  # JSON is data, not a spreadsheet
    assert rows[1]["sold"] is True and rows[0]["sold"] is False and rows[0]["working"] is True
    assert rows[0]["sold_at"] is None and isinstance(rows[0]["id"], int)
    assert listings[3]["title"] == "+cmd" and listings[3]["quarantined"] is False


ODD_TITLES = [*TITLES, "a, b", 'say "hi"', "two\nlines", "cr\rhere", "crlf\r\n", "\uff1dSUM(1)", "\u200b=1",
              " =1", "\t-x", "tab\tinside", "ctl\x01cell", "\x01=start", "unit\x1fsep", "", "é, ü", "=", "-0.42",
              "﻿bom", "\u00a0+1", "'quoted", '"', ","]


@pytest.mark.parametrize("chunk", [3, 5000])
def test_lines_match_the_tuple_writer_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    chunk: int) -> None:
    """The database-built lines give exactly the CSV the tuple writer gives, odd values included."""
    monkeypatch.setattr(exports, "_CHUNK", chunk)
    with _store(tmp_path, ODD_TITLES) as store:
        db = store.db.conn
        # Values the program never writes but SQLite's loose typing allows: both writers must agree.
        db.execute("UPDATE observations SET bids = 2.5 WHERE id = 2")
        db.execute("UPDATE observations SET bids = 0.1 + 0.2 WHERE id = 3")
        db.execute("UPDATE observations SET gpu_count = 'two, maybe' WHERE id = 4")
        db.execute("UPDATE observations SET memory_gb = 12345678901234 WHERE id = 5")
        db.execute("UPDATE observations SET extra = '{\"a\": \"b, c\"}', query = '+q' WHERE id = 6")
        db.execute("UPDATE observations SET price_text = '' WHERE id = 7")
        assert store.builds_lines
        query = export_query(store, "observations")
        by_tuples, by_lines = io.StringIO(), io.StringIO()
        write_table(export_chunks(store, "observations", flag_prefixes=FORMULA_PREFIXES, bool_text=("true", "false")),
                    query.columns, query.kinds, "csv", by_tuples)
        count = write_lines(export_lines(store, "observations", bool_text=("true", "false")), query.columns,
                            query.kinds, by_lines)
    assert count == len(ODD_TITLES)
    assert by_lines.getvalue() == by_tuples.getvalue()
    titles = [row["title"] for row in csv.DictReader(io.StringIO(by_lines.getvalue()))]
    assert titles[len(TITLES):len(TITLES) + 4] == ["a, b", 'say "hi"', "two\nlines", "cr\rhere"]
    assert "'\uff1dSUM(1)" in titles and "'\u200b=1" in titles and "\x01=start" in titles
    assert ",0.30000000000000004," in by_lines.getvalue() and ',"two, maybe",' in by_lines.getvalue()
