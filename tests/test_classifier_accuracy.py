"""Accuracy of classify() against the hand-labelled eBay titles (corpus/labels/titles.tsv).

Prints (``pytest -s``) and puts in the failure message: a confusion table of labelled is_gpu against
our excluded_reason, per-field scores, the same scores on every third row (a held-out check that
the rules were not tuned to particular rows), and the rows we get wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gpuprices.pipeline.classify import Catalog, Classification, ExcludedReason, classify, load_catalog

THRESHOLDS = {
    "is_gpu precision": 0.99,
    "is_gpu recall": 0.98,
    "model accuracy": 0.99,
    "memory accuracy": 0.97,
    "form factor accuracy": 0.95,
    "gpu count accuracy": 0.98,
    "working accuracy": 0.97,
    "sellable SKU precision": 0.97,
    "sellable SKU recall": 0.95,
}


@dataclass(frozen=True)
class Row:
    """One labelled title."""

    index: int
    title: str
    is_gpu: bool
    model: str
    memory: float | None
    form_factor: str
    gpu_count: int | None
    """``None``: the title leaves the count undecided (a lot of unstated size); not scored."""
    working: bool
    note: str


def load_rows(path: Path, *, undecided_count: bool = False) -> list[Row]:
    """Read titles.tsv: tab-separated, no quoting, titles byte-exact.

    ``undecided_count``: an empty ``gpu_count`` means undecided (``None``) instead of 0."""
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].rstrip("\r").split("\t")
    col = {name: i for i, name in enumerate(header)}
    rows = []
    for i, line in enumerate(lines[1:]):
        if not line.strip():
            continue
        cells = line.rstrip("\r").split("\t")
        assert len(cells) == len(header), f"row {i + 1} has {len(cells)} cells, expected {len(header)}"
        rows.append(
            Row(
                index=i,
                title=cells[col["title"]],
                is_gpu=cells[col["is_gpu"]] == "yes",
                model=cells[col["model"]],
                memory=float(cells[col["memory_gb"]]) if cells[col["memory_gb"]] else None,
                form_factor=cells[col["form_factor"]],
                gpu_count=(int(cells[col["gpu_count"]]) if cells[col["gpu_count"]]
                           else None if undecided_count else 0),
                working=cells[col["working"]] == "yes",
                note=cells[col["note"]],
            )
        )
    return rows


def _label_sxm(row: Row) -> str | None:
    """The SXM generation a label's note gives ("sxm4"), if any."""
    m = re.search(r"\bsxm([2-6])\b", row.note.lower())
    return f"sxm{m.group(1)}" if m else None


def form_factor_ok(row: Row, ours: str | None) -> bool:
    if row.form_factor == "sxm":
        exact = _label_sxm(row)
        return ours == exact if exact else bool(ours and ours.startswith("sxm"))
    return ours == row.form_factor


def label_sku(row: Row, catalog: Catalog) -> str | None:
    """The catalog SKU a labelled GPU row is (model + memory + form factor), if decided."""
    if not row.is_gpu or row.memory is None or row.form_factor in ("", "unknown", "ambiguous"):
        return None
    matches = [
        s.id
        for s in catalog.skus_of(row.model)
        if s.memory_gb == row.memory and form_factor_ok(row, s.form_factor)
    ]
    return matches[0] if len(matches) == 1 else None


def predicted_gpu(c: Classification) -> bool:
    return c.excluded_reason in (None, ExcludedReason.UNRELATED_MODEL)


def model_ok(row: Row, c: Classification) -> bool:
    if row.model.startswith("other:"):
        return bool(c.model and c.model.startswith("other:")) or c.excluded_reason is ExcludedReason.UNRELATED_MODEL
    return c.model == row.model


@dataclass
class Report:
    """Scores and the text printed for humans."""

    scores: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _ratio(good: int, total: int) -> float:
    return good / total if total else 1.0


def score(rows: list[Row], catalog: Catalog) -> tuple[dict[str, float], dict[str, list[str]], Counter[tuple[str, str]]]:
    """Per-field scores, the wrong rows per field, and the confusion counts."""
    wrong: dict[str, list[str]] = {k: [] for k in THRESHOLDS}
    confusion: Counter[tuple[str, str]] = Counter()
    tp = fp = fn = 0
    counts = Counter[str]()
    sell_tp = sell_pred = sell_label = 0
    for row in rows:
        c = classify(row.title, catalog=catalog)
        ours = predicted_gpu(c)
        reason = c.excluded_reason.value if c.excluded_reason else "none (GPU)"
        confusion[("yes" if row.is_gpu else "no", reason)] += 1
        tp += ours and row.is_gpu
        fp += ours and not row.is_gpu
        fn += row.is_gpu and not ours
        desc = f"#{row.index} {row.title.strip()!r}"
        if ours != row.is_gpu:
            (wrong["is_gpu precision"] if ours else wrong["is_gpu recall"]).append(f"{desc}: {reason}")
        if row.is_gpu:
            counts["model"] += 1
            if not model_ok(row, c):
                wrong["model accuracy"].append(f"{desc}: label {row.model}, ours {c.model}")
            if row.memory is not None:
                counts["memory"] += 1
                if c.memory_gb != row.memory:
                    wrong["memory accuracy"].append(f"{desc}: label {row.memory:g}, ours {c.memory_gb}")
            if row.form_factor not in ("", "unknown"):
                counts["form factor"] += 1
                if not form_factor_ok(row, c.form_factor):
                    wrong["form factor accuracy"].append(f"{desc}: label {row.form_factor}, ours {c.form_factor}")
        counts["all"] += 1
        if row.gpu_count is not None:
            counts["count"] += 1
        if row.gpu_count is not None and c.gpu_count != row.gpu_count:
            wrong["gpu count accuracy"].append(f"{desc}: label {row.gpu_count}, ours {c.gpu_count}")
        if c.working != row.working:
            wrong["working accuracy"].append(f"{desc}: label {row.working}, ours {c.working}")
        expected = label_sku(row, catalog) if row.working else None
        got = c.sku if c.excluded_reason is None and c.working else None
        sell_label += expected is not None
        sell_pred += got is not None
        sell_tp += got is not None and got == expected
        if got != expected:
            (wrong["sellable SKU precision"] if got else wrong["sellable SKU recall"]).append(
                f"{desc}: label {expected}, ours {got}"
            )
    scores = {
        "is_gpu precision": _ratio(tp, tp + fp),
        "is_gpu recall": _ratio(tp, tp + fn),
        "model accuracy": _ratio(counts["model"] - len(wrong["model accuracy"]), counts["model"]),
        "memory accuracy": _ratio(counts["memory"] - len(wrong["memory accuracy"]), counts["memory"]),
        "form factor accuracy": _ratio(
            counts["form factor"] - len(wrong["form factor accuracy"]), counts["form factor"]
        ),
        "gpu count accuracy": _ratio(counts["count"] - len(wrong["gpu count accuracy"]), counts["count"]),
        "working accuracy": _ratio(counts["all"] - len(wrong["working accuracy"]), counts["all"]),
        "sellable SKU precision": _ratio(sell_tp, sell_pred),
        "sellable SKU recall": _ratio(sell_tp, sell_label),
    }
    return scores, wrong, confusion


def build_report(rows: list[Row], catalog: Catalog, thresholds: dict[str, float] | None = None) -> Report:
    thresholds = thresholds or THRESHOLDS
    report = Report()
    scores, wrong, confusion = score(rows, catalog)
    held_out, _, _ = score([r for r in rows if r.index % 3 == 2], catalog)
    report.scores = scores
    reasons = ["none (GPU)", *(r.value for r in ExcludedReason)]
    report.lines.append(f"classifier accuracy on {len(rows)} labelled titles")
    report.lines.append(f"{'label is_gpu':>14} | " + " | ".join(f"{r:>16}" for r in reasons))
    for label in ("yes", "no"):
        cells = " | ".join(f"{confusion[(label, r)]:>16}" for r in reasons)
        report.lines.append(f"{label:>14} | {cells}")
    report.lines.append(f"{'field':<24} {'all rows':>9} {'every 3rd':>10} {'minimum':>8}")
    for name, value in scores.items():
        report.lines.append(f"{name:<24} {value:>9.4f} {held_out[name]:>10.4f} {thresholds[name]:>8.2f}")
    for name, items in wrong.items():
        for item in items:
            report.lines.append(f"  [{name}] {item}")
    return report


@pytest.fixture(scope="module")
def rows(corpus: Path) -> list[Row]:
    path = corpus / "labels" / "titles.tsv"
    if not path.is_file():
        pytest.skip("labels/titles.tsv not in the corpus")
    return load_rows(path)


def test_labels_file_is_read_whole(rows: list[Row]) -> None:
    assert len(rows) >= 500  # 536 when written
    assert sum(r.is_gpu for r in rows) > 0.7 * len(rows)
    assert any(r.title != r.title.strip() for r in rows)  # titles kept byte-exact


def test_classifier_accuracy(rows: list[Row]) -> None:
    report = build_report(rows, load_catalog())
    print("\n" + report.text)
    failing = [f"{k} {v:.4f} < {THRESHOLDS[k]}" for k, v in report.scores.items() if v < THRESHOLDS[k]]
    assert not failing, "; ".join(failing) + "\n" + report.text
