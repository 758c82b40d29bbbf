"""How many GPUs a listing sells, and whether the seller says they work."""

from __future__ import annotations

import re

from gpuprices.pipeline.classify.mentions import Mention
from gpuprices.pipeline.conditions import normalize_condition

__all__ = ["gpu_count", "not_working_reason"]

_MAX_COUNT = 512  # more than any real lot; larger numbers are part numbers or prices
# A number followed by a unit or a part name is a size, a fan count or a lane width, never a count.
_NOT_A_COUNT = r"(?!\s?(?:gb|g|tb|mb|gig|w|watts?|fans?|pin|bit|hz|mhz|ghz|gen|nm|mm|slots?)\b)(?![0-9.,])"

# Lot wording, most explicit first. Each pattern has one group: the count.
_LOT_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\blot\s?(?:of\s?|x\s?)?\(?(\d{1,3})\)?" + _NOT_A_COUNT),
    re.compile(r"^\((\d{1,2})\)\s"),  # "(2) NVIDIA A100 …"
    re.compile(r"\b(?:qty|quantity)\s?[:\-=]?\s?(\d{1,3})" + _NOT_A_COUNT),
    re.compile(r"\b(?:set|bundle|batch|pack|box)\s+of\s+(\d{1,3})" + _NOT_A_COUNT),
    re.compile(r"(?<![a-z0-9.\-])(\d{1,3})\s?-?\s?(?:pcs|pc|pieces|piece|units|unit|pack|pk|stk|stck|db)(?![a-z0-9])"),
    re.compile(r"(?<![a-z0-9.\-])(\d{1,2})\s?-?\s?(?:gpus?|cards|graphics\s+cards)(?![a-z0-9])"),
)
# "Pair of …", "a pair", "Pair NVIDIA P40" (not "repair", not "pair of bridges" — accessories are excluded first).
_PAIR = re.compile(r"\b(?:(?:pair|couple)\s+of|pair)\b")
# "Set of two", "lot of four": the count written as a word.
_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10, "twelve": 12, "sixteen": 16}
_WORD_LOT = re.compile(r"\b(?:lot|set|pack|bundle|batch)\s+of\s+(" + "|".join(_WORDS) + r")\b")
_WORD_BEFORE = re.compile(
    r"\b(" + "|".join(_WORDS) + r")\s(?:\(\d+\)\s)?(?:x\s)?(?:(?:nvidia|amd|tesla|geforce|instinct)\s)*$"
)
# "4x A100", "8 x NVIDIA H100": a multiplier right before a model name (optionally brand words).
_TIMES_BEFORE = re.compile(r"(?<![a-z0-9.\-])(\d{1,3})\s?[x×]\s?(?:(?:nvidia|amd|tesla|geforce|instinct)\s)*$")
# "NVIDIA T4 16GB 10x", "… (4x)": a multiplier standing alone after the product.
_TIMES_ALONE = re.compile(r"(?<![a-z0-9.\-])\(?(\d{1,3})\s?[x×]\)?\s*$")
# "A100 x 8", "GPU x10": a multiplier right after the product, not a PCIe lane width or a
# product line ("iChill X4").
_TIMES_AFTER = re.compile(r"(?<![a-z0-9])[x×]\s?(\d{1,3})(?![a-z0-9.])")
_PRODUCT_END = re.compile(r"(?:gpus?|cards?|\d+\s?gb?|pcs)[^a-z0-9]{0,3}$")
_LANES = frozenset({1, 2, 4, 8, 16, 32})
_LANE_CONTEXT = re.compile(r"(?:pci|gen|lane|slot|express|[345]\.0)[^a-z]{0,4}$")
_LANE_AFTER = re.compile(r"^\s?(?:pci|gen|lanes?|slot|link|electrical)")


def gpu_count(text: str, mentions: list[Mention]) -> tuple[int, str]:
    """GPUs sold (1 when nothing says otherwise) and a note saying which words gave the count."""
    for pattern in _LOT_PATTERNS:
        m = pattern.search(text)
        if m and 1 <= int(m.group(1)) <= _MAX_COUNT:
            return int(m.group(1)), f"'{m.group(0).strip()}' → {int(m.group(1))} GPUs"
    w = _WORD_LOT.search(text)
    if w:
        return _WORDS[w.group(1)], f"'{w.group(0)}' → {_WORDS[w.group(1)]} GPUs"
    for mention in mentions:
        before = text[max(0, mention.start - 30) : mention.start]
        m = _TIMES_BEFORE.search(before)
        lanes = m is not None and int(m.group(1)) in _LANES and _LANE_CONTEXT.search(before[: m.start()])
        if m and 1 <= int(m.group(1)) <= _MAX_COUNT and not lanes:
            return int(m.group(1)), f"'{m.group(0).strip()} {mention.name}' → {int(m.group(1))} GPUs"
        w = _WORD_BEFORE.search(before)
        if w:
            return _WORDS[w.group(1)], f"'{w.group(1)} {mention.name}' → {_WORDS[w.group(1)]} GPUs"
    for m in _TIMES_AFTER.finditer(text):
        n = int(m.group(1))
        if not 2 <= n <= _MAX_COUNT:
            continue
        before = text[max(0, m.start() - 12) : m.start()]
        if n in _LANES and (_LANE_CONTEXT.search(before) or _LANE_AFTER.match(text[m.end() :]) or n == 16):
            continue  # "PCIe 4.0 x16", "Gen4 x8", "x8 PCIe"
        standalone = text[m.start() - 1 : m.start()] == "(" or not text[m.end() :].strip(" )]")
        if not (standalone or _PRODUCT_END.search(before) or any(0 <= m.start() - x.end <= 3 for x in mentions)):
            continue  # "iChill X4" is a product line
        return n, f"'{m.group(0).strip()}' → {n} GPUs"
    m = _TIMES_ALONE.search(text)
    if m and 2 <= int(m.group(1)) <= _MAX_COUNT and int(m.group(1)) not in (16, 32):
        return int(m.group(1)), f"'{m.group(0).strip()}' → {int(m.group(1))} GPUs"
    if _PAIR.search(text):
        return 2, "'pair' → 2 GPUs"
    return 1, ""


_NOT_WORKING = re.compile(
    r"\b(?:for\s+parts|parts\s+only|for\s+parts\s+or\s+repair|for\s+repair|for\s+spares|spares\s+or\s+repair|"
    r"non[\s-]?working|not\s+working|nonworking|non[\s-]?functional|not\s+functional|not\s+functioning|"
    r"as[\s-]is|faulty|defective|broken|dead|untested|not\s+tested|no\s+display|no\s+video|no\s+signal|"
    r"artifacts|artifacting|(?:does\s?n[o']?t|won'?t|will\s+not|did\s?n[o']?t)\s+(?:work|post|boot|power\s+on|turn\s+on)|"
    r"no\s+post|no\s+power|burnt|cracked|melted|needs?\s+repair|water\s+damaged?|scrap|salvage|"
    r"defekt|bastler|ジャンク|for\s+deler|til\s+deler|delemaskin|f[öo]r\s+delar|hib[áa]s|alkatr[ée]sznek|"
    r"damaged(?!\s+box)|bad)\b"
)
_NEGATED_BAD = re.compile(r"\b(?:not|never|no)\s+$")
_CONDITION = re.compile(
    r"for parts|not working|parts only|defective|as is|defekt|ersatzteil|pour pi[eè]ces|ne fonctionne pas|"
    r"ジャンク|部品取り"
)


def not_working_reason(text: str, condition: str | None) -> str | None:
    """The words that say the GPU does not work (or is sold as-is), else ``None``."""
    for m in _NOT_WORKING.finditer(text):
        if m.group(0) in ("bad", "broken", "dead", "damaged") and _NEGATED_BAD.search(text[: m.start()]):
            continue  # "not bad", "never broken"
        if m.group(0) == "dead" and re.match(r"\s*(?:pixel|stock|space)", text[m.end() :]):
            continue
        return m.group(0)
    if condition and (_CONDITION.search(condition.lower()) or normalize_condition(condition) == "for_parts"):
        return f"condition '{condition.strip()}'"
    return None
