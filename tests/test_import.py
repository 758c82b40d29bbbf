"""``gpuprices import``: saved pages, API responses and rental feeds into the database, like a crawl."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gpuprices.parsing import page_date, wrong_kind
from tests.e2e import query, run_cli

H100_API = "ebay-api/browse-search-nvidia-h100-pcie-2023-12.json"
A100_API = "ebay-api/browse-search-nvidia-a100-pcie-2023-12.json"
SOLD = "ebay-sold/s-card-completed-2025-10-ebay-com-champion-reverse-weave.html"
BLOCKED = "ebay-blocked/pardon-our-interruption-2026-07-ebay-com.html"
TRACKER = "cloud-pricing/primeintellect-agg-h100-80gb-sxm5-2025-10-11.jsonl"


def test_first_premium_without_keys_in_an_empty_folder(tmp_path: Path, corpus: Path) -> None:
    """The keyless quick start: no config, no network, an empty folder, one Browse API response."""
    done = run_cli("import", str(corpus / H100_API), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "11 listings (11 new)" in done.stdout and "Traceback" not in done.stderr
    premium = run_cli("premium", "--format", "json", cwd=tmp_path)
    assert premium.returncode == 0, premium.stderr
    rows = [json.loads(line) for line in premium.stdout.splitlines()]
    row = next(r for r in rows if (r["sku"], r["side"], r["condition_group"]) == ("h100-80gb-pcie", "asking", "all"))
    assert row["n"] > 0 and row["premium"] is not None and row["list_price_usd"]
    table = run_cli("premium", cwd=tmp_path)
    assert "h100-80gb-pcie" in table.stdout and "%" in table.stdout


def test_import_is_a_crawl_of_kind_import_with_provenance_and_twice_adds_nothing(tmp_path: Path,
                                                                                 corpus: Path) -> None:
    path = corpus / H100_API
    first = run_cli("import", str(path), cwd=tmp_path)
    again = run_cli("import", str(path), cwd=tmp_path)
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert "skipped, already imported" in again.stderr
    db = tmp_path / "gpuprices.db"
    [crawl] = query(db, "SELECT * FROM crawls")
    assert (crawl["kind"], crawl["source"], crawl["status"], crawl["listings"]) == ("import", "ebay-api", "ok", 11)
    assert json.loads(crawl["queries"]) == [path.name]
    [record] = query(db, "SELECT * FROM imported_files")
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (record["name"], record["source"], record["crawl_id"], record["listings"]) == (path.name, "ebay-api",
                                                                                         crawl["id"], 11)
    today = datetime.now(UTC).date().isoformat()
    assert record["captured_from"] == "import time" and record["captured_at"][:10] == today
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 11
    # The same content under another name is the same file.
    copy = tmp_path / "renamed.json"
    shutil.copyfile(path, copy)
    third = run_cli("import", str(copy), cwd=tmp_path)
    assert "already imported" in third.stderr
    assert query(db, "SELECT COUNT(*) AS n FROM observations")[0]["n"] == 11


def test_import_a_folder_of_mixed_files_with_a_date(tmp_path: Path, corpus: Path) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    for name in (H100_API, A100_API, SOLD, BLOCKED, TRACKER):
        shutil.copyfile(corpus / name, saved / Path(name).name)
    (saved / ".hidden.json").write_text("[]")
    work = tmp_path / "work"
    work.mkdir()
    done = run_cli("import", str(saved), "--date", "2026-11-20", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    # The blocked page is one line naming the file; everything else was stored.
    problems = [line for line in done.stderr.splitlines() if line.startswith("gpuprices: ")]
    assert len(problems) == 1 and Path(BLOCKED).name in problems[0] and "blocked" in problems[0]
    db = work / "gpuprices.db"
    crawls = {c["source"]: c for c in query(db, "SELECT * FROM crawls")}
    assert set(crawls) == {"ebay-api", "ebay", "rental"}
    assert all(c["kind"] == "import" and c["status"] != "running" for c in crawls.values())
    assert crawls["ebay"]["blocked_pages"] == 1 and crawls["ebay"]["listings"] == 60
    files = {r["name"]: r for r in query(db, "SELECT * FROM imported_files")}
    assert ".hidden.json" not in files and len(files) == 5
    assert files[Path(TRACKER).name]["source"] == "rental-tracker"
    assert all(r["captured_at"].startswith("2026-11-20") and r["captured_from"] == "--date" for r in files.values())
    # The sold page gives sales with their dates: the sold side of the index.
    sold = query(db, "SELECT COUNT(*) AS n FROM observations WHERE sold = 1 AND sold_at IS NOT NULL")[0]["n"]
    assert sold == 56
    observed = query(db, "SELECT DISTINCT substr(observed_at, 1, 10) AS day FROM observations")
    assert observed == [{"day": "2026-11-20"}]
    assert query(db, "SELECT COUNT(*) AS n FROM rental_observations")[0]["n"] > 900
    # Health is the scraper's: an import with a blocked page is not a degraded source.
    assert "health" not in done.stdout


def test_wrong_kind_of_file_for_source_is_one_line_naming_the_file(tmp_path: Path, corpus: Path) -> None:
    page = corpus / SOLD
    done = run_cli("import", "--source", "ebay-api", str(page), cwd=tmp_path)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert str(page) in line and "not an eBay Browse API response (JSON)" in line and "--source ebay" not in line
    assert query(tmp_path / "gpuprices.db", "SELECT COUNT(*) AS n FROM imported_files")[0]["n"] == 0
    parsed = run_cli("parse", "--source", "ebay-api", str(page), cwd=tmp_path)
    assert parsed.returncode == 1 and "Traceback" not in parsed.stderr
    [line] = parsed.stderr.strip().splitlines()
    assert str(page) in line and "not an eBay Browse API response" in line
    api_as_page = run_cli("parse", "--source", "ebay", str(corpus / H100_API), cwd=tmp_path)
    assert api_as_page.returncode == 1
    assert "not a saved eBay search or sold results page" in api_as_page.stderr and "--source ebay-api" in (
        api_as_page.stderr)


@pytest.mark.parametrize(
    ("data", "source", "wrong"),
    [
        (b'{"itemSummaries": []}', "ebay-api", False),
        (b"<html><body>results</body></html>", "ebay-api", True),
        (b'{"itemSummaries": []}', "ebay", True),
        (b"<!DOCTYPE html><html></html>", "product-page", False),
        (b"InstanceType,AcceleratorName,AcceleratorCount,Price,Region\n", "rental-skypilot", False),
        (b"InstanceType,AcceleratorName,AcceleratorCount,Price,Region\n", "rental-vast", True),
        (b'{"timestamp": "x", "price_stats": {}, "by_provider": {}}\n', "rental-skypilot", True),
        (b"<html>Pardon Our Interruption</html>", "rental-vast", False),  # the feed parser calls it blocked
    ],
)
def test_wrong_kind(data: bytes, source: str, wrong: bool) -> None:
    problem = wrong_kind(Path("f"), data, source)
    assert (problem is not None) is wrong, problem


def test_page_date_from_a_saved_mhtml_archive() -> None:
    mhtml = b"From: <Saved by Blink>\r\nSnapshot-Content-Location: https://www.ebay.com/sch/i.html\r\n" \
            b"Subject: nvidia h100 | eBay\r\nDate: Tue, 20 Oct 2026 09:15:02 -0000\r\nMIME-Version: 1.0\r\n"
    assert page_date(mhtml) == datetime(2026, 10, 20, 9, 15, 2, tzinfo=UTC)
    assert page_date(b"<html><body>Date: soon</body></html>") is None


def test_a_page_saved_as_a_single_file_mhtml_is_read_and_dated_by_its_archive(tmp_path: Path, corpus: Path) -> None:
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    archive = MIMEMultipart("related")
    archive["Subject"] = "eBay sold listings"
    archive["Date"] = "Tue, 20 Oct 2026 09:15:02 -0000"
    html = MIMEText((corpus / SOLD).read_text(encoding="utf-8"), "html", "utf-8")
    html.replace_header("Content-Transfer-Encoding", "quoted-printable")  # as browsers save it
    html.set_payload(__import__("quopri").encodestring((corpus / SOLD).read_bytes()).decode("ascii"))
    archive.attach(html)
    saved = tmp_path / "sold.mhtml"
    saved.write_bytes(archive.as_bytes())
    done = run_cli("import", str(saved), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ebay, 60 listings" in done.stdout and "captured 2026-10-20 (from the page)" in done.stdout
    days = query(tmp_path / "gpuprices.db", "SELECT DISTINCT substr(observed_at, 1, 10) AS day FROM observations")
    assert days == [{"day": "2026-10-20"}]
