"""classify(title): is this listing one sellable GPU of catalog SKU X?"""

from __future__ import annotations

import itertools
import re
from enum import StrEnum
from functools import lru_cache

import attrs

from gpuprices.pipeline.classify import exclusions as ex
from gpuprices.pipeline.classify.catalog import Catalog, Sku, load_catalog
from gpuprices.pipeline.classify.counts import gpu_count, not_working_reason
from gpuprices.pipeline.classify.formfactor import evidence, resolve
from gpuprices.pipeline.classify.mentions import (
    OTHER_MEMORY,
    Mention,
    catalog_mentions,
    gpu_brand_context,
    index_for,
    other_mentions,
    part_number_skus,
)
from gpuprices.pipeline.classify.text import MemoryMention, memory_mentions, normalize

__all__ = ["Classification", "ExcludedReason", "classify", "default_catalog"]


class ExcludedReason(StrEnum):
    """Why a listing is not a GPU of the catalog."""

    ACCESSORY = "accessory"
    BOX_ONLY = "box_only"
    PICTURE = "picture_or_listing_of_photo"
    NOT_A_GPU = "not_a_gpu"
    UNRELATED_MODEL = "unrelated_model"


@attrs.frozen
class Classification:
    """What one listing title sells."""

    model: str | None
    """Catalog model ("H100", "RTX 4090"), ``other:<name>`` for other GPUs, ``None`` when none is named."""
    sku: str | None
    """Catalog SKU id; ``None`` when excluded or when memory or form factor cannot be decided."""
    memory_gb: int | None
    """GPU memory in GB (stated, fixed by the model, or by a part number)."""
    form_factor: str | None
    """``pcie``, ``sxm2``…``sxm5``, ``nvl``, ``oam``, ``superchip``, ``module``, ``ambiguous`` or ``None``."""
    gpu_count: int
    """GPUs sold (lots and multi-GPU boards count each GPU; accessories 0)."""
    working: bool
    """False when sold for parts / not working / as-is."""
    excluded_reason: ExcludedReason | None
    """``None`` for a real GPU of the catalog, else why not."""
    classification_note: str
    """Short human explanation of the decision."""
    system: bool = False
    """A complete server (DGX, or a server sold with CPUs): the GPUs' unit price is not separable."""


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The built-in catalog, loaded once."""
    return load_catalog()


# Words and separators allowed between model names of a variation listing ("A3000 6GB / A4000").
_LIST_GAP = re.compile(r"^(?:[\s/,&+|\-]|\bor\b|\band\b|\d{1,3}\s?gb?\b)*$")
_DGX_COUNT = ((re.compile(r"\bdgx[\s\-]?station\b"), 4), (re.compile(r"\bdgx[\s\-]?2\b"), 16))
_NON_PCIE_OTHER = re.compile(r"\b(?:agp|mxm|laptop|notebook|mobile)\b")


def classify(title: str, *, catalog: Catalog | None = None, condition: str | None = None) -> Classification:
    """Classify one listing title (pure; never raises on any string)."""
    catalog = catalog or default_catalog()
    text = normalize(title)
    index = index_for(catalog)
    cat = catalog_mentions(text, index)
    others = other_mentions(text, cat)
    # GPU memory only: a computer's RAM or disk size is never the card's memory.
    mems = [m for m in memory_mentions(text) if not m.host]
    bad = not_working_reason(text, condition)
    notes: list[str] = []
    if bad:
        notes.append(f"'{bad}' → not working" if not bad.startswith("condition") else f"{bad} → not working")
    working = bad is None

    named = sorted([m for m in (*cat, *others) if not m.weak], key=lambda m: m.start)
    primary = _primary(text, cat, others, named)
    multi = _variation(text, named)

    def excluded(reason: ExcludedReason, note: str, model: str | None = None) -> Classification:
        notes.insert(0, note)
        return Classification(model, None, None, None, 0, working, reason, "; ".join(notes))

    for reason, found in (
        (ExcludedReason.PICTURE, ex.photo_reason(text)),
        (ExcludedReason.BOX_ONLY, ex.box_only_reason(text)),
        (ExcludedReason.NOT_A_GPU, ex.computer_reason(text)),
    ):
        if found:
            return excluded(reason, found, _display(primary))
    if primary is not None or ex.has_gpu_context(text):
        valid = primary is not None and primary.catalog and bool(_valid_memories(catalog, primary.name, mems, 1))
        found = ex.accessory_reason(text, valid, primary.start if primary else None)
        if found:
            return excluded(ExcludedReason.ACCESSORY, found, _display(primary))
    if primary is None:
        if ex.has_gpu_context(text) and ex.GPU_WORDS.search(text):
            return _other(text, None, mems, working, notes, "a GPU, but no model named")
        return excluded(ExcludedReason.NOT_A_GPU, "no GPU model named")
    if multi:
        return _other(text, f"multi ({' / '.join(multi)})", [], working, notes, "several models listed together")
    if not primary.catalog:
        return _other(text, primary.name, mems, working, notes, f"'{primary.name}' is not a catalog model", primary)
    return _catalog_gpu(text, catalog, primary, cat, mems, working, notes)


def _primary(text: str, cat: list[Mention], others: list[Mention], named: list[Mention]) -> Mention | None:
    """The model the listing is about: the first strong mention, else a confirmed bare number."""
    if named:
        return named[0]
    weak = sorted([m for m in (*cat, *others) if m.weak], key=lambda m: m.start)
    if weak and (ex.has_gpu_context(text) or gpu_brand_context(text)):
        return weak[0]
    return None


def _display(mention: Mention | None) -> str | None:
    if mention is None:
        return None
    if not mention.catalog:
        return f"other:{mention.name}"
    return f"other:{mention.name} {mention.variant}" if mention.variant else mention.name


def _variation(text: str, named: list[Mention]) -> list[str]:
    """Model names of a variation listing ("RTX A3000 A4000 A5000"), else empty."""
    names: list[str] = []
    for a, b in itertools.pairwise(named):
        if _display(a) != _display(b) and _LIST_GAP.match(text[a.end : b.start]):
            for m in (a, b):
                name = (_display(m) or "").removeprefix("other:")
                if name not in names:
                    names.append(name)
    return names


def _valid_memories(catalog: Catalog, model: str, mems: list[MemoryMention], count: int) -> list[int]:
    """Stated sizes the model is sold in (a total over ``count`` GPUs counts too), in title order."""
    sizes = {s.memory_gb for s in catalog.skus_of(model)}
    out: list[int] = []
    for m in mems:
        for value in (m.gb, m.gb / count if count > 1 else None):
            if value is not None and value.is_integer() and int(value) in sizes and int(value) not in out:
                out.append(int(value))
                break
    return out


def _other(
    text: str,
    name: str | None,
    mems: list[MemoryMention],
    working: bool,
    notes: list[str],
    why: str,
    mention: Mention | None = None,
) -> Classification:
    """A real GPU that is not one of the catalog's products."""
    memory = next((int(m.gb) for m in mems if m.gb >= 1 and m.gb.is_integer()), None)
    if memory is None and name is not None:
        memory = OTHER_MEMORY.get(name)
    laptop = ex.laptop_module_cue(text) or _NON_PCIE_OTHER.search(text) or (name or "").endswith("M")
    count, count_note = gpu_count(text, [mention] if mention else [])
    notes.insert(0, why)
    if count_note:
        notes.append(count_note)
    return Classification(
        model=f"other:{name}" if name else None,
        sku=None,
        memory_gb=memory,
        form_factor=None if laptop or name is None else "pcie",
        gpu_count=count,
        working=working,
        excluded_reason=ExcludedReason.UNRELATED_MODEL,
        classification_note="; ".join(notes),
    )


def _catalog_gpu(
    text: str,
    catalog: Catalog,
    primary: Mention,
    cat: list[Mention],
    mems: list[MemoryMention],
    working: bool,
    notes: list[str],
) -> Classification:
    model = primary.name
    skus = catalog.skus_of(model)
    sizes = sorted({s.memory_gb for s in skus})
    mentions = [m for m in cat if m.name == model]
    count, count_note = gpu_count(text, mentions)
    system = ex.system_reason(text, count)
    if system and count == 1:
        count = _system_count(text, mems, sizes)
        count_note = f"{system} → {count} GPUs"
    valid = _valid_memories(catalog, model, mems, count)
    laptop = ex.laptop_module_cue(text)
    conflict = [m for m in mems if not valid and not system and m.gb < 2.5 * max(sizes)]
    if primary.variant or laptop or conflict:
        variant = primary.variant or ("Laptop" if laptop else f"{conflict[0].gb:g}GB")
        why = f"'{model} {variant}' is another product than the catalog's {model}"
        other = _other(text, f"{model} {variant}", mems, working, notes, why, primary)
        if variant == "D" and other.memory_gb is None and len(sizes) == 1:
            other = attrs.evolve(other, memory_gb=sizes[0])
        return other
    memory = valid[0] if len(valid) == 1 else None
    facts: list[str] = []
    if len(valid) > 1:
        facts.append(f"several memory sizes stated ({', '.join(map(str, valid))} GB)")
    candidates: tuple[Sku, ...] = tuple(s for s in skus if memory is None or s.memory_gb == memory)
    part = part_number_skus(text, index_for(catalog))
    part_skus = part[1] if part and any(s.id in part[1] for s in skus) else None
    candidates, form, ff_note = resolve(candidates, evidence(text), part_skus, part[0] if part else None)
    if ff_note:
        facts.append(ff_note)
    elif form is not None and len({s.form_factor for s in skus}) == 1:
        facts.append(f"{model} is {form}-only")
    if memory is None and len({s.memory_gb for s in candidates}) == 1 and form != "ambiguous":
        memory = candidates[0].memory_gb
        facts.append(f"{memory}GB fixed by the model" if len(sizes) == 1 else f"{memory}GB implied")
    sku = None
    if form not in (None, "ambiguous") and memory is not None:
        matching = [s for s in candidates if s.memory_gb == memory and s.form_factor == form]
        sku = matching[0].id if len(matching) == 1 else None
    chosen = catalog.get(sku) if sku else None
    if chosen is not None and chosen.classification_note and not (ff_note and "stated" in ff_note):
        facts.append(chosen.classification_note)  # why the catalog settles what the title leaves out
    if sku is None:
        missing = [w for w, v in (("memory", memory), ("form factor", form)) if v in (None, "ambiguous")]
        head = f"{model}: {' and '.join(missing) or 'SKU'} undecided → no SKU"
    else:
        head = f"{model} → {sku}"
    notes[:0] = [head, *facts]
    if count_note:
        notes.append(count_note)
    if system:
        notes.append(f"{system}: price not separable")
    return Classification(
        model=model,
        sku=sku,
        memory_gb=memory,
        form_factor=form,
        gpu_count=count,
        working=working,
        excluded_reason=None,
        classification_note="; ".join(notes),
        system=system is not None,
    )


def _system_count(text: str, mems: list[MemoryMention], sizes: list[int]) -> int:
    """GPUs in a server when the title gives no count: DGX defaults, or total memory / GPU memory."""
    for pattern, n in _DGX_COUNT:
        if pattern.search(text):
            return n
    for m in mems:
        for size in sorted(sizes, reverse=True):
            if m.gb > size and (m.gb / size).is_integer() and m.gb / size <= 16:
                return int(m.gb / size)
    return 8 if re.search(r"\bdgx\b", text) else 1
