"""Is the listing the GPU itself? Accessories, empty boxes, photos, computers and servers.

The rules read the title as a phrase: an accessory noun is what is sold unless the title says the
GPU comes with or without it ("with FH bracket", "W/O heatsink", "NO bracket", "fan shroud
included"); "NO PCB" / "NO graphics card" says the GPU itself is missing.
"""

from __future__ import annotations

import re

from gpuprices.pipeline.classify.text import CARD_WORDS, GPU_ONLY_SERIES

__all__ = [
    "GPU_WORDS",
    "accessory_reason",
    "box_only_reason",
    "computer_reason",
    "has_gpu_context",
    "laptop_module_cue",
    "photo_reason",
    "system_reason",
]

# Parts that are sold on their own for a GPU. ("display/graphics/video adapter" is the GPU itself.)
_STRONG_ACCESSORY = re.compile(
    r"\b(?:heat\s?-?sinks?|brackets?|shrouds?|back\s?plates?|risers?|radiators?|baffles?|slot\s+covers?|"
    r"water\s?blocks?|nvlink\s+bridges?|sli\s+bridges?|bridges?|power\s+cables?|cables?|housings?|"
    r"thermal\s+pads?|fan\s+(?:kits?|adapters?|attachments?|ducts?|mounts?|assembly|assemblies)|"
    r"mounting\s+kits?|(?<!display\s)(?<!graphics\s)(?<!video\s)adapters?|"
    r"sag\s+(?:holders?|supports?)|support\s+(?:brackets?|stands?)|cooling\s+kits?|retention\s+kits?|"
    r"holders?|screws?|standoffs?|i/?o\s+shields?|dummy\s+plugs?)\b"
)
# Parts that also describe a card ("Passive Cooler", "Triple Fan", "Blower"): accessories only
# when "for …", "only" or "replacement" goes with them.
_WEAK_ACCESSORY = re.compile(r"\b(?:fans?|coolers?|cooling|blowers?|thermal\s+paste)\b")
_FOR = re.compile(r"^\s*(?:[a-z0-9\-]+\s){0,2}?(?:for|compatible|fits|fit|to\s+fit|replacement)\b")
_ONLY_AFTER = re.compile(r"^\s*(?:[a-z0-9\-&]+\s){0,3}?only\b")
_REPLACEMENT_BEFORE = re.compile(r"\b(?:replacement|spare|compatible|aftermarket)\s+$")
# Words that make "fan"/"cooler" a description of a card: "Passive Cooler", "Triple Fan", "3X Fans".
_DESCRIBES_CARD = re.compile(
    r"\b(?:passive|active|stock|single|dual|triple|quad|twin|tri|\dx|blower|windforce|axial|liquid|aio|"
    r"hybrid|silent|quiet|rgb|argb|with|without|no)\s+(?:[a-z0-9\-]+\s+)?$"
)
_PRODUCT_CUE = re.compile(r"\b(?:gpu|graphics?|video|card|accelerator|gddr\d[a-z]?|hbm\d?[a-z]?|\d+\s?gb?)\b")
# "with FH bracket", "without heatsink", "no bracket", "includes fan shroud", "+ bracket".
_WITH_BEFORE = re.compile(
    r"(?:\b(?:with|without|no|incl|included|includes|including|include|plus|comes\s+with)|\+)"
    r"\s+(?:(?!pcb|pbc|gpu|card|board|graphics)[a-z0-9\-]+\s+){0,3}$"
)
# "original box and cable": an accessory listed after the GPU's own box or papers.
_AND_BEFORE = re.compile(
    r"\b(?:box|manual|accessories|papers|receipt|card|gpu|edition)\s+(?:and|&)\s+(?:[a-z0-9\-]+\s+)?$"
)
_WITH_AFTER = re.compile(r"^\s*(?:[a-z0-9\-]+\s+)?(?:included|incl|attached|installed|fitted|mounted)\b")
# Small extras that a card listing names after the card ("…, power cable").
_EXTRA = re.compile(r"(?:power\s+)?(?:cables?|adapters?)")
# Bracket sizes written as a card feature ("T4 16GB … Full Height Bracket").
_BRACKET_FEATURE = re.compile(r"\b(?:fh|lp|full\s+height|low\s+profile|half\s+height)\s+brackets?\b")
# The GPU itself is missing.
_CORE_MISSING = re.compile(
    r"\b(?:no|without|not\s+including|excluding|minus)\s+(?:the\s+|a\s+)?"
    r"(?:pcb|pbc|gpu\s+board|graphics\s+card|video\s+card|gpu\s+chip|chip|die|board|card|gpus?)\b"
)
_GPU_CONTEXT = re.compile(
    r"\b(?:nvidia|geforce|quadro|tesla|radeon|instinct|gpus?|graphics?|video\s?card|rtx|gtx|accelerator)\b"
    r"|" + CARD_WORDS + "|" + GPU_ONLY_SERIES
)
GPU_WORDS = re.compile(r"\b(?:gpu|graphics?|video\s?card|accelerator)\b|" + CARD_WORDS)
"""Words that name a GPU product even when no model is named ("graphics card", "skjermkort")."""


def has_gpu_context(text: str) -> bool:
    """The title is about GPUs at all (brand, family or 'GPU'/'graphics card' words)."""
    return _GPU_CONTEXT.search(text) is not None


def _modified(text: str, start: int, end: int) -> bool:
    """The accessory is something the GPU comes with or without, not the thing sold."""
    before = text[max(0, start - 40) : start]
    return bool(_WITH_BEFORE.search(before) or _AND_BEFORE.search(before) or _WITH_AFTER.match(text[end:]))


# "Holder for RTX 4090": something named before "for <model>" when no card is named at all.
_FOR_HEAD = re.compile(r"^(?P<head>.*?)\b(?:for|compatible\s+with|fits|to\s+fit)\s")
_FILLER = re.compile(
    r"\b(?:new|brand|used|genuine|original|oem|nvidia|amd|lot|of|the|a|an|hot|sale|\d+\s?(?:pcs|pc|x))\b|[^a-z]+"
)
_NAMES_CARD = re.compile(r"\b(?:gpus?|graphics|video\s?card|cards?|accelerator|tensor|gddr\d|hbm\d?e?)\b|\d\s?gb?\b")


def accessory_reason(text: str, valid_memory: bool, model_start: int | None = None) -> str | None:
    """A short note when the listing is an accessory for a GPU, else ``None``.

    ``valid_memory``: the title states a memory size the named model is sold in;
    ``model_start``: offset of the first model name (for "<thing> for <model>").
    """
    m = _CORE_MISSING.search(text)
    if m:
        return f"'{m.group(0)}' → the GPU itself is missing"
    for m in _STRONG_ACCESSORY.finditer(text):
        word = m.group(0)
        if _REPLACEMENT_BEFORE.search(text[: m.start()]):
            return f"'{text[: m.start()].split()[-1]} {word}' → accessory"
        if _modified(text, m.start(), m.end()):
            continue
        rest = text[m.end() :]
        if _FOR.match(rest):
            return f"'{word} for …' → accessory"
        if _ONLY_AFTER.match(rest):
            return f"'{word} only' → accessory"
        feature = _BRACKET_FEATURE.search(text[max(0, m.start() - 14) : m.end()])
        if feature and valid_memory:
            continue  # a card "with full height bracket" written without "with"
        if _EXTRA.fullmatch(word) and valid_memory and model_start is not None and model_start < m.start():
            continue  # "RTX 4090 24GB FE, 12VHPWR cable": the card, then what comes with it
        return f"'{word}' → accessory"
    for m in _WEAK_ACCESSORY.finditer(text):
        if _modified(text, m.start(), m.end()):
            continue
        rest = text[m.end() :]
        if _FOR.match(rest) or _ONLY_AFTER.match(rest) or _REPLACEMENT_BEFORE.search(text[: m.start()]):
            return f"'{m.group(0)}' for/only/replacement → accessory"
        before = text[max(0, m.start() - 30) : m.start()]
        if not m.group(0).startswith("blower") and not _DESCRIBES_CARD.search(before) and not _PRODUCT_CUE.search(text):
            return f"'{m.group(0)}' with no card named → accessory"
    head = _FOR_HEAD.match(text)
    if (
        head
        and model_start is not None
        and head.end() <= model_start
        and not _NAMES_CARD.search(text)
        and _FILLER.sub("", head.group("head")).strip()
    ):
        return f"'{head.group(0).strip()} …' → accessory"
    return None


_BOX_ONLY = re.compile(
    r"\b(?:box\s+only|empty\s+box|only\s+(?:the\s+)?(?:retail\s+|original\s+)?box|just\s+(?:the\s+)?box|"
    r"box\s*(?:&|and)\s*[a-z ]{1,30}?\s+only|packaging\s+only|retail\s+box\s+only|original\s+box\s+only)\b"
)


def box_only_reason(text: str) -> str | None:
    """The listing is the empty retail box (maybe with its papers)."""
    m = _BOX_ONLY.search(text)
    if m:
        return f"'{m.group(0)}' → box only"
    missing = _CORE_MISSING.search(text)
    if missing and re.search(r"\bbox(?:es)?\b", text) and not _STRONG_ACCESSORY.search(text):
        return f"box and '{missing.group(0)}' → box only"
    return None


_PHOTO = re.compile(
    r"(?:^(?:picture|photo|image|pic)s?\s+of\b|\b(?:only|just)\s+(?:a\s+)?(?:picture|photo|image|pic)s?\b|"
    r"\b(?:picture|photo|image|pic)s?\s+only\b|\bnot\s+(?:a\s+)?(?:real|actual)\s+(?:gpu|card|graphics)\b|"
    r"\b(?:printed|framed)\s+(?:picture|photo|image|poster)\b|\bthis\s+is\s+(?:a|an|the)\s+(?:picture|photo|image)\b)"
)


def photo_reason(text: str) -> str | None:
    """The listing sells a picture of the GPU (a known scam format)."""
    m = _PHOTO.search(text)
    return f"'{m.group(0).strip()}' → photo, not the GPU" if m else None


_CPU = re.compile(
    r"\b(?:i[3579](?:[\s\-]?\d{3,5}[a-z]{0,3})?|core\s+i[3579]|core\s+ultra|ryzen(?:\s?\d)?|xeon|epyc|threadripper|"
    r"\d+\s?(?:gb|tb)\s+(?:ddr[45]\s+)?(?:ram|ssd|nvme|hdd|m\.2)|windows\s?1[01]|win\s?1[01])\b"
)
_SCREEN = re.compile(r"\b(?:\d{2}(?:\.\d)?\s?(?:inch|in)|fhd|qhd|uhd\s+display|oled|touchscreen|\d{2,3}\s?hz)\b")
# A consumer CPU model plus RAM/SSD sizes: a whole computer, even when "laptop"/"PC" is not written.
_CONSUMER_CPU = re.compile(
    r"\b(?:i[3579][\s\-]?\d{4,5}[a-z]{0,3}|core\s+(?:i[3579]|ultra\s?\d)|ryzen\s?\d|apple\s+m\d)\b"
)
_HOST_STORAGE = re.compile(r"\b\d+\s?(?:gb|tb)\s+(?:ddr[45]\s+)?(?:ram|ssd|nvme|hdd|memory)\b|\b(?:ssd|nvme)\b")
_LAPTOP = re.compile(r"\b(?:laptop|notebook|macbook|chromebook|ultrabook)\b")
_DESKTOP = re.compile(r"\b(?:gaming\s+pc|desktop|computer|gaming\s+rig|prebuilt|pre-built|tower|pc\s+build|\bpc\b)\b")
_SERVER = re.compile(
    r"\b(?:server|servers|superserver|poweredge|proliant|thinksystem|chassis|barebones?|rack\s?mount|supermicro|"
    r"sys-\d+[a-z0-9\-]*|as\s?-\d{4}[a-z0-9\-]*|xe\d{4}[a-z]?|\d+u\s+(?:rack|server|gpu))\b"
)
_NO_GPU = re.compile(
    r"\b(?:barebones?|no\s+gpus?|without\s+gpus?|gpus?\s+not\s+included|no\s+graphics|supports?\s+up\s+to|"
    r"support(?:s|ing)?\s+\d+\s?x?|ready\s+for|gpu\s+ready)\b"
)
_OTHER_PRODUCT = re.compile(
    r"\b(?:motherboard|mainboard|mobo|hovedkort|moderkort|alaplap|power\s+supply|psu|book|textbook|manual|t-?shirt|hoodie|mug|poster|"
    r"sticker|keychain|mouse\s?pad|monitor|network\s+card|ethernet|nic|cpu\s+cooler)\b"
)
_BUNDLED = re.compile(r"(?:\b(?:with|and|plus|bundle|w)|\+|&)\s+(?:[a-z0-9\-]+\s+){0,2}$")
_MODULE_WORDS = re.compile(r"\b(?:e?gpu|graphics|video|card|module|mxm|board|vga)\b")  # eGPU: an external card box
_CARD_WORDS = re.compile(r"\b(?:graphics?\s+cards?|video\s+cards?|gpu\s+cards?|accelerator\s+cards?|gpu\s+module)\b")


# Computer product lines (Apple, HP, Dell, Lenovo, Fujitsu, Acer, MSI): the name alone says "computer".
_COMPUTER_LINE = re.compile(
    r"\b(?:imac|mac\s?pro|mac\s?mini|elitedesk|prodesk|thinkcentre|ideacentre|optiplex|esprimo|"
    r"precision\s+t\d{4}|hp\s+z\d{3,4}|z[48]\s+g\d|nightblade|predator\s+g\d|nitro\s+n\d{2}|omen\s+\d{3}|"
    r"datamaskin|stasjonær|gamingmaskin|gaming\s+maskin|delemaskin)\b"
)
# "Mining rig", "miningrig", "GPU rig", "Mining Expert" (a motherboard): the rig, not its GPUs.
_RIG = re.compile(r"\b(?:mining\s?-?rig|miningrig|gpu-?rig|rig\s+frame|mining\s+expert|mining\s+case)\b")
# A named CPU with system RAM ("i7 960, 12GB Kingston DDR3", "i5-6400/ 8GB DDR4").
_SYSTEM_RAM = re.compile(r"\b\d+\s?gb\s+(?:[a-z]+\s+)?ddr[2-5]\b|\b\d+\s?gb\s+ram\b")
_NAMED_CPU = re.compile(r"\b(?:intel\s+(?:core\s+)?i[3579]|i[3579][\s\-]\d{3,5}[a-z]{0,2}|pentium|athlon|a10-\d{4}|"
                        r"ryzen\s?\d|xeon\s+e[357]-?\d{4})\b")


def computer_reason(text: str) -> str | None:
    """A laptop, desktop, GPU-less server or another product that is not a GPU."""
    if _LAPTOP.search(text) and (_CPU.search(text) or _SCREEN.search(text) or not _MODULE_WORDS.search(text)):
        return "a laptop computer, not a GPU"
    rig = _RIG.search(text)
    if rig:
        return f"'{rig.group(0)}' → a mining rig, not a GPU"
    line = _COMPUTER_LINE.search(text)
    if (line and not _CARD_WORDS.search(text) and not re.search(CARD_WORDS, text)
            and not _FOR_SERVER.search(text[max(0, line.start() - 40) : line.start()])):  # "… in HP Z4 G4"
        return f"'{line.group(0)}' → a computer, not a GPU"
    if _NAMED_CPU.search(text) and (_SYSTEM_RAM.search(text) or _HOST_STORAGE.search(text) or "gaming" in text) \
            and not _CARD_WORDS.search(text) and not _SERVER.search(text):
        return "a computer or its parts (CPU and RAM/SSD listed), not a GPU"
    if _CONSUMER_CPU.search(text) and _HOST_STORAGE.search(text) and not _SERVER.search(text):
        return "a computer (CPU, RAM/SSD listed), not a GPU"
    if _DESKTOP.search(text) and _CPU.search(text) and not _CARD_WORDS.search(text):
        return "a desktop computer, not a GPU"
    if _SERVER.search(text) and _NO_GPU.search(text):
        return "a server without GPUs"
    for m in _OTHER_PRODUCT.finditer(text):
        before = text[max(0, m.start() - 30) : m.start()]
        after = text[m.end() : m.end() + 12]
        if _BUNDLED.search(before) or after.lstrip().startswith(("bundle", "combo", "included")):
            continue  # "RTX 5090 … Mobo Bundle", "+ 1000W PSU"
        return f"'{m.group(0)}' → not a GPU"
    return None


_DGX = re.compile(r"\bdgx\b")
# "GPU for Dell PowerEdge R740", "pulled from a server": the GPU, not the server.
_FOR_SERVER = re.compile(
    r"\b(?:for|fits|fit|compatible|from|pulled|pull|ex|in|into|supports?)\s+(?:[a-z0-9\-]+\s+){0,2}$"
)
_BOARD = re.compile(r"\b(?:board|baseboard|tray|module)\b")
_PULLED_FROM = re.compile(r"\b(?:from|pulled|pull|pulls|for|ex)\s+(?:an?\s+|the\s+|nvidia\s+)?dgx\b")


def system_reason(text: str, count: int) -> str | None:
    """A complete server (DGX, or a server with CPUs / several GPUs), not a loose GPU or board."""
    if _DGX.search(text) and not _PULLED_FROM.search(text):
        return "DGX system"
    servers = [m for m in _SERVER.finditer(text) if not _FOR_SERVER.search(text[max(0, m.start() - 40) : m.start()])]
    if not servers:
        return None
    if _CPU.search(text):
        return "complete server"
    if count >= 2 and not _CARD_WORDS.search(text) and not _BOARD.search(text):
        return "complete server"
    return None


_LAPTOP_MODULE = re.compile(
    r"\b(?:laptop|notebook|mobile|max-?q|mxm|zbook|precision\s+7[5-7]\d0|beam\s+connector|thinkpad\s+p\d+)\b"
)


def laptop_module_cue(text: str) -> str | None:
    """Words that place a GPU in a laptop (a module, not the desktop card of the same name)."""
    m = _LAPTOP_MODULE.search(text)
    return m.group(0) if m else None
