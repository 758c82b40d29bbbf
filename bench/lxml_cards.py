"""The baselines' card extraction: precompiled lxml, the fields our parser reads from every result card.

Shared by the ``parse`` baseline (in-process) and the ``crawl`` baseline (a minimal Scrapy spider):
CSS selectors compiled to XPath once, evaluated per card; id, link, title, and the texts of the
price, attribute-row and subtitle elements.
"""

from __future__ import annotations

from typing import Any

from lxml.cssselect import CSSSelector
from lxml.etree import XPath

CARDS = "ul.srp-results > li.s-card, ul.srp-results > li.s-item"
_CARDS = CSSSelector(CARDS)
_LINK = XPath("string(.//a/@href)")
_TITLE = XPath(f"string({CSSSelector('.s-card__title, .s-item__title').path})")
_TEXTS = [CSSSelector(css) for css in (".s-card__price, .s-item__price", ".s-card__attribute-row, .s-item__shipping",
                                       ".s-card__subtitle, .s-item__subtitle")]


def cards(root: Any) -> list[Any]:
    """The result cards of a parsed page."""
    found: list[Any] = _CARDS(root)
    return found


def card_fields(card: Any) -> tuple[Any, ...]:
    """(id, link, title, price texts, row texts, subtitle texts) of one card."""
    return (card.get("data-listingid"), _LINK(card), _TITLE(card),
            *([element.text_content() for element in texts(card)] for texts in _TEXTS))
