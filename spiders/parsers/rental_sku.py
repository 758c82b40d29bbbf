"""Cloud accelerator names → catalog SKU ids (``H100-SXM`` → ``h100-80gb-sxm5``).

Rental feeds name GPUs loosely: SkyPilot writes ``H100`` for Lambda's SXM5 *and* PCIe machines (the
instance type tells them apart), vast.ai writes ``H100 SXM`` / ``A100 PCIE`` and gives the memory
separately, the price tracker ``H100_80GB_SXM5``. A name becomes a SKU only when the catalog has
exactly that product; the defaults below are what clouds rent when they do not say more:

* H100 / H200 / H800 without a form factor → SXM (cloud H100s are SXM5 boards unless named PCIe
  or NVL); ``H100 NVL`` or a 94/96 GB H100 → ``h100-94gb-nvl``.
* A100 → 40 GB unless the name or the memory says 80 GB; SXM4 unless named PCIe.
* V100 → 16 GB unless 32 GB; SXM2 (AWS p3, GCP, Lambda) unless named PCIe or an Azure NCv3.
* A10G (AWS g5), T4g (AWS Graviton g5g) and A100X are variants the catalog does not price: they get
  no SKU and a model of ``other:<name>``, so they are kept but never mixed into a catalog SKU's index.
* Anything unrecognized gets no SKU either (kept with its raw name, excluded from the index).
"""

from __future__ import annotations

import re

import attrs

__all__ = ["SkuMatch", "rental_sku"]


@attrs.frozen
class SkuMatch:
    """What an accelerator name means."""

    sku: str | None
    """Catalog SKU id, or ``None`` (unknown, or a variant outside the catalog)."""
    model: str | None
    """Model found (``H100``), ``other:<name>`` for known non-catalog variants, ``None`` when unknown."""
    note: str = ""
    """An assumption made or why there is no SKU; empty when the name said everything."""


_NOISE = re.compile(r"\b(NVIDIA|TESLA|AMD|INSTINCT|GEFORCE|QUADRO|TENSOR CORE|GPU)\b")
_SEPARATORS = re.compile(r"[\s_\-/(),]+")
_MEMORY = re.compile(r"\b(\d{2,3}) ?GB\b")

# Known variants the catalog does not price: kept out of every SKU rather than guessed into one.
_OTHER: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"\bA10G\b"), "A10G", "A10G is AWS's own A10 variant (g5), not the catalog's A10"),
    (re.compile(r"\bT4G\b"), "T4g", "T4g is AWS's Graviton T4 variant (g5g), not priced in the catalog"),
    (re.compile(r"\bA100X\b"), "A100X", "A100X (A100 with ConnectX) is not in the catalog"),
)

# First match wins: longer names before their prefixes (GH200 before H200, L40S before L40 and L4).
_MODELS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"\bGH ?200\b", "GH200"),
    (r"\bH ?200\b", "H200"),
    (r"\bH ?100\b", "H100"),
    (r"\bH ?800\b", "H800"),
    (r"\bB ?200\b", "B200"),
    (r"\bA ?800\b", "A800"),
    (r"\bA ?100\b", "A100"),
    (r"\bA10\b", "A10"),
    (r"\bA30\b", "A30"),
    (r"\bA40\b", "A40"),
    (r"\bL40S\b", "L40S"),
    (r"\bL40\b", "L40"),
    (r"\bL4\b", "L4"),
    (r"\bT4\b", "T4"),
    (r"\bV100\b", "V100"),
    (r"\bP100\b", "P100"),
    (r"\bMI ?300X\b", "MI300X"),
    (r"\bMI ?250X\b", "MI250X"),
    (r"\bMI ?250\b", "MI250"),
    (r"\bRTX ?6000 ?ADA\b", "RTX 6000 Ada"),
    (r"\b(RTX ?)?A6000\b", "RTX A6000"),
    (r"\b(RTX ?)?A5000\b", "RTX A5000"),
    (r"\bRTX ?4090\b", "RTX 4090"),
    (r"\bRTX ?5090\b", "RTX 5090"),
))

# Models with a single catalog SKU.
_SINGLE = {"B200": "b200", "A10": "a10-24gb", "A30": "a30-24gb", "A40": "a40-48gb", "L40S": "l40s-48gb",
           "L40": "l40-48gb", "L4": "l4-24gb", "T4": "t4-16gb", "MI300X": "mi300x-192gb", "MI250X": "mi250x",
           "MI250": "mi250-128gb", "RTX 6000 Ada": "rtx-6000-ada", "RTX A6000": "rtx-a6000",
           "RTX A5000": "rtx-a5000", "RTX 4090": "rtx-4090", "RTX 5090": "rtx-5090"}

# Instance families whose accelerator name hides the form factor (Azure names only the chip).
_INSTANCE_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^STANDARD_NC\d+ADS_A100_V4"), "pcie"),  # Azure NC A100 v4: A100 80GB PCIe
    (re.compile(r"^STANDARD_NC\d+ADS_H100_V5"), "nvl"),  # Azure NCads H100 v5: H100 NVL
    (re.compile(r"^STANDARD_NC\d+S_V3"), "pcie"),  # Azure NCv3: V100 16GB PCIe
)


def _normalize(text: str) -> str:
    upper = _SEPARATORS.sub(" ", text.upper())
    return " ".join(_NOISE.sub(" ", upper).split())


def _form_factor(name: str, instance_type: str | None) -> str | None:
    texts = [name]
    if instance_type:
        upper = instance_type.upper()
        for pattern, form in _INSTANCE_FORMS:
            if pattern.match(upper):
                return form
        texts.append(_normalize(instance_type))
    for text in texts:
        if "PCIE" in text:
            return "pcie"
        if re.search(r"\bNVL\b", text):  # NVLINK (Fluidstack's SXM boards) is one word: no match
            return "nvl"
        if "SXM" in text:
            return "sxm"
    return None


def rental_sku(accelerator: str, *, memory_gb: float | None = None, instance_type: str | None = None) -> SkuMatch:
    """The catalog SKU of a rented accelerator.

    ``memory_gb`` is the per-GPU memory when the feed gives it apart from the name (vast.ai's
    ``gpu_ram``, SkyPilot's ``GpuInfo``); a size in the name wins. ``instance_type`` settles the form
    factor when the name does not (Lambda's ``gpu_1x_h100_pcie`` is named just ``H100``).
    """
    name = _normalize(accelerator or "")
    if not name:
        return SkuMatch(None, None, "no accelerator name")
    for pattern, other, why in _OTHER:
        if pattern.search(name):
            return SkuMatch(None, f"other:{other}", why)
    model = next((m for pattern, m in _MODELS if pattern.search(name)), None)
    if model is None:
        return SkuMatch(None, None, f"unknown accelerator {accelerator!r}: kept, not indexed")
    stated = _MEMORY.search(name)
    memory = float(stated.group(1)) if stated else memory_gb
    form = _form_factor(name, instance_type)
    if model in _SINGLE:
        return SkuMatch(_SINGLE[model], model)
    return _resolve(model, memory, form)


def _resolve(model: str, memory: float | None, form: str | None) -> SkuMatch:
    def assumed(what: str) -> str:
        return "" if form else f"form factor not stated: {what} assumed"

    if model == "H100":
        if form == "nvl" or (memory is not None and memory >= 90):
            return SkuMatch("h100-94gb-nvl", model)
        if form == "pcie":
            return SkuMatch("h100-80gb-pcie", model)
        return SkuMatch("h100-80gb-sxm5", model, assumed("SXM5"))
    if model == "H200":
        if form == "nvl":
            return SkuMatch("h200-141gb-nvl", model)
        return SkuMatch("h200-141gb-sxm", model, assumed("SXM"))
    if model == "H800":
        return SkuMatch("h800-80gb-pcie" if form == "pcie" else "h800-80gb-sxm5", model)
    if model == "GH200":
        return SkuMatch("gh200-144gb" if memory is not None and memory >= 120 else "gh200", model)
    if model == "A800":
        if form == "sxm":
            return SkuMatch(None, "other:A800 SXM", "the catalog has only PCIe A800s")
        return SkuMatch("a800-40gb-pcie" if memory is not None and memory < 60 else "a800-80gb-pcie", model)
    if model == "A100":
        size = "80gb" if memory is not None and memory >= 60 else "40gb"
        notes = [] if memory is not None else ["memory not stated: 40 GB assumed"]
        notes += [assumed("SXM4")] if form is None else []
        return SkuMatch(f"a100-{size}-{'pcie' if form == 'pcie' else 'sxm4'}", model, "; ".join(notes))
    if model == "V100":
        size = "32gb" if memory is not None and memory >= 24 else "16gb"
        return SkuMatch(f"v100-{size}-{'pcie' if form == 'pcie' else 'sxm2'}", model)
    if model == "P100":
        size = "12gb" if memory is not None and memory <= 12 else "16gb"
        return SkuMatch("p100-16gb-sxm2" if form == "sxm" and size == "16gb" else f"p100-{size}-pcie", model)
    raise AssertionError(f"no rule for model {model}")  # every _MODELS entry is in _SINGLE or above
