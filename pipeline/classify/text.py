"""Title normalization and the small text facts every rule uses (memory sizes, wattages, tokens)."""

from __future__ import annotations

import re
import unicodedata

import attrs

__all__ = ["MemoryMention", "memory_mentions", "normalize", "tokens_after", "tokens_before", "watt_mentions"]

# Marks sellers glue to names ("RTX™ 4090") and the replacement char left by bad encodings.
_DROP = str.maketrans({c: " " for c in "™®©\ufffd\u2122\u00ae\u00a9*!\"“”‘’`~^{}<>"})
_WITHOUT = re.compile(r"\bw\s?/\s?o(?:ut)?\b|\bwo/")
_WITH = re.compile(r"\bw\s?/(?=\s|[a-z])")
_SPACES = re.compile(r"\s+")


def normalize(title: str) -> str:
    """Lowercase, NFKC, marks dropped, "w/o" → "without", "w/" → "with", spaces collapsed."""
    text = title.translate(_DROP)
    text = unicodedata.normalize("NFKC", text).lower()
    text = _WITHOUT.sub(" without ", text)
    text = _WITH.sub(" with ", text)
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
    r"(?P<tail>\s*(?:of\s+)?(?:ddr[45]\b|ram\b|ssd\b|nvme\b|hdd\b|emmc\b|storage\b|system memory\b|ecc\s+ram\b))?"
)


def memory_mentions(text: str) -> list[MemoryMention]:
    """Every plausible memory size in a normalized title ("80gb", "24g", "80 gb", "64mb")."""
    out = []
    for m in _MEMORY.finditer(text):
        value = float(m.group(1))
        if m.group(2) == "mb":
            value /= 1024
        if 0 < value <= 2048:
            out.append(MemoryMention(gb=value, start=m.start(), host=m.group("tail") is not None))
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
