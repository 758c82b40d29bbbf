"""Where a title names a GPU: catalog models (from the catalog's aliases), other GPUs, part numbers."""

from __future__ import annotations

import re
from functools import lru_cache

import attrs

from gpuprices.pipeline.classify.catalog import Catalog
from gpuprices.pipeline.classify.text import CARD_WORDS, GPU_ONLY_SERIES, tokens_after, tokens_before

__all__ = [
    "CatalogIndex",
    "Mention",
    "catalog_mentions",
    "gpu_brand_context",
    "index_for",
    "other_mentions",
    "part_number_skus",
]


@attrs.frozen
class Mention:
    """One place where the title names a GPU model."""

    name: str
    """Catalog model ("A100") or a display name of another GPU ("GeForce GTX 1060")."""
    start: int
    """Offset in the normalized title."""
    end: int
    """End offset in the normalized title."""
    catalog: bool
    """True for a catalog model."""
    weak: bool = False
    """A bare number ("4090") that only counts when nothing stronger names a model."""
    variant: str | None = None
    """A suffix that makes it another product: "D" (China market), "Ti", "Super", "Laptop"."""


@attrs.frozen
class _Alias:
    model: str
    weak: bool
    short: bool


@attrs.frozen(eq=False)
class CatalogIndex:
    """Regexes compiled from one catalog."""

    alias_re: re.Pattern[str]
    aliases: dict[str, _Alias]
    part_re: re.Pattern[str] | None
    parts: dict[str, frozenset[str]]


def _compact(text: str) -> str:
    return re.sub(r"[\s\-_]", "", text)


def _alias_pattern(alias: str) -> str:
    return r"[\s\-_]*".join(re.escape(word) for word in alias.split())


@lru_cache(maxsize=16)
def index_for(catalog: Catalog) -> CatalogIndex:
    """Compile (once per catalog object) the alias and part-number regexes."""
    # A model's aliases are pooled over its SKUs: memory and form factor come from the title.
    models: dict[str, str] = {}
    patterns: dict[str, str] = {}  # pattern -> compact key ("l40s" and "l40 s" are both kept)
    for sku in catalog:
        for alias in (sku.model.lower(), *sku.aliases):
            key = _compact(alias)
            if key:
                models.setdefault(key, sku.model)
                patterns.setdefault(_alias_pattern(alias), key)
    info = {key: _Alias(model, weak=key.isdigit(), short=len(key) <= 3) for key, model in models.items()}
    # Longest first: the regex alternation takes the first alternative that matches.
    alts = sorted(patterns.items(), key=lambda kv: (-len(kv[1]), -len(kv[0]), kv[0]))
    alias_re = re.compile(
        r"(?<![a-z0-9])(?P<alias>" + "|".join(p for p, _ in alts) + r")(?P<suffix>d|ti|m)?(?![a-z0-9])"
    )
    parts: dict[str, set[str]] = {}
    for sku in catalog:
        for number in sku.part_numbers:
            parts.setdefault(_compact(number.lower()), set()).add(sku.id)
    part_re = None
    if parts:
        numbers = sorted(parts, key=lambda k: (-len(k), k))
        part_re = re.compile(
            r"(?<![a-z0-9])(?:" + "|".join(r"[\s\-_]?".join(re.escape(c) for c in n) for n in numbers) + ")"
        )
    return CatalogIndex(alias_re, info, part_re, {k: frozenset(v) for k, v in parts.items()})


# Words that, right before a short name like "T4" or "L4", show it is the GPU and not a stock code.
_VENDOR_WORDS = frozenset(
    {
        "nvidia", "nvida", "nvidea", "tesla", "amd", "instinct", "geforce", "quadro", "rtx", "ampere", "ada",
        "hopper", "turing", "volta", "pascal", "blackwell", "dell", "hp", "hpe", "lenovo", "cisco", "pny",
        "leadtek", "supermicro", "new", "genuine", "oem",
    }
)
# Words that, right after it, show the same.
_GPU_WORDS = re.compile(
    r"^(?:gpu|gpus|graphics?|video|card|cards|accelerator|tensor|compute|computing|data|pcie|pci-e|pci|sxm\d?|"
    r"gddr\d[a-z]?|hbm\d?[a-z]?|\d{1,3}(?:gb|g)|deep|ai|passive|turing|ampere|ada|hopper)$"
)
_CODE_TAIL = re.compile(r"-(?!\d{1,3}\s?g(?:b)?\b|pci|sxm|nvl)[a-z0-9]")
# Suffixes that make another product of the same number (NVIDIA's and AMD's own variant names).
_VARIANT_AFTER = re.compile(r"\s?-?\s?(ti\s?super|ti|super|d|laptop|mobile|max-?q)(?![a-z0-9/\-])")


def catalog_mentions(text: str, index: CatalogIndex) -> list[Mention]:
    """Catalog models named in the normalized title, with stock codes and part numbers left out."""
    out = []
    for m in index.alias_re.finditer(text):
        key = _compact(m.group("alias"))
        alias = index.aliases.get(key)
        if alias is None:
            continue
        if alias.short and not _short_is_model(text, m.start(), m.end()):
            continue
        variant = m.group("suffix")
        after = _VARIANT_AFTER.match(text, m.end())
        if variant is None and after is not None:
            variant = after.group(1)
        out.append(
            Mention(
                name=alias.model,
                start=m.start(),
                end=m.end(),
                catalog=True,
                weak=alias.weak,
                variant=_variant_name(variant),
            )
        )
    return out


def _short_is_model(text: str, start: int, end: int) -> bool:
    """Is a 2-3 character name ("T4", "L4", "A10") the GPU, or a seller's stock/part code?"""
    if _CODE_TAIL.match(text, end):  # "L4-9", "T4-D2", "GPU-T4-16"
        return False
    before = tokens_before(text, start, 2)
    if start > 0 and text[start - 1] in "-/" and (not before or before[-1] not in _VENDOR_WORDS):
        return False
    if any(word in _VENDOR_WORDS for word in before):
        return True
    return any(_GPU_WORDS.match(word) for word in tokens_after(text, end, 3))


def _variant_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = re.sub(r"\s", "", raw)
    return {"d": "D", "ti": "Ti", "super": "Super", "tisuper": "Ti Super"}.get(key, "Laptop")


def part_number_skus(text: str, index: CatalogIndex) -> tuple[str, frozenset[str]] | None:
    """The longest catalog part number in the title and its SKUs."""
    if index.part_re is None:
        return None
    best: re.Match[str] | None = None
    for m in index.part_re.finditer(text):
        if best is None or len(_compact(m.group(0))) > len(_compact(best.group(0))):
            best = m
    if best is None:
        return None
    return best.group(0).upper(), index.parts[_compact(best.group(0))]


# ---------------------------------------------------------------------------------------------
# GPUs that are not in the catalog. Names follow the labels' style ("GeForce GTX 1060").

_OTHER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("quadro", re.compile(r"(?<![a-z0-9])quadro\s?(?P<fam>rtx\s?)?(?P<num>[kmpt]?\d{3,4}|gv100|gp100)(?![0-9])")),
    ("geforce", re.compile(
        r"(?<![a-z0-9])(?:geforce\s?)?(?P<fam>gtx|rtx|gts|gt)\s?-?(?:(?:geforce|\d{1,2}\s?gb?)\s)?"
        r"(?P<num>\d{3,4})(?:\s?(?P<suf>ti\s?super|ti|super|m|ada|d|laptop|mobile|max-?q)(?![a-z0-9]))?(?![0-9])")),
    ("legacy", re.compile(
        r"(?<![a-z0-9])(?:geforce\s?\d?\s?|quadro\s)?(?P<fam>mx|fx|nvs)\s?(?P<num>\d{2,4})(?P<suf>m)?(?![0-9])")),
    ("rtxa", re.compile(r"(?<![a-z0-9])(?:rtx\s?)?a(?P<num>[1-6][05]00)(?![a-z0-9])")),
    ("tesla", re.compile(r"(?<![a-z0-9])tesla\s?(?P<num>[kmp]\d{1,2})(?![0-9])")),
    ("titan", re.compile(r"(?<![a-z0-9])titan\s?(?P<num>rtx|xp|x|v|z|black)(?![a-z0-9])")),
    # Workstation lines named by their own words: "Radeon Pro Duo", "FirePro W9100", "RX Vega 64",
    # "RTX PRO 5000 Blackwell".
    ("radeonpro", re.compile(r"(?<![a-z0-9])(?:radeon\s?pro\s?(?P<duo>duo)|firepro\s?(?P<fp>[wsv]\d{4}))(?![a-z0-9])")),
    ("vega", re.compile(r"(?<![a-z0-9])(?:radeon\s?)?(?:rx\s?)?vega\s?(?P<num>56|64)(?![a-z0-9])")),
    ("rtxpro", re.compile(r"(?<![a-z0-9])rtx\s?pro\s?(?P<num>[2-6]000)(?:\s?(?P<gen>blackwell))?(?![a-z0-9])")),
    ("radeon", re.compile(
        r"(?<![a-z0-9])(?:radeon\s?(?:pro\s?)?(?:rx\s?)?|rx\s?)(?P<num>[a-z]?\d{3,4})\s?(?P<suf>xtx|xt|gre|gme|m)?"
        r"(?![a-z0-9])")),
    ("instinct", re.compile(r"(?<![a-z0-9])(?:instinct\s)?mi\s?(?P<num>\d{2,3})(?P<suf>[a-z])?(?![a-z0-9])")),
    ("arc", re.compile(r"(?<![a-z0-9])arc\s?(?P<num>[ab]\d{3})(?![a-z0-9])")),
    # Last resort: a model-like word right after a brand ("Tesla V100S", "NVIDIA 150M").
    ("generic", re.compile(
        r"(?<![a-z0-9])(?P<fam>nvidia|tesla|quadro|amd|radeon)\s"
        r"(?P<num>[a-z]{1,3}\d{1,4}[a-z]{0,2}|\d{2,4}(?!gb|g\b|mb)[a-z]{1,2})(?![a-z0-9\-])")),
    ("bare", re.compile(
        r"(?<![a-z0-9\-/.])(?P<num>[1-5]0[5-9]0|16[56]0|9[5-8]0|7[5-8]0)(?:\s?(?P<suf>ti\s?super|ti|super))?"
        r"(?![a-z0-9\-])")),
)
_GPU_CONTEXT = re.compile(
    r"\b(?:nvidia|amd|instinct|geforce|quadro|radeon|gpu|graphics?|video\s?card|zotac|evga|msi|asus|gigabyte|pny|palit|"
    r"gainward|inno3d|galax|galaxy|sapphire|xfx|powercolor|asrock|manli|colorful|kfa2|aorus|founders)\b"
    r"|" + CARD_WORDS + "|" + GPU_ONLY_SERIES
)


def gpu_brand_context(text: str) -> bool:
    """A GPU brand or GPU word appears (lets a bare "2080" or "4090" count as a model)."""
    return _GPU_CONTEXT.search(text) is not None


def other_mentions(text: str, taken: list[Mention]) -> list[Mention]:
    """GPUs outside the catalog; spans already taken by catalog mentions are skipped."""
    out: list[Mention] = []
    context = gpu_brand_context(text)
    for kind, pattern in _OTHER_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < t.end and t.start < m.end() for t in (*taken, *out)):
                continue
            name = _other_name(kind, m)
            if name is None or (kind in ("rtxa", "legacy", "bare", "instinct") and not context):
                continue
            weak = kind in ("bare", "generic")
            out.append(Mention(name=name, start=m.start(), end=m.end(), catalog=False, weak=weak))
    return sorted(out, key=lambda x: x.start)


def _other_name(kind: str, m: re.Match[str]) -> str | None:
    groups = m.groupdict()
    num = (groups.get("num") or "").upper()
    suf = (groups.get("suf") or "").lower()
    fam = (groups.get("fam") or "").strip().upper()
    suffix = {
        "ti": " Ti", "super": " Super", "tisuper": " Ti Super", "m": "M", "ada": " Ada", "xt": " XT", "xtx": " XTX",
        "gre": " GRE", "gme": " GME", "d": " D", "laptop": " Laptop", "mobile": " Laptop", "max-q": " Laptop",
        "maxq": " Laptop",
    }.get(re.sub(r"\s", "", suf), "")
    if kind == "geforce":
        if suf == "ada":
            return f"RTX {num} Ada"
        return f"GeForce {fam} {num}{suffix}"
    if kind == "legacy":
        return f"Quadro NVS {num}{suffix}" if fam == "NVS" else f"GeForce {fam} {num}{suffix}"
    if kind == "quadro":
        return f"Quadro {'RTX ' if fam else ''}{num}"
    if kind == "rtxa":
        return f"RTX A{num}"
    if kind == "tesla":
        return f"Tesla {num}"
    if kind == "titan":
        return f"TITAN {num}"
    if kind == "radeonpro":
        return "Radeon Pro Duo" if groups.get("duo") else f"FirePro {(groups.get('fp') or '').upper()}"
    if kind == "vega":
        return f"Radeon RX Vega {num}"
    if kind == "rtxpro":
        return f"RTX PRO {num}{' Blackwell' if groups.get('gen') else ''}"
    if kind == "radeon":
        return f"Radeon RX {num}{suffix}"
    if kind == "instinct":
        return f"Instinct MI{num}{suf.upper()}"
    if kind == "arc":
        return f"Arc {num}"
    if kind == "generic":
        return f"{'NVIDIA' if fam == 'NVIDIA' else 'AMD' if fam == 'AMD' else fam.title()} {num}"
    value = int(num)  # a bare consumer model number: its family from the number
    fam = "GT" if value == 1030 else "RTX" if value >= 2000 else "GTX"
    return f"GeForce {fam} {num}{suffix}"


# Consumer cards sold in one memory size only (GB); others need the title to say it.
OTHER_MEMORY: dict[str, int] = {
    "GeForce RTX 2060 Super": 8, "GeForce RTX 2070": 8, "GeForce RTX 2070 Super": 8, "GeForce RTX 2080": 8,
    "GeForce RTX 2080 Super": 8, "GeForce RTX 2080 Ti": 11, "GeForce RTX 3060 Ti": 8, "GeForce RTX 3070": 8,
    "GeForce RTX 3070 Ti": 8, "GeForce RTX 3080 Ti": 12, "GeForce RTX 3090": 24, "GeForce RTX 3090 Ti": 24,
    "GeForce RTX 4070": 12, "GeForce RTX 4070 Super": 12, "GeForce RTX 4070 Ti": 12, "GeForce RTX 4080": 16,
    "GeForce RTX 4080 Super": 16, "GeForce RTX 5070": 12, "GeForce RTX 5070 Ti": 16, "GeForce RTX 5080": 16,
    "GeForce GTX 1080 Ti": 11, "GeForce GTX 1080": 8, "GeForce GTX 1070": 8, "GeForce GTX 1070 Ti": 8,
    "GeForce GTX 1660": 6, "GeForce GTX 1660 Super": 6, "GeForce GTX 1660 Ti": 6, "GeForce GTX 1650": 4,
    "GeForce GTX 1050 Ti": 4, "GeForce GTX 980 Ti": 6, "GeForce GTX 980": 4, "GeForce GTX 780 Ti": 3,
    "TITAN RTX": 24, "TITAN V": 12, "TITAN XP": 12, "Quadro K1200": 4, "Quadro K4200": 4, "Quadro K5000": 4,
    "Quadro RTX 4000": 8, "Quadro RTX 5000": 16, "Quadro RTX 6000": 24, "Quadro RTX 8000": 48,
    "RTX A4000": 16, "RTX A4500": 20, "RTX A5500": 24, "Tesla P40": 24, "Tesla P4": 8, "Tesla K80": 24,
    "GeForce RTX 4060": 8, "GeForce RTX 4070 Ti Super": 16, "Quadro P2200": 5, "Quadro P5000": 16,
    "Quadro P6000": 24, "Quadro GV100": 32, "Tesla M10": 32,
    # AMD's product pages (amd.com/en/products/graphics): one memory size per model.
    "Radeon RX 5600 XT": 6, "Radeon RX 5700": 8, "Radeon RX 5700 XT": 8, "Radeon RX 6600": 8,
    "Radeon RX 6600 XT": 8, "Radeon RX 6650 XT": 8, "Radeon RX 6700 XT": 12, "Radeon RX 6750 XT": 12,
    "Radeon RX 6800": 16, "Radeon RX 6800 XT": 16, "Radeon RX 6900 XT": 16, "Radeon RX 6950 XT": 16,
    "Radeon RX 7700 XT": 12, "Radeon RX 7800 XT": 16, "Radeon RX 7900 GRE": 16, "Radeon RX 7900 XT": 20,
    "Radeon RX 7900 XTX": 24, "Radeon RX Vega 56": 8, "Radeon RX Vega 64": 8, "Radeon Pro Duo": 32,
}
