"""Accuracy of classify() on our own labelled set of real titles from public repositories.

``tests/data/labels_public.tsv`` (how it was built: ``tests/data/LABELS_PUBLIC.md``) is scored
separately from the shared labels, per field, with the same confusion table
(``pytest -s`` prints it). The floors are what the classifier achieves with general rules; a
change that loses accuracy here fails.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from gpuprices.pipeline.classify import load_catalog
from tests.test_classifier_accuracy import Row, build_report, load_rows

LABELS = Path(__file__).parent / "data" / "labels_public.tsv"
FLOORS = {
    "is_gpu precision": 0.99,
    "is_gpu recall": 0.99,
    "model accuracy": 0.98,
    "memory accuracy": 0.975,
    "form factor accuracy": 0.99,
    "gpu count accuracy": 0.985,
    "working accuracy": 0.99,
    "sellable SKU precision": 0.97,
    "sellable SKU recall": 0.99,
}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def _cells() -> list[dict[str, str]]:
    lines = LABELS.read_text(encoding="utf-8").split("\n")
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return load_rows(LABELS, undecided_count=True)


def test_every_title_has_its_origin() -> None:
    cells = _cells()
    assert len(cells) >= 300
    for cell in cells:
        assert cell["repo"].count("/") == 1 and cell["path"] and _COMMIT.match(cell["commit"]), cell
        assert cell["title"] and cell["is_gpu"] in ("yes", "no"), cell
        if cell["is_gpu"] == "no":
            assert not cell["model"] and cell["gpu_count"] == "0", cell
    refs = Counter(cell["item_ref"] for cell in cells)
    assert not [ref for ref, n in refs.items() if n > 1]  # one row per listing
    assert len({cell["repo"] for cell in cells}) >= 3


def test_nothing_comes_from_the_shared_corpus(corpus: Path) -> None:
    """The repositories the corpus MANIFEST names are what we check against: none is a source here,
    and no title of the shared labels is copied."""
    manifest = corpus / "MANIFEST.md"
    if not manifest.is_file():
        pytest.skip("no MANIFEST.md in this corpus")
    # Every owner/name-looking token (table cells, backticks, prose): over-inclusive is fine for a deny list.
    named = set(re.findall(r"[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+", manifest.read_text(encoding="utf-8")))
    assert named, "MANIFEST.md lists no origin repositories"
    ours = {cell["repo"] for cell in _cells()}
    assert not ours & named
    shared = corpus / "labels" / "titles.tsv"
    if shared.is_file():
        shared_titles = {r.title.strip() for r in load_rows(shared)}
        assert not [c["title"] for c in _cells() if c["title"].strip() in shared_titles]


def test_set_is_varied(rows: list[Row]) -> None:
    catalog = load_catalog()
    gpus = [r for r in rows if r.is_gpu]
    assert len(rows) - len(gpus) >= 50  # computers, rigs, parts: what a GPU search also returns
    assert sum(r.model in catalog.models() for r in gpus) >= 30  # catalog data-center/workstation GPUs
    assert sum(r.model.startswith("other:") for r in gpus) >= 150


def test_classifier_accuracy_on_public_titles(rows: list[Row]) -> None:
    report = build_report(rows, load_catalog(), FLOORS)
    print("\n" + report.text)
    failing = [f"{k} {v:.4f} < {FLOORS[k]}" for k, v in report.scores.items() if v < FLOORS[k]]
    assert not failing, "; ".join(failing) + "\n" + report.text
