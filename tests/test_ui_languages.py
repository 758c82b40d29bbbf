"""eBay's UI languages: conditions, sold / ended captions, best offer, bids, shipping and free shipping in
EN, DE, FR, IT, ES, NL, PL, PT, JA, KO and ZH. A for-parts listing is never working."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from gpuprices.core.money import parse_shipping
from gpuprices.pipeline.classify import classify
from gpuprices.pipeline.conditions import normalize_condition
from gpuprices.pipeline.dates import parse_sold_date
from gpuprices.spiders.parsers import ebay_card_text as tx

NOW = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)

# language -> (new, open box, refurbished, used, for parts)
CONDITIONS: dict[str, tuple[str, str, str, str, str]] = {
    "en": ("Brand New", "Open Box", "Seller refurbished", "Pre-Owned", "For parts or not working"),
    "de": ("Neu", "Neu (Sonstige)", "Generalüberholt", "Gebraucht", "Als Ersatzteil / defekt"),
    "fr": ("Neuf", "Ouvert (jamais utilisé)", "Reconditionné", "Occasion", "Pour pièces détachées ou non fonctionnel"),
    "it": ("Nuovo", "Nuovo (altro)", "Ricondizionato", "Usato", "Solo ricambi/non funzionante"),
    "es": ("Nuevo", "Nuevo (otro)", "Reacondicionado", "Usado", "Para piezas o no funciona"),
    "nl": ("Nieuw", "Nieuw (anders)", "Gereviseerd door verkoper", "Gebruikt", "Voor onderdelen of werkt niet"),
    "pl": ("Nowy", "Nowy (inny)", "Odnowiony przez sprzedawcę", "Używany", "Na części lub uszkodzony"),
    "pt": ("Novo", "Novo (outro)", "Recondicionado pelo vendedor", "Usado", "Para peças ou não funciona"),
    "ja": ("新品", "新品、その他", "整備済み品", "中古", "ジャンク品"),
    "ko": ("새 상품", "개봉 상품", "리퍼비시", "중고", "부품용 또는 작동하지 않음"),
    "zh": ("全新", "全新（其他）", "翻新", "二手", "用于零件或无法使用"),
}
BUCKETS = ("new", "open_box", "refurbished", "used", "for_parts")


@pytest.mark.parametrize("lang", sorted(CONDITIONS))
def test_conditions_in_every_language(lang: str) -> None:
    got = tuple(normalize_condition(text) for text in CONDITIONS[lang])
    assert got == BUCKETS


@pytest.mark.parametrize("lang", sorted(CONDITIONS))
def test_card_condition_labels_are_known(lang: str) -> None:
    for text in CONDITIONS[lang]:
        if lang == "ja" and text == "整備済み品":
            continue  # sellers' wording, not one of the card labels
        assert tx.is_condition(text) or tx.REFURBISHED_RE.match(text), text


@pytest.mark.parametrize("lang", sorted(CONDITIONS))
def test_for_parts_is_never_working(lang: str) -> None:
    c = classify("NVIDIA Tesla T4 16GB GPU", condition=CONDITIONS[lang][4])
    assert c.working is False
    assert classify("NVIDIA Tesla T4 16GB GPU", condition=CONDITIONS[lang][3]).working is True


SOLD = {
    "en": "Sold  Oct 27, 2025", "de": "Verkauft 27. Okt 2025", "fr": "Vendu le 27 oct. 2025",
    "it": "Venduto il 27 ott 2025", "es": "Vendido el 27 de oct. de 2025", "nl": "Verkocht 27 okt 2025",
    "pl": "Sprzedane 27 paź 2025", "pt": "Vendido em 27 de out. de 2025", "ja": "販売済み  2025年10月27日",
    "ko": "판매 완료 2025년 10월 27일", "zh": "已售出 2025年10月27日",
}
ENDED = {
    "en": "Ended Oct 27, 2025", "de": "Beendet 27.10.2025", "fr": "Terminé 27 oct. 2025", "it": "Terminata 27 ott 2025",
    "es": "Finalizado 27 oct 2025", "nl": "Beëindigd 27 okt 2025", "pl": "Zakończona 27 paź 2025",
    "pt": "Encerrado 27 out 2025", "ja": "終了 2025年10月27日", "ko": "종료됨 2025년 10월 27일",
    "zh": "已结束 2025年10月27日",
}


@pytest.mark.parametrize("lang", sorted(SOLD))
def test_sold_and_ended_captions(lang: str) -> None:
    assert tx.SOLD_RE.match(SOLD[lang]) and not tx.ENDED_RE.match(SOLD[lang])
    assert tx.ENDED_RE.match(ENDED[lang]) and not tx.SOLD_RE.match(ENDED[lang])
    assert parse_sold_date(SOLD[lang], observed_at=NOW) == date(2025, 10, 27)
    assert parse_sold_date(ENDED[lang], observed_at=NOW) == date(2025, 10, 27)


BEST_OFFER_ACCEPTED = {
    "en": "Best offer accepted", "de": "Preisvorschlag angenommen", "fr": "Offre directe acceptée",
    "it": "Offerta accettata", "es": "Oferta aceptada", "nl": "Bod geaccepteerd", "pl": "Oferta zaakceptowana",
    "pt": "Oferta aceita", "ja": "ベストオファー対応", "ko": "베스트 오퍼 수락됨", "zh": "已接受议价",
}
OR_BEST_OFFER = {
    "en": "or Best Offer", "de": "oder Preisvorschlag", "fr": "ou Offre directe", "it": "o Proposta d'acquisto",
    "es": "o Mejor oferta", "nl": "of Beste bod", "pl": "lub Propozycja ceny", "pt": "ou Melhor oferta",
    "ja": "またはベストオファー", "ko": "또는 베스트 오퍼", "zh": "或最佳出价",
}
BIDS = {
    "en": "15 bids", "de": "15 Gebote", "fr": "15 enchères", "it": "15 offerte", "es": "15 pujas",
    "nl": "15 biedingen", "pl": "15 ofert", "pt": "15 lances", "ja": "15件の入札", "ko": "15회 입찰", "zh": "15次出价",
}


@pytest.mark.parametrize("lang", sorted(BIDS))
def test_best_offer_and_bids(lang: str) -> None:
    assert tx.BEST_OFFER_ACCEPTED_RE.search(BEST_OFFER_ACCEPTED[lang])
    assert tx.BEST_OFFER_RE.search(OR_BEST_OFFER[lang])
    assert not tx.BEST_OFFER_ACCEPTED_RE.search(OR_BEST_OFFER[lang])
    assert tx.parse_bids(BIDS[lang]) == 15


# language -> (a shipping cost row, its site, its amount and currency, a free shipping row)
SHIPPING: dict[str, tuple[str, str, str, str, str]] = {
    "en": ("+$12.50 shipping", "ebay.com", "12.50", "USD", "Free shipping"),
    "de": ("+EUR 12,50 Versand", "ebay.de", "12.50", "EUR", "Kostenloser Versand"),
    "fr": ("+12,50 EUR livraison", "ebay.fr", "12.50", "EUR", "Livraison gratuite"),
    "it": ("+EUR 12,50 spedizione", "ebay.it", "12.50", "EUR", "Spedizione gratuita"),
    "es": ("+12,50 EUR envío", "ebay.es", "12.50", "EUR", "Envío gratis"),
    "nl": ("+EUR 12,50 verzendkosten", "ebay.nl", "12.50", "EUR", "Gratis verzending"),
    "pl": ("+12,50 zł wysyłka", "ebay.pl", "12.50", "PLN", "Darmowa wysyłka"),
    "pt": ("+R$ 12,50 frete", "ebay.com", "12.50", "BRL", "Frete grátis"),
    "ja": ("+送料 1,250 円", "ebay.com", "1250", "JPY", "送料無料"),
    "ko": ("+₩12,500 배송비", "ebay.com", "12500", "KRW", "무료 배송"),
    "zh": ("+¥125.00 运费", "ebay.com", "125.00", "CNY", "免费送货"),
}


@pytest.mark.parametrize("lang", sorted(SHIPPING))
def test_shipping_and_free_shipping(lang: str) -> None:
    row, site, amount, currency, free = SHIPPING[lang]
    assert tx.SHIPPING_RE.search(row), row
    hint = "CNY" if lang == "zh" else None
    cost = parse_shipping(row, site=site, currency_hint=hint)
    assert cost is not None and (cost.amount, cost.currency, cost.free) == (Decimal(amount), currency, False)
    got = parse_shipping(free, site=site)
    assert got is not None and got.free and got.amount == 0


@pytest.mark.parametrize(
    "text",
    ["No exact matches found", "Keine genauen Treffer gefunden", "Aucun résultat exact trouvé",
     "Nessun risultato esatto trovato", "No se encontraron coincidencias exactas",
     "Geen exacte overeenkomsten gevonden",
     "Nie znaleziono dokładnych dopasowań", "Nenhuma correspondência exata encontrada", "一致する商品はありません",
     "정확히 일치하는 항목이 없습니다", "未找到完全匹配的结果", "0 results for xyz", "0 resultaten voor xyz"],
)
def test_no_results_messages(text: str) -> None:
    assert tx.NO_RESULTS_RE.search(text)
