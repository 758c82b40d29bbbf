"""Map eBay condition ids and condition texts (EN, DE, FR, IT, ES, NL, PL, PT, JA, KO, ZH) to five buckets."""

from __future__ import annotations

import re

__all__ = ["CONDITIONS", "normalize_condition"]

CONDITIONS = ("new", "open_box", "refurbished", "used", "for_parts")

# eBay condition ids (Browse API ``conditionId``, item specifics). 1750 "New with defects" is
# new but not sold as pristine, like 1500 "New other": open_box. 2750 "Like new" and the
# pre-owned grades (2990 excellent, 3010 fair, 4000-6000) are used.
_IDS = {
    1000: "new",
    1500: "open_box",
    1750: "open_box",
    2000: "refurbished",
    2010: "refurbished",
    2020: "refurbished",
    2030: "refurbished",
    2500: "refurbished",
    2750: "used",
    2990: "used",
    3000: "used",
    3010: "used",
    4000: "used",
    5000: "used",
    6000: "used",
    7000: "for_parts",
}

# Checked in this order; the order matters: "Neuwertig" and "未使用に近い" contain the words for
# new, "Good - Refurbished" contains a used grade, "New (Other)" contains "new", "全新" contains "新".
# Languages: EN, DE, FR, IT, ES, NL, PL, PT, JA, KO, ZH (eBay's own labels and sellers' usual words).
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "for_parts",
        re.compile(
            r"for parts|parts only|not working|spares or repair|defekt|ersatzteil|pour pi[eè]ces"
            r"|ne fonctionne pas|hors service|non fonctionnel|per parti|solo ricambi|non funzionante"
            r"|para piezas|solo piezas|para repuestos|para desguace|no funciona"
            r"|voor onderdelen|werkt niet|niet werkend|\bdefect\b|na części|nie działa|uszkodzon"
            r"|para peças|peças ou|não funciona|com defeito|ジャンク|部品取り|動作未確認"
            r"|부품용|부품 전용|작동 안|작동하지|고장|零件|配件用|不工作|无法使用|無法使用|不能使用|故障",
        ),
    ),
    (
        "refurbished",
        re.compile(
            r"refurb|remanufactured|general[uü]berholt|überholt|reconditionn|ricondizionat"
            r"|reacondicionad|gereviseerd|opgeknapt|odnowion|regenerowan|recondicionad|remodelad"
            r"|整備済|リファービッシュ|再生品|리퍼|재생|翻新|整新",
        ),
    ),
    (
        "open_box",
        re.compile(
            r"open[ -]?box|new[ (:-]*other|new without|new with defects|neu[ (:-]*sonstige"
            r"|geöffnete|neuf[ (:-]*autre|ouvert|nuovo[ (:-]*altro|scatola aperta|nuevo[ (:-]*otro"
            r"|caja abierta|nieuw[ (:-]*(?:anders|ander|overige)|open doos|nowy[ (:-]*inny"
            r"|otwarte opakowanie|novo[ (:-]*outro|caixa aberta|新品\W*その他|開封|개봉|开箱|開箱"
            r"|全新\W*其他",
        ),
    ),
    (
        "used",
        re.compile(
            r"\bused\b|pre-?owned|like new|gebraucht|neuwertig|wie neu|occasion|comme neuf"
            r"|usato|usado|seminovo|gebruikt|tweedehands|używan|中古|未使用に近い|중고|二手|已使用"
            r"|使用過|^(?:very good|good|acceptable|excellent)$",
        ),
    ),
    (
        "new",
        re.compile(
            r"\bnew\b|\bneu\b|\bneuf\b|\bneuve\b|nuovo|nuevo|\bnieuw|\bnow[ya]\b|\bnowe\b"
            r"|\bnov[oa]\b|新品|未使用|新しい|새 상품|새상품|신품|全新",
        ),
    ),
)


def _from_id(condition_id: str | int | None) -> str | None:
    if condition_id is None or isinstance(condition_id, bool):
        return None
    try:
        return _IDS.get(int(str(condition_id).strip()))
    except ValueError:
        return None


def normalize_condition(raw: str | None, condition_id: str | int | None = None) -> str | None:
    """One of ``CONDITIONS`` from an eBay condition id (preferred) or a condition text.

    The text may carry seller noise after "·", "|" or "•" ("Good - Refurbished · HP",
    "Neu | Gewerblich"); None when neither the id nor the text is recognized.
    """
    by_id = _from_id(condition_id)
    if by_id is not None:
        return by_id
    if not raw:
        return None
    # Keep only the first part: eBay puts brand or seller type after the separator.
    text = re.split(r"[·|•]", raw, maxsplit=1)[0].strip().lower()
    text = re.sub(r"\s+", " ", text)
    for bucket, pattern in _RULES:
        if pattern.search(text):
            return bucket
    return None
