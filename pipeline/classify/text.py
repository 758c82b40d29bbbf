"""Title normalization and the small text facts every rule uses (memory sizes, wattages, tokens)."""

from __future__ import annotations

import re
import unicodedata

import attrs

__all__ = [
    "CARD_WORDS", "GPU_ONLY_SERIES", "MemoryMention", "memory_mentions", "normalize", "tokens_after", "tokens_before",
    "watt_mentions",
]

# "Graphics card" in the languages of the marketplaces we read (NO/DA/SV, DE, NL, FR, IT, ES, PT, PL, HU,
# CS, JA, ZH, KO): the listing is a graphics card even when its model is not named.
CARD_WORDS = (
    r"\b(?:skjermkort|grafikkort|grafikkarten?|grafische\s+kaart|videokaart|carte\s+graphique|scheda\s+video|"
    r"tarjeta\s+gr[aá]fica|placa\s+de\s+v[ií]deo|karta\s+graficzna|vide[oó]\s?k[aá]rty[aá]k?|grafick[aá]\s+karta)\b"
    r"|グラフィックボード|グラボ|显卡|顯示卡|그래픽\s?카드"
)
# Series names graphics card makers use for nothing else (LHR: NVIDIA's Lite Hash Rate cards).
GPU_ONLY_SERIES = (
    r"\b(?:lhr|non-?lhr|founders\s+edition|suprim|ventus|windforce|ftw3|xc3|twin\s+edge|gamerock|"
    r"gaming\s+x\s+trio)\b"
)
# Marks sellers glue to names ("RTX™ 4090") and the replacement char left by bad encodings.
_DROP = str.maketrans({c: " " for c in "™®©\ufffd\u2122\u00ae\u00a9*!\"“”‘’`~^{}<>"})
_WITHOUT = re.compile(r"\bw\s?/\s?o(?:ut)?\b|\bwo/")
_WITH = re.compile(r"\bw\s?/(?=\s|[a-z])")
_SPACES = re.compile(r"\s+")


# Spellings sellers use for the same word: "PCle" (a lower-case L for the I), "SMX2" for SXM2.
_TYPOS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![a-z0-9])pcle(?=[\s\-_0-9x]|$)"), "pcie"),
    (re.compile(r"(?<![a-z0-9])smx(?=[2-6]?(?![a-z0-9]))"), "sxm"),
    # "Raedon 6900XT", "Radon R9 380": Radeon misspelt, told from the word radon by the model after it.
    (re.compile(r"(?<![a-z0-9])(?:raedon|radon|readon|raedeon)(?=\s?(?:rx|r[579]|hd|pro|vega|\d))"), "radeon"),
)
# A size glued to the next word ("16GBWithout", "24GBGDDR6"): split so both words are read.
_GLUED_UNIT = re.compile(
    r"(?<![a-z0-9.])(\d{1,4}(?:\.\d{1,2})?\s?(?:gb|tb|mb))"
    r"(?=with|without|gddr|hbm|pci|sxm|gpu|graph|video|card|vram|ram\b|ddr|ecc|passive|tesla|nvidia|new|used)"
)
# "Tesla P 100", "NVIDIA V-100": a brand, then a model letter and its number written apart.
_SPLIT_MODEL = re.compile(r"\b(nvidia|tesla|quadro|instinct|amd)\s+([pvkmtahl]|mi)[\s\-](\d{1,4}[a-z]?)(?![a-z0-9])")


def normalize(title: str) -> str:
    """Lowercase, NFKC, marks dropped, "w/o" → "without", "w/" → "with", typos fixed, spaces collapsed."""
    text = title.translate(_DROP)
    text = unicodedata.normalize("NFKC", text).lower()
    text = _WITHOUT.sub(" without ", text)
    text = _WITH.sub(" with ", text)
    for pattern, fixed in _TYPOS:
        text = pattern.sub(fixed, text)
    text = _GLUED_UNIT.sub(r"\1 ", text)
    text = _SPLIT_MODEL.sub(r"\1 \2\3", text)
    return _SPACES.sub(" ", text).strip()


@attrs.frozen
class MemoryMention:
    """A memory size written in the title."""

    gb: float
    """Size in GB (64MB = 0.0625)."""
    start: int
    """Offset in the normalized title."""
    host: bool
    """Followed by RAM/SSD/DDR4/DDR5…: the size of a computer's memory or disk, not the GPU's."""


_MEMORY = re.compile(
    r"(?<![a-z0-9.])(\d{1,4}(?:\.\d{1,2})?)\s?(gb|gig|g|mb)(?![a-z0-9])(?!\s?/\s?s)(?!\s?ps\b)"
    # A computer's memory or disk: "64GB RAM", "32GB (2x16GB) DDR4", "16GB DDR4-2666", "512GB SSD".
    r"(?P<tail>\s*(?:\([^)]{1,20}\)\s*)?(?:of\s+)?(?:(?:lp)?ddr[345]\b|ram\b|ssd\b|nvme\b|hdd\b|emmc\b|storage\b"
    r"|system memory\b|(?:ecc\s+)?(?:ram|reg|rdimm|lrdimm|udimm|dimm|sodimm|so-dimm)\b|disk\b|drive\b|m\.2\b))?"
)
# The same, written before the size: "RAM 64GB", "SSD: 512GB", "Memory (RAM) 32GB".
_HOST_BEFORE = re.compile(r"(?:\bram|\bssd|\bhdd|\bnvme|\bstorage|system memory|\(ram\))\s*[:\-]?\s*$")
# A size at the end of a numeric code ("11335-02-20G", "699-2G500-20G"): a part number, not memory.
# "A100-80GB" and "V100-SXM2-16GB" (a model, then the size) stay memory.
_IN_CODE_BEFORE = re.compile(r"(?<![a-z])\d+-(?:\d+[a-z]?\d*-)+$")


def memory_mentions(text: str) -> list[MemoryMention]:
    """Every plausible memory size in a normalized title ("80gb", "24g", "80 gb", "64mb").

    Sizes inside part numbers are left out; a computer's RAM or disk is flagged ``host``.
    """
    out = []
    for m in _MEMORY.finditer(text):
        before = text[max(0, m.start() - 24) : m.start()]
        if _IN_CODE_BEFORE.search(before) and not re.search(r"(?:gddr\d|hbm\d?e?|vram)\b", text[m.end() : m.end() + 8]):
            continue
        value = float(m.group(1))
        if m.group(2) == "mb":
            value /= 1024
        if 0 < value <= 2048:
            tail = m.group("tail")
            # Plain DDR3/DDR4 was fitted to small cards (GT 730 4GB DDR3, GT 1030 2GB DDR4); more than
            # 4GB of it is a computer's RAM.
            ddr_only = tail is not None and re.fullmatch(r"\s*(?:lp)?ddr[34]", tail) is not None
            host = (tail is not None and not (ddr_only and value <= 4)) or _HOST_BEFORE.search(before) is not None
            out.append(MemoryMention(gb=value, start=m.start(), host=host))
    return out


_WATTS = re.compile(r"(?<![a-z0-9.])(\d{2,4})\s?(?:w|watts?)(?![a-z0-9])")


def watt_mentions(text: str) -> list[int]:
    """Wattages such as "400w", "350 W" (board power)."""
    return [int(m.group(1)) for m in _WATTS.finditer(text)]


_WORD = re.compile(r"[a-z0-9][a-z0-9.'+\-]*")


def tokens_before(text: str, pos: int, n: int) -> list[str]:
    """The ``n`` words ending before offset ``pos`` (nearest last)."""
    return _WORD.findall(text[max(0, pos - 60) : pos])[-n:]


def tokens_after(text: str, pos: int, n: int) -> list[str]:
    """The ``n`` words starting at offset ``pos``."""
    return _WORD.findall(text[pos : pos + 80])[:n]
