"""Rules a domain expert states in general (issue 11): the catalog settles what a title leaves out, typos
and spacing variants, memory only from memory phrases, every lot form, the full variant vocabulary."""

from __future__ import annotations

import pytest

from gpuprices.pipeline.classify import classify, load_catalog

CATALOG = load_catalog()


@pytest.mark.parametrize(
    ("title", "sku"),
    [
        # One form at that memory size: the catalog decides (and the note says why).
        ("NVIDIA Tesla P100 12GB HBM2 GPU", "p100-12gb-pcie"),
        ("NVIDIA Tesla P40 24GB GDDR5", "p40-24gb"),
        ("NVIDIA Tesla P4 8GB", "p4-8gb"),
        ("NVIDIA A2 16GB Tensor Core GPU", "a2-16gb"),
        ("NVIDIA A16 64GB GPU", "a16-64gb"),
        ("NVIDIA Tesla V100S 32GB", "v100s-32gb-pcie"),
        ("AMD Instinct MI210 64GB HBM2e", "mi210-64gb"),
        ("NVIDIA H100 NVL 94GB", "h100-94gb-nvl"),
        ("PNY NVIDIA RTX A4000 16GB", "rtx-a4000"),
        ("NVIDIA RTX A2000 12GB", "rtx-a2000-12gb"),
        ("NVIDIA RTX 4000 SFF Ada Generation 20GB", "rtx-4000-sff-ada"),
        ("NVIDIA RTX 4000 Ada Generation 20GB", "rtx-4000-ada"),
        ("NVIDIA RTX 5000 Ada 32GB", "rtx-5000-ada"),
        # Wording settles the form factor.
        ("NVIDIA Tesla P100 16GB GPU Accelerator Card", "p100-16gb-pcie"),
        ("NVIDIA Tesla V100 16GB full height bracket", "v100-16gb-pcie"),
        ("NVIDIA Tesla V100 16GB GPU module", "v100-16gb-sxm2"),
        ("NVIDIA V100 32GB SXM3", "v100-32gb-sxm3"),
        # Typos and spacing variants.
        ("NVIDIA A100 40GB PCle GPU", "a100-40gb-pcie"),
        ("NVIDIA Tesla V100 SMX2 16GB", "v100-16gb-sxm2"),
        ("Nvidia Tesla P 100 16GB PCI-E", "p100-16gb-pcie"),
        ("NVIDIA Tesla T4 16GBWithout bracket", "t4-16gb"),
    ],
)
def test_catalog_and_wording_settle_the_sku(title: str, sku: str) -> None:
    c = classify(title, catalog=CATALOG)
    assert (c.sku, c.excluded_reason) == (sku, None), c.classification_note


def test_undecided_where_a_person_would_be() -> None:
    c = classify("NVIDIA Tesla V100 32GB GPU", catalog=CATALOG)  # PCIe, SXM2 and SXM3 all have 32GB
    assert c.model == "V100" and c.memory_gb == 32 and c.sku is None and c.form_factor is None


def test_the_catalog_note_says_why() -> None:
    c = classify("NVIDIA Tesla P40 24GB", catalog=CATALOG)
    assert "only as a PCIe card" in c.classification_note


@pytest.mark.parametrize(
    ("title", "memory"),
    [
        ("Gigabyte GeForce RTX 3060 Gaming OC 11335-02-20G", None),  # a part-number fragment
        ("GIGABYTE RTX 3060 12GB GDDR6 11335-02-20G", 12),
        ("NVIDIA RTX A4000 16GB in HP Z4 G4 32GB (2x16GB) DDR4", 16),  # system RAM left out
        ("Quadro RTX 4000 8GB RAM 64GB workstation pull", 8),
        ("RAM 64GB NVIDIA Quadro RTX 5000", 16),  # RAM written before the size; memory fixed by the model
        ("GeForce GT 730 4GB DDR3 low profile", 4),  # small cards did use plain DDR3
        ("NVIDIA A100-80GB PCIe", 80),
    ],
)
def test_memory_only_from_memory_phrases(title: str, memory: int | None) -> None:
    assert classify(title, catalog=CATALOG).memory_gb == memory


@pytest.mark.parametrize(
    ("title", "count"),
    [
        ("Lot of 10 NVIDIA Tesla T4 16GB", 10),
        ("NVIDIA Tesla T4 16GB x10", 10),
        ("10x NVIDIA Tesla T4 16GB", 10),
        ("NVIDIA Tesla T4 16GB GPU (4x)", 4),
        ("Set of 2 NVIDIA RTX A4000 16GB", 2),
        ("Pack of 3 NVIDIA Tesla P4 8GB", 3),
        ("2pcs NVIDIA Tesla P4 8GB", 2),
        ("Pair NVIDIA Tesla P40 24GB", 2),
        ("NVIDIA Tesla P40 24GB (qty 4)", 4),
        # Never from memory sizes, fan counts, lane widths or model numbers.
        ("Lot of 16GB NVIDIA Tesla V100", 1),
        ("EVGA RTX 3080 FTW3 10GB 3 fans", 1),
        ("Qty 16GB NVIDIA Tesla T4", 1),
        ("PCIe 3.0 16x NVIDIA Tesla T4", 1),
        ("NVIDIA Tesla T4 16GB PCIe x16", 1),
        ("NVIDIA Tesla V100 for repair shop stock", 1),
    ],
)
def test_counts_from_every_lot_form(title: str, count: int) -> None:
    assert classify(title, catalog=CATALOG).gpu_count == count


@pytest.mark.parametrize(
    ("title", "model"),
    [
        ("ASUS TUF RTX 4070 Ti SUPER OC 16GB", "other:GeForce RTX 4070 Ti Super"),
        ("ASUS RTX 4070TI SUPER 16GB", "other:GeForce RTX 4070 Ti Super"),
        ("MSI GeForce RTX 4080 Super 16G Gaming X Slim", "other:GeForce RTX 4080 Super"),
        ("Zotac GeForce RTX 3060 Ti 8GB", "other:GeForce RTX 3060 Ti"),
        ("Sapphire Pulse AMD Radeon RX 7900 GRE 16GB", "other:Radeon RX 7900 GRE"),
        ("XFX Radeon RX 7900 XTX 24GB", "other:Radeon RX 7900 XTX"),
        ("AMD Radeon RX 7900 XT 20GB", "other:Radeon RX 7900 XT"),
        ("NVIDIA GeForce RTX 3070 Laptop GPU 8GB", "other:GeForce RTX 3070 Laptop"),
        ("NVIDIA GeForce GTX 1060 Mobile 6GB MXM", "other:GeForce GTX 1060 Laptop"),
        ("NVIDIA GeForce GTX 980M 8GB MXM", "other:GeForce GTX 980M"),
        ("NVIDIA RTX 4090D 24GB", "other:RTX 4090 D"),
        ("NVIDIA Tesla K80 24GB", "other:Tesla K80"),
    ],
)
def test_variant_vocabulary(title: str, model: str) -> None:
    assert classify(title, catalog=CATALOG).model == model
