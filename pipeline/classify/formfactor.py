"""Form factor evidence in a title and how it narrows a model's SKUs."""

from __future__ import annotations

import re

import attrs

from gpuprices.pipeline.classify.catalog import Sku
from gpuprices.pipeline.classify.text import watt_mentions

__all__ = ["FormFactorEvidence", "evidence", "resolve"]

_PCIE = re.compile(r"(?<![a-z0-9])(?:pci[\s\-_]?e(?:xpress)?|pci[\s\-_]?express|pcie\d?|pci)(?![a-z])")
_SXM = re.compile(r"(?<![a-z0-9])sxm\s?([2-6])?(?![a-z0-9])")
_NVL = re.compile(r"(?<![a-z0-9])nvl(?![a-z0-9])")
_OAM = re.compile(r"(?<![a-z0-9])oam(?![a-z0-9])")
# Negators right before a form factor: "Not SXM version", "no SXM", "non-SXM", "not a PCIe card".
_NEGATED = re.compile(r"(?:\b(?:not|no|non|without|isn'?t)\s?-?\s?(?:an?\s|the\s)?)$")
_ADAPTER_AFTER = re.compile(r"[\s\-]?(?:\d\.0\s)?(?:adapter|riser|extender|converter|carrier|slot)")
# Baseboards, DGX/HGX platforms and mezzanine modules are SXM (an SXM GPU is a module, a PCIe GPU a card).
_BASEBOARD = re.compile(r"\b(?:hgx|dgx|baseboard|base board|delta board|redstone)\b")
_MODULE = re.compile(r"\b(?:mezzanine|modules?)\b")
# Wording that describes a card in a slot (weak: used only when nothing is stated): an accelerator card,
# its bracket, its height, its slot width, its cooler. Not "graphics card": sellers call SXM modules that.
_CARD_CUES = re.compile(
    r"\b(?:dual[\s-]?slot|single[\s-]?slot|fhfl|fhhl|hhhl|full[\s-]?height|half[\s-]?height|low[\s-]?profile"
    r"|passive|blower|x16|brackets?|(?:accelerator|compute|add-in|expansion)\s+cards?)\b"
)


@attrs.frozen
class FormFactorEvidence:
    """What a title says about the form factor."""

    stated: frozenset[str]
    """Form factors written and not negated: pcie, sxm (no generation), sxm2…sxm6, nvl, oam."""
    negated: frozenset[str]
    """Form factors written after "not"/"no"/"non"."""
    baseboard: bool
    """HGX/DGX/baseboard wording (SXM modules)."""
    module: bool
    """"module"/"mezzanine": an SXM module unless card wording says otherwise."""
    card_cue: bool
    """Slot-card wording (dual slot, FHFL, passive…)."""
    watts: tuple[int, ...]
    """Wattages written in the title."""


def evidence(text: str) -> FormFactorEvidence:
    """Collect form factor evidence from a normalized title."""
    stated: set[str] = set()
    negated: set[str] = set()
    for pattern, make in ((_PCIE, lambda m: "pcie"), (_SXM, lambda m: "sxm" + (m.group(1) or "")),
                          (_NVL, lambda m: "nvl"), (_OAM, lambda m: "oam")):
        for m in pattern.finditer(text):
            if make(m) == "pcie" and (_ADAPTER_AFTER.match(text, m.end()) or text[: m.start()].endswith("to ")):
                continue  # "SXM2 to PCIe adapter": the adapter is PCIe, not the GPU
            (negated if _NEGATED.search(text[max(0, m.start() - 16) : m.start()]) else stated).add(make(m))
    return FormFactorEvidence(
        stated=frozenset(stated),
        negated=frozenset(negated),
        baseboard=_BASEBOARD.search(text) is not None,
        module=_MODULE.search(text) is not None,
        card_cue=_CARD_CUES.search(text) is not None,
        watts=tuple(watt_mentions(text)),
    )


# Form factors a title can contradict (a "module"/"superchip" SKU may be written as SXM).
_KINDS = frozenset({"pcie", "sxm2", "sxm3", "sxm4", "sxm5", "sxm6", "nvl", "oam"})


def _is_sxm(ff: str) -> bool:
    return ff.startswith("sxm")


def _matches(stated: str, ff: str) -> bool:
    if stated == "sxm":
        return _is_sxm(ff)
    if stated == "pcie":
        return ff in ("pcie", "nvl")  # NVL cards are PCIe cards
    return stated == ff


def resolve(
    candidates: tuple[Sku, ...], ev: FormFactorEvidence, part_skus: frozenset[str] | None, part: str | None
) -> tuple[tuple[Sku, ...], str | None, str]:
    """Narrow ``candidates`` (one model, memory already applied) by form factor.

    Returns the remaining SKUs, the decided form factor (``ambiguous`` when PCIe and SXM are both
    stated and nothing settles it, ``None`` when undecided) and a note.
    """
    if not candidates:
        return candidates, None, ""
    forms = {s.form_factor for s in candidates}
    if part_skus is not None:  # a part number fixes the board
        narrowed = tuple(s for s in candidates if s.id in part_skus)
        if narrowed:
            done = _single(narrowed)
            if done is not None:
                return narrowed, done, f"part number {part} → {done}"
            candidates, forms = narrowed, {s.form_factor for s in narrowed}
    stated = set(ev.stated)
    if len(forms) == 1:
        only = next(iter(forms))
        if stated and only in _KINDS and not any(_matches(st, only) for st in stated):
            return candidates, None, f"{' and '.join(sorted(stated))} stated, but this model/memory is {only}"
        return candidates, only, ""
    note = ""
    if not stated and ev.negated:
        # "Not SXM version" on a model with PCIe and SXM boards means the PCIe card (and vice versa).
        if any(_is_sxm(n) for n in ev.negated):
            stated, note = {"pcie"}, "'not SXM' negates SXM → pcie"
        elif "pcie" in ev.negated:
            stated, note = {"sxm"}, "'not PCIe' negates PCIe → sxm"
    if "nvl" in stated and any(s.form_factor == "nvl" for s in candidates):
        stated = {"nvl"}
    if stated:
        groups = [tuple(s for s in candidates if _matches(st, s.form_factor)) for st in sorted(stated)]
        groups = [g for g in groups if g]
        kinds = {"sxm" if _is_sxm(s.form_factor) else s.form_factor for g in groups for s in g}
        if len(kinds) > 1:
            return candidates, "ambiguous", f"{' and '.join(sorted(stated))} both stated → ambiguous"
        if groups:
            narrowed = tuple({s.id: s for g in groups for s in g}.values())
            ff = _single(narrowed)
            return narrowed, ff, note or (f"'{sorted(stated)[0]}' stated" if ff else "")
    if ev.baseboard or (ev.module and not ev.card_cue):
        narrowed = tuple(s for s in candidates if _is_sxm(s.form_factor))
        if narrowed:
            return narrowed, _single(narrowed), "HGX/DGX board → SXM" if ev.baseboard else "'module' → SXM"
    if ev.watts:
        narrowed = tuple(s for s in candidates if any(w in s.tdp_w for w in ev.watts))
        ff = _single(narrowed)
        if ff is not None:
            return narrowed, ff, f"{ev.watts[0]} W → {ff}"
    if ev.card_cue:
        narrowed = tuple(s for s in candidates if s.form_factor == "pcie")
        if narrowed:
            return narrowed, "pcie", "slot-card wording → pcie"
    return candidates, None, ""


def _single(skus: tuple[Sku, ...]) -> str | None:
    forms = {s.form_factor for s in skus}
    return next(iter(forms)) if len(forms) == 1 else None
