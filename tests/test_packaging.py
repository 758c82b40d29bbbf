"""Installing adds one import package, ``gpuprices``, with every layer and its data inside."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_one_top_level_package(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("gpuprices-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/", 1)[0] for name in names} == {"gpuprices", wheel.name.split("-py3")[0] + ".dist-info"}
    for layer in ("spiders", "spiders/parsers", "pipeline", "pipeline/classify", "storage", "market", "alerts",
                  "core", "cli", "web"):
        assert f"gpuprices/{layer}/__init__.py" in names, layer
    assert "gpuprices/pipeline/classify/catalog.toml" in names
    for asset in ("templates/base.html", "static/chart.js", "static/style.css", "static/vendor/uplot/uPlot.iife.min.js",
                  "static/vendor/uplot/LICENSE"):  # the dashboard works offline: its files ship in the wheel
        assert f"gpuprices/web/{asset}" in names, asset
    top_level = next(name for name in names if name.endswith("top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["gpuprices"]
