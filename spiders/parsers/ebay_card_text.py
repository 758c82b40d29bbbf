"""Locale text tables for eBay result cards, and the small text classifiers built on them.

eBay renders the same card in the visitor's UI language, and most card rows carry no class that
says what they are ("Buy It Now", "+$5.40 delivery", "Located in …" are all plain
``su-styled-text secondary`` spans). So rows are told apart by their text. Everything
locale-specific lives here, as precompiled patterns, so adding a marketplace is one table edit.

Patterns are anchored or word-bounded on purpose: a seller's free text ("Fast shipping!"), a
brand ("Newegg") or a user name must not be mistaken for a format, a condition or a shipping row.
"""

from __future__ import annotations

import re

# Whitespace including the invisible separators eBay mixes into obfuscated labels (U+2063) and
# the no-break spaces of some locales ("EUR 17,72" can use U+00A0).
_WS = re.compile(r"[\s\u00a0\u2063\u200b\u200c\u200d\ufeff]+")


def collapse(text: str) -> str:
    """One line with single spaces: the form every card text is compared and stored in."""
    return _WS.sub(" ", text).strip()


# --- title noise ---------------------------------------------------------------------------------
# The clipped "Opens in a new window or tab" span is skipped by class, but on some pages it sits in
# the title span itself with no space before it, so it is also cut from the end of the text.
_NEW_WINDOW = (
    r"Opens in a new window or tab",
    r"Wird in neuem Fenster oder Tab geöffnet",
    r"新しいウィンドウまたはタブに表示されます",
    r"S['’]ouvre dans une nouvelle fenêtre ou un nouvel onglet",
    r"Si apre in una nuova finestra o scheda",
    r"Se abre en una nueva ventana o pestaña",
    r"Opent in een nieuw venster of tabblad",
    r"Otwiera się w nowym oknie lub nowej karcie",
    r"在新窗口或标签页中打开",
)
TITLE_SUFFIX_RE = re.compile(r"\s*(?:" + "|".join(_NEW_WINDOW) + r")\s*$", re.IGNORECASE)

# "New listing" captions (a highlighted span at the start of the title; on s-card pages it can sit
# right against the title: "New ListingLENOVO …") and sponsored labels that leak into the title.
# Case-sensitive on purpose: "Anzeigen-Set" or "new listing of …" in a seller's words stay.
_NEW_LISTING_RE = re.compile(
    r"^(?:New [Ll]isting|NEW LISTING|Neues Angebot|Nouvelle annonce|Nuova inserzione|Nuevo anuncio)"
    r"(?:\s*[:|·-]\s*|\s+|(?=[A-Z0-9]))"
    r"|^新規出品\s*"
)
_SPONSORED_RE = re.compile(
    r"^(?:Sponsored|SPONSORED|derosnopS|Gesponsert|Anzeige|Sponsorisé|Sponsorizzato|Patrocinado)"
    r"(?:\s*[:|·-]\s*|\s+)"
)


def clean_title(raw: str) -> str:
    """Title text without layout captions; whitespace collapsed ("Warhammer  40k" → "Warhammer 40k")."""
    text = TITLE_SUFFIX_RE.sub("", collapse(raw))
    # Captions can come in either order ("Sponsored New listing …"): strip until nothing changes.
    for _ in range(3):
        stripped = _SPONSORED_RE.sub("", _NEW_LISTING_RE.sub("", text, count=1), count=1)
        if stripped == text:
            break
        text = stripped
    return text


# --- selling format rows -------------------------------------------------------------------------
# Checked before "or Best Offer": "Best offer accepted" also contains the words "best offer".
BEST_OFFER_ACCEPTED_RE = re.compile(
    r"Best offer accepted|Preisvorschlag angenommen|ベストオファー対応|Offre directe acceptée"
    r"|Offerta accettata|(?:Mejor )?oferta aceptada|Bod geaccepteerd|(?:Oferta|Propozycja ceny) zaakceptowana"
    r"|(?:Melhor )?oferta aceita|(?:베스트 오퍼|제안|가격 제안) 수락|已接受(?:最佳)?(?:出价|出價|议价|議價|报价|報價)",
    re.IGNORECASE,
)
BEST_OFFER_RE = re.compile(
    r"\b(?:or|oder|ou|o|of|lub)\s+(?:Best Offer|Preisvorschlag|Offre directe|Proposta d['’]acquisto|Mejor oferta"
    r"|Beste bod|Doe een bod|Bod|Propozycja ceny|Najlepsza oferta|Melhor oferta)\b"
    r"|またはベストオファー|또는 (?:베스트 오퍼|가격 제안)|或(?:最佳出价|最佳出價|议价|議價)|^Best Offer$",
    re.IGNORECASE,
)
BUY_IT_NOW_RE = re.compile(
    r"^(?:Buy It Now|Sofort-Kaufen|今すぐ買う|Achat immédiat|Compralo Subito|Cómpralo ya|Comprar ahora"
    r"|Nu kopen|Kup teraz|Compre já|Comprar agora|즉시 구매|立即购买|立即購買|一口价|一口價)$",
    re.IGNORECASE,
)
# "15 bids", "1 bid", "3 Gebote", "28件の入札", "5 enchères", "2 offerte", "4 pujas", "3 lances", "5회 입찰",
# "5次出价".
BIDS_RE = re.compile(
    r"^(\d[\d.,\u00a0 ]*?)\s*"
    r"(?:bids?|Gebote?|件の入札|enchères?|offert[ae]|pujas?|biedingen|bod|ofert[ay]?|lances?"
    r"|[회건]의?\s?입찰|입찰|次出[价價]|[个個]出[价價]|出[价價])(?!\w)",
    re.IGNORECASE,
)
TIME_LEFT_RE = re.compile(
    r"Time left|Restzeit|残り時間|Temps restant|Tempo rimanente|Tiempo restante|Resterende tijd|Pozostało"
    r"|Tempo restante|남은 시간|剩余时间|剩餘時間",
    re.IGNORECASE,
)

# --- shipping and location -------------------------------------------------------------------------
SHIPPING_RE = re.compile(
    r"\b(?:delivery|shipping|postage|Lieferung|Versand|livraison|spedizione|env[ií]o|verzending|verzendkosten"
    r"|wysyłka|dostawa|przesyłka|frete|entrega|Porto)\b|送料|配送|배송|运费|運費|邮费|郵費",
    re.IGNORECASE,
)
# Location rows: the prefix is dropped, the place kept ("aus Großbritannien" → "Großbritannien").
LOCATION_RE = re.compile(
    r"^(?:Located in|From|aus|発送元|Provenance\s*:|Lieu où se trouve l['’]objet\s*:|Da|Desde|Envío desde"
    r"|Uit|Lokalizacja\s*:|Enviado de|발송지\s*:?|来自|來自)\s*(?P<place>\S.*)$",
    re.IGNORECASE,
)

# --- sold / ended captions -------------------------------------------------------------------------
SOLD_RE = re.compile(
    r"^(?:Sold|Verkauft|販売済み|Vendu|Venduto|Vendido|Verkocht|Sprzedane|Sprzedano|판매 완료|판매완료|판매됨"
    r"|已售出|已售)(?:\s|$)",
    re.IGNORECASE,
)
ENDED_RE = re.compile(
    r"^(?:Ended|Beendet|終了|Terminé|Terminata|Concluso|Finalizado|Terminado|Encerrado|Beëindigd|Afgelopen"
    r"|Zakończona|Zakończono|종료됨|종료|已结束|已結束)(?:\s|$)",
    re.IGNORECASE,
)

# --- seller info -----------------------------------------------------------------------------------
# Two layouts seen: "discountcomputerdepot (132,409) 98.7%" (2025-07) and
# "poke_provider 99.2% positive (1.2K)" / "… 100% ポジティブ (2.7K)" (from 2025-08 on).
_COUNT = r"(?P<fb>\d[\d.,\u00a0 ]*[KkMm]?)"
_PCT = r"(?P<pct>\d{1,3}(?:[.,]\d+)?)\s*%"
SELLER_COUNT_FIRST_RE = re.compile(r"^(?P<name>\S+)\s+\(" + _COUNT + r"\)\s+" + _PCT)
SELLER_PCT_FIRST_RE = re.compile(r"^(?P<name>\S+?)\s*\|?\s+" + _PCT + r"\s*[^\s(\d]*\s*\(" + _COUNT + r"\)")

_SUFFIX = {"k": 1_000, "m": 1_000_000}


def parse_feedback(text: str) -> int | None:
    """Feedback score as an integer: "132,409" → 132409, "1.2K" → 1200, "61.2K" → 61200."""
    raw = text.replace("\u00a0", "").replace(" ", "")
    if not raw:
        return None
    mult = _SUFFIX.get(raw[-1].lower(), 1)
    if mult > 1:
        # With a K/M suffix the separator is a decimal point ("1.2K", or "1,2K" in some locales).
        try:
            return round(float(raw[:-1].replace(",", ".")) * mult)
        except ValueError:
            return None
    digits = raw.replace(",", "").replace(".", "")
    return int(digits) if digits.isascii() and digits.isdigit() else None


def parse_seller(text: str) -> tuple[str, int | None, str] | None:
    """(seller, feedback score, positive %) from a seller info row, or None if the row is not one."""
    m = SELLER_COUNT_FIRST_RE.match(text) or SELLER_PCT_FIRST_RE.match(text)
    if m is None:
        return None
    return m["name"], parse_feedback(m["fb"]), m["pct"].replace(",", ".")


def parse_bids(text: str) -> int | None:
    """Bid count of a "15 bids" / "28件の入札" row, or None when the row is not a bid count."""
    m = BIDS_RE.match(text)
    if m is None:
        return None
    digits = re.sub(r"\D", "", m.group(1))
    return int(digits) if digits else None


# --- conditions ------------------------------------------------------------------------------------
# Exact (case-insensitive) condition labels of eBay's condition model as cards display them. The
# subtitle also carries seller free text and item aspects (brand, size, capacity), so only a known
# label, or a clearly structured aspect row, is taken as the condition.
_CONDITIONS = """
brand new|new|new (other)|new other (see details)|new with tags|new without tags|new with box
new without box|new with defects|open box|pre-owned|pre-owned - excellent|pre-owned - good
pre-owned - fair|used|like new|very good|good|acceptable|for parts or not working|parts only
refurbished|certified refurbished|certified - refurbished|excellent - refurbished
very good - refurbished|good - refurbished|seller refurbished|manufacturer refurbished
remanufactured|graded|ungraded|new – open box
neu|neu (sonstige)|neu: sonstige|neu mit etikett|neu ohne etikett|neu mit karton|neu ohne karton
neu mit fehlern|neuwertig|gebraucht|generalüberholt|zertifiziert - generalüberholt
hervorragend - generalüberholt|sehr gut - generalüberholt|gut - generalüberholt
vom verkäufer generalüberholt|vom hersteller generalüberholt|als ersatzteil / defekt
nur ersatzteile|offene verpackung|sehr gut|gut|akzeptabel|wie neu
新品|真新しい新品|新品 (その他)|新品（その他）|新品、その他|中古品|中古|未使用に近い|開封済み
再生品|認定整備済み|ジャンク品|部品取り|非常に良い|良い|可
neuf|neuf (autre)|neuf avec étiquettes|neuf sans étiquette|neuf avec boîte|occasion|d'occasion
reconditionné|comme neuf|très bon état|bon état|état correct|ouvert (jamais utilisé)
pour pièces détachées ou non fonctionnel|pour pièces détachées
nuovo|nuovo (altro)|nuovo con cartellino|nuovo senza cartellino|usato|ricondizionato
ricondizionato certificato|solo ricambi/non funzionante|solo ricambi|come nuovo
nuevo|nuevo (otro)|nuevo con etiquetas|usado|reacondicionado|para piezas o no funciona
como nuevo|nuevo sin caja|nuevo con caja|caja abierta|de segunda mano|reacondicionado por el vendedor
reacondicionado por el fabricante|solo piezas|nuovo con scatola|scatola aperta|ricondizionato dal venditore
nieuw|nieuw (anders)|gebruikt|gereviseerd|gereviseerd door verkoper|gereviseerd door fabrikant|open doos
voor onderdelen of werkt niet|nowy|nowy (inny)|używany|odnowiony|odnowiony przez sprzedawcę
odnowiony przez producenta|otwarte opakowanie|na części lub uszkodzony|novo|novo (outro)|usado|seminovo
recondicionado|recondicionado pelo vendedor|recondicionado pelo fabricante|caixa aberta|para peças ou não funciona
새 상품|새상품|신품|중고|중고품|개봉 상품|리퍼비시|부품용 또는 작동하지 않음
全新|全新（其他）|全新(其他)|二手|开箱品|開箱品|翻新|用于零件或无法使用|零件用或無法使用
"""
KNOWN_CONDITIONS = frozenset(
    part.strip() for line in _CONDITIONS.strip().splitlines() for part in line.split("|") if part.strip()
)
# Grades of refurbished items in any language: "Very Good - Refurbished", "Sehr gut - Generalüberholt".
REFURBISHED_RE = re.compile(
    r"^[\w .'’-]{0,30}?\b(?:Refurbished|Generalüberholt|Reconditionné|Ricondizionato|Reacondicionado|Gereviseerd"
    r"|Odnowiony|Recondicionado)$",
    re.IGNORECASE,
)
# Seller type that ebay.de shows next to the condition ("Neu | Gewerblich"); kept in extra.
SELLER_TYPES = frozenset({"gewerblich", "privat", "professionnel", "particulier", "privato", "professionale"})

# Separators between subtitle aspects: "Brand New · ", "Neu | ".
_SEGMENT_TRIM = " ·|•\u00a0\t\n"


def segments(parts: list[str]) -> list[str]:
    """Subtitle span texts without their trailing separators, empty ones dropped."""
    out = []
    for part in parts:
        seg = collapse(part).strip(_SEGMENT_TRIM)
        if seg:
            out.append(seg)
    return out


def is_condition(seg: str) -> bool:
    """Whether a subtitle segment is a condition label we know."""
    return seg.lower() in KNOWN_CONDITIONS or REFURBISHED_RE.match(seg) is not None


def pick_condition(rows: list[list[str]]) -> str | None:
    """The condition among the subtitle rows (each a list of segments).

    A known label wins wherever it is: sellers can put a free-text subtitle above the condition row.
    Without one (a locale we have no table for), fall back to the first aspect of a structured row
    ("Stan · Marka") or to a lone short subtitle, never to a free-text sentence.
    """
    for row in rows:
        for seg in row:
            if is_condition(seg):
                return seg
    if not rows:
        return None
    last = rows[-1]
    if len(last) >= 2:
        return last[0]
    if (
        len(rows) == 1
        and len(last) == 1
        and len(last[0].split()) <= 4
        and not any(c in last[0] for c in "!✅")
    ):
        return last[0]
    return None


# --- empty results and expanded results ------------------------------------------------------------
NO_RESULTS_RE = re.compile(
    r"No exact matches found|Keine genauen Treffer gefunden|Keine Artikel gefunden"
    r"|Aucun résultat exact|Nessun risultato esatto|No se encontraron coincidencias exactas"
    r"|一致する商品はありません|完全に一致するものは見つかりませんでした|の結果0件"
    r"|Geen exacte overeenkomsten gevonden|Nie znaleziono dokładnych dopasowań|Nenhuma correspondência exata"
    r"|정확히 일치하는 항목이 없습니다|未找到完全匹配|找不到完全相符|沒有完全符合"
    r"|\b0 (?:results|Ergebnisse|résultats|risultati|resultados|resultaten|wyników)\b"
    r"|0개의 결과|0\s?[个個条條]结果|0\s?[个個条條]結果",
    re.IGNORECASE,
)
