"""Rules of the title classifier, each shown on short made-up titles."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuprices.pipeline.classify import Classification, ExcludedReason, classify, load_catalog

ACC = ExcludedReason.ACCESSORY
UNRELATED = ExcludedReason.UNRELATED_MODEL


def check(title: str, **expected: Any) -> Classification:
    result = classify(title)
    got = {k: getattr(result, k) for k in expected}
    assert got == expected, f"{title!r}: {result}"
    return result


@pytest.mark.parametrize(
    ("title", "model", "sku", "memory", "form"),
    [
        ("NVIDIA H100 80GB PCIe Tensor Core GPU", "H100", "h100-80gb-pcie", 80, "pcie"),
        ("H100 SXM5 80GB HBM3 module", "H100", "h100-80gb-sxm5", 80, "sxm5"),
        ("NVIDIA H100 NVL 94GB", "H100", "h100-94gb-nvl", 94, "nvl"),
        ("Nvidia H200 141G SXM", "H200", "h200-141gb-sxm", 141, "sxm5"),
        ("GH200 Grace Hopper superchip 96GB", "GH200", "gh200", 96, "superchip"),
        ("AMD Instinct MI300X 192GB OAM", "MI300X", "mi300x-192gb", 192, "oam"),
        ("Tesla V100-SXM2-32GB accelerator", "V100", "v100-32gb-sxm2", 32, "sxm2"),
        ("nvidia l40s gpu", "L40S", "l40s-48gb", 48, "pcie"),  # PCIe-only, one memory size
        ("Tesla T4 graphics accelerator", "T4", "t4-16gb", 16, "pcie"),
        ("MSI GeForce RTX 4090 Suprim", "RTX 4090", "rtx-4090", 24, "pcie"),
        ("rtx5090 astral", "RTX 5090", "rtx-5090", 32, "pcie"),
        ("Quadro RTX A5000 24 GB", "RTX A5000", "rtx-a5000", 24, "pcie"),
        ("A100 80 GB HBM2e passive GPU", "A100", "a100-80gb-pcie", 80, "pcie"),
    ],
)
def test_model_memory_form_factor(title: str, model: str, sku: str, memory: int, form: str) -> None:
    check(title, model=model, sku=sku, memory_gb=memory, form_factor=form, excluded_reason=None)


@pytest.mark.parametrize(
    ("title", "form", "sku", "note"),
    [
        ("H100 80GB card, not SXM version", "pcie", "h100-80gb-pcie", "negates SXM"),
        ("H100 80GB non-SXM", "pcie", "h100-80gb-pcie", "negates SXM"),
        ("A100 40G PCI-E 4.0 SXM4 accelerator", "ambiguous", None, "both stated"),
        ("Tesla A100 40GB GPU 900-21001-0000-000", "pcie", "a100-40gb-pcie", "part number"),
        ("A100 80GB GPU 699-2G506-0210-000 SXM PCIe", "sxm4", "a100-80gb-sxm4", "part number"),
        ("Tesla A100 40GB accelerator 400W", "sxm4", "a100-40gb-sxm4", "400 W"),
        ("Tesla A100 40GB accelerator 250W", "pcie", "a100-40gb-pcie", "250 W"),
        ("H100 80GB NVLINK GPU", None, None, "undecided"),  # NVLink is a bridge, not NVL
        ("A100 80GB Tensor Core GPU", None, None, "form factor undecided"),
        ("A100 PCIe GPU", "pcie", None, "memory undecided"),
        ("A100 40GB/80GB PCIe", "pcie", None, "several memory sizes"),
        ("NVIDIA HGX A100 80GB baseboard", "sxm4", "a100-80gb-sxm4", "HGX"),
        ("V100 SXM2 16GB with SXM2-to-PCIe adapter board", "sxm2", "v100-16gb-sxm2", "'sxm2' stated"),
        ("H100 SXM 94GB", None, None, "stated, but"),  # the 94GB H100 sold here is the NVL card
    ],
)
def test_form_factor_rules(title: str, form: str | None, sku: str | None, note: str) -> None:
    result = check(title, form_factor=form, sku=sku)
    assert note in result.classification_note


@pytest.mark.parametrize(
    ("title", "count"),
    [
        ("3pcs Tesla T4 16GB", 3),
        ("3 PCS Tesla T4 16GB", 3),
        ("Tesla T4 16GB - LOT OF 6", 6),
        ("Lot (2) RTX 4090 24GB", 2),
        ("Tesla T4 16GB GPU x12", 12),
        ("Tesla T4 16GB (x3)", 3),
        ("2x RTX 5090 32GB", 2),
        ("8 x NVIDIA H100 SXM5 80GB", 8),
        ("Qty 4 - NVIDIA L4 24GB", 4),
        ("Pair of RTX 4090 Founders", 2),
        ("Two NVIDIA L40S 48GB", 2),
        ("(3) NVIDIA A40 48GB", 3),
        ("Supermicro HGX board w/ 8x A100 80GB SXM4", 8),
        ("HGX H100 4-GPU baseboard 80GB", 4),
        ("L4 24GB PCIe 4.0 x16 single slot", 1),
        ("RTX 4090 24GB PCIe x16 4x DisplayPort", 1),
        ("RTX 4090 needs 2x 8-pin", 1),
        ("Inno3D RTX 4090 iChill X3 24GB", 1),
        ("Gigabyte RTX 4090 Gaming OC, 3X Windforce fans", 1),
        ("A30 24GB GPU, 10 available", 1),
        ("Tesla T4 16GB GPU heatsink for", 0),
    ],
)
def test_gpu_count(title: str, count: int) -> None:
    check(title, gpu_count=count)


@pytest.mark.parametrize(
    ("title", "working"),
    [
        ("RTX 4090 24GB for parts", False),
        ("RTX 4090 - NON-WORKING", False),
        ("A100 40GB PCIe not working", False),
        ("T4 16GB sold as-is", False),
        ("RTX 5090 faulty", False),
        ("L4 24GB BAD", False),
        ("RTX 4090 broken fan", False),
        ("A10 24GB defective", False),
        ("V100 16GB PCIe untested for parts", False),
        ("RTX 4090 artifacts / no display", False),
        ("RTX 4090 does not post", False),
        ("RTX 4090 Tested Working", True),
        ("RTX 4090 100% working, not bad at all", True),
        ("RTX 4090 FE damaged box, card perfect", True),
    ],
)
def test_working(title: str, working: bool) -> None:
    check(title, working=working)


def test_condition_argument_can_say_not_working() -> None:
    assert not classify("Tesla T4 16GB", condition="For parts or not working").working
    assert classify("Tesla T4 16GB", condition="Used").working


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("Passive heatsink for Tesla A100 SXM4 40GB", ACC),
        ("Full height bracket for NVIDIA L4", ACC),
        ("Tesla T4 low profile bracket (bracket only)", ACC),
        ("Cooling fan shroud kit T4 P4 GPU accelerator card", ACC),
        ("RTX 4090 24GB cooler and fans - NO PCB", ACC),
        ("RTX 5090 Astral NO GPU BOARD, radiator only", ACC),
        ("8-pin power cable for Tesla V100 P100", ACC),
        ("EK water block RTX 4090 Founders", ACC),
        ("NVLink bridge 2-slot for A100", ACC),
        ("Replacement fan RTX 4090 Gaming OC", ACC),
        ("GPU support holder for RTX 5090", ACC),
        ("Tesla A100 40GB PCIe W/O Heatsink", None),
        ("Tesla A100 40GB PCIe NO bracket", None),
        ("Tesla T4 16GB with low profile bracket", None),
        ("A100 80GB PCIe, includes fan shroud", None),
        ("T4 16GB GPU, full height bracket", None),
        ("RTX 2080 with EK water block", UNRELATED),
        ("A10 24GB passive cooler accelerator", None),
        ("Zotac RTX 2070 blower 8GB", UNRELATED),
        ("RTX 4090 FE empty box", ExcludedReason.BOX_ONLY),
        ("BOX ONLY rtx 5090 astral", ExcludedReason.BOX_ONLY),
        ("RTX 5090 box & manual only", ExcludedReason.BOX_ONLY),
        ("RTX 4090 picture only - read description", ExcludedReason.PICTURE),
        ("Photo of NVIDIA H100 80GB", ExcludedReason.PICTURE),
        ("Gaming laptop RTX 4090 i9-14900HX 32GB RAM 1TB SSD", ExcludedReason.NOT_A_GPU),
        ("Gaming PC Ryzen 7 7800X3D RTX 4090 32GB DDR5", ExcludedReason.NOT_A_GPU),
        ("Supermicro GPU server barebone, supports 8x H100", ExcludedReason.NOT_A_GPU),
        ("ASUS ProArt Z790 motherboard for RTX 4090 builds", ExcludedReason.NOT_A_GPU),
        ("1200W power supply", ExcludedReason.NOT_A_GPU),
        ("CUDA programming book NVIDIA GPU", ExcludedReason.NOT_A_GPU),
        ("3Com ethernet adapter 10/100", ExcludedReason.NOT_A_GPU),
        ("RTX 5090 32GB + motherboard bundle", None),
        ("RTX 4090 24GB Founders, 12VHPWR cable", None),
        ("RTX 4090 12VHPWR adapter", ACC),
        ("Tesla V100 SXM2 16GB + SXM2 to PCIe adapter + heatsink", None),
        ("MSI Raider RTX 4090 i9-13980HX 32GB DDR5 2TB SSD", ExcludedReason.NOT_A_GPU),
    ],
)
def test_exclusions(title: str, reason: ExcludedReason | None) -> None:
    result = check(title, excluded_reason=reason)
    if reason not in (None, UNRELATED):
        assert result.gpu_count == 0 and result.sku is None


@pytest.mark.parametrize(
    ("title", "model"),
    [
        ("EVGA GeForce GTX 1060 6GB", "other:GeForce GTX 1060"),
        ("GTX 4GB 1050 Ti low profile", "other:GeForce GTX 1050 Ti"),
        ("Quadro K2200 4GB workstation card", "other:Quadro K2200"),
        ("Radeon RX 7900 XTX 24GB", "other:Radeon RX 7900 XTX"),
        ("Tesla P40 24GB", "other:Tesla P40"),
        ("RTX 5090 D 32GB China edition", "other:RTX 5090 D"),
        ("RTX A5000 16GB laptop module MXM", "other:RTX A5000 Laptop"),
        ("ZBook Fury G8 video card RTX A5000", "other:RTX A5000 Laptop"),
        ("RTX A3000 / A4000 / A5000 video card", "other:multi (RTX A3000 / RTX A4000 / RTX A5000)"),
        ("Tesla V100S 32GB PCIe", "other:Tesla V100S"),
    ],
)
def test_gpus_outside_the_catalog_are_unrelated(title: str, model: str) -> None:
    check(title, model=model, excluded_reason=UNRELATED, sku=None)


@pytest.mark.parametrize(
    ("title", "model"),
    [
        ("Quadro NVS 310 512MB low profile video card L4-9", "other:Quadro NVS 310"),  # stock code L4-9
        ("GTX 980 4GB graphics card T4-D2", "other:GeForce GTX 980"),
        ("PNY GTX 1050 Ti 4GB VCGGTX1050T4XGPB", "other:GeForce GTX 1050 Ti"),  # T4 inside a part number
        ("ZOTAC GTX 960 2GB ZT-90301-10M   L4", "other:GeForce GTX 960"),  # trailing shelf code
        ("Satellite A10 laptop video card 256MB", "other:unknown"),
    ],
)
def test_stock_codes_are_not_models(title: str, model: str) -> None:
    result = classify(title)
    assert result.excluded_reason is UNRELATED, result
    if model != "other:unknown":
        assert result.model == model, result


def test_a_short_name_with_gpu_words_is_the_gpu() -> None:
    check("T4 16GB Tesla GPU", model="T4", sku="t4-16gb")
    check("UCSC-GPU-T4-16 Cisco Tesla T4 16GB", model="T4", sku="t4-16gb")


def test_a_bare_number_gives_way_to_a_named_model() -> None:
    check("Gigabyte RTX 4090 Xtreme Waterforce 24GB = 5090", model="RTX 4090")
    check("ASUS TUF RTX OC 5090 32GB", model="RTX 5090")


def test_systems_and_boards() -> None:
    dgx = check("NVIDIA DGX A100 640GB", model="A100", system=True, gpu_count=8, sku="a100-80gb-sxm4")
    assert "not separable" in dgx.classification_note
    check("Supermicro server 8x H100 SXM5 80GB 2x Xeon 1TB RAM", system=True, gpu_count=8)
    check("HGX board w/ 4x A100 40GB SXM4", system=False, gpu_count=4)
    check("Tesla T4 16GB GPU for Dell PowerEdge R740", system=False, gpu_count=1)
    check("A100 80GB PCIe GPU computing server card", system=False)


def test_memory_spellings() -> None:
    for spelled in ("80GB", "80G", "80 GB", "80GB HBM2e", "80 gig"):
        check(f"Tesla A100 {spelled} PCIe", memory_gb=80, sku="a100-80gb-pcie")
    check("RTX 4090 Founders Edition", memory_gb=24)  # fixed by the model
    check("A100 96GB", model="other:A100 96GB")  # not a catalog memory size


def test_notes_explain() -> None:
    assert "'5pcs' → 5 GPUs" in classify("5pcs Tesla T4 16GB").classification_note
    assert "accessory" in classify("Heatsink for Tesla A100").classification_note
    assert "not working" in classify("RTX 4090 for parts").classification_note


def test_user_catalog_sku_is_recognised() -> None:
    catalog = load_catalog(
        {"skus": [{"id": "rtx-4080", "model": "RTX 4080", "memory_gb": 16, "form_factor": "pcie",
                   "aliases": ["rtx 4080"], "list_prices": [{"date": "2022-11-16", "usd": "1199"}]}]}
    )
    result = classify("MSI RTX 4080 16GB Gaming X", catalog=catalog)
    assert (result.model, result.sku, result.excluded_reason) == ("RTX 4080", "rtx-4080", None)
    assert classify("MSI RTX 4080 16GB Gaming X").model == "other:GeForce RTX 4080"


def test_classification_is_frozen_and_documented() -> None:
    result = classify("Tesla T4 16GB")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.sku = "x"  # type: ignore[misc]
    assert ExcludedReason.ACCESSORY == "accessory"
    assert ExcludedReason.PICTURE.value == "picture_or_listing_of_photo"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_never_raises_and_stays_consistent(title: str) -> None:
    check_invariants(classify(title))


_WORDS = (
    "nvidia tesla a100 h100 l4 t4 a10 rtx 4090 5090 80gb 40g 24gb pcie sxm4 sxm not no w/o with for heatsink "
    "bracket 5pcs lot of x16 x10 2x qty 4 for parts working as-is box only dgx hgx server 400w 900-21010 pg506 "
    "- / ( ) laptop mxm d ti 16gb quadro gtx 1060 radeon mi300x 192gb oam nvl nvlink"
)
WORDS = _WORDS.split()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=14))
def test_word_salad_never_raises(words: list[str]) -> None:
    check_invariants(classify(" ".join(words)))


def check_invariants(result: Classification) -> None:
    assert result.gpu_count >= 0
    if result.excluded_reason is not None:
        assert result.sku is None
    if result.excluded_reason not in (None, UNRELATED):
        assert result.gpu_count == 0
    if result.sku is not None:
        sku = load_catalog().get(result.sku)
        assert sku is not None
        assert (sku.model, sku.memory_gb, sku.form_factor) == (result.model, result.memory_gb, result.form_factor)
    assert isinstance(result.classification_note, str)
