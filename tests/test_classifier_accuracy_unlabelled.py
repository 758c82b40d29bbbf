"""Accuracy of classify() on a second labelled set: real titles nobody had labelled (issue 11).

``tests/data/unlabelled-titles-issue11.tsv`` holds every listing title of the corpus's saved eBay pages and
API responses that ``labels/titles.tsv`` leaves out (search pages for laptops, shirts, LEGO, Pokémon, Blu-ray,
Warhammer, a sold page in the Japanese UI, an iPhone API response, two Tesla T4 Browse responses kept as
Markdown, the RTX 5090 item page), labelled by reading. Each row names the public repository, path and
commit the title comes from (the corpus MANIFEST's provenance). Scored per field with the same confusion
table as the shared labels; ``pytest -s`` prints it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuprices.pipeline.classify import load_catalog
from tests.test_classifier_accuracy import THRESHOLDS, Row, build_report, load_rows

LABELS = Path(__file__).parent / "data" / "unlabelled-titles-issue11.tsv"


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return load_rows(LABELS)


def test_every_row_names_its_origin() -> None:
    lines = LABELS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    col = {name: i for i, name in enumerate(header)}
    for line in lines[1:]:
        cells = line.split("\t")
        assert cells[col["origin_repo"]].count("/") == 1 and cells[col["origin_path"]]
        assert len(cells[col["origin_commit"]]) == 40 and int(cells[col["origin_commit"]], 16) >= 0


def test_set_is_read_whole(rows: list[Row]) -> None:
    assert len(rows) >= 600
    assert len({r.title for r in rows}) == len(rows)


def test_classifier_accuracy_on_titles_nobody_tuned_to(rows: list[Row]) -> None:
    report = build_report(rows, load_catalog())
    print("\n" + report.text)
    failing = [f"{k} {v:.4f} < {THRESHOLDS[k]}" for k, v in report.scores.items() if v < THRESHOLDS[k]]
    assert not failing, "; ".join(failing) + "\n" + report.text
