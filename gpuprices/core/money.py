"""Parse displayed prices and shipping costs into ``Decimal`` amounts and ISO 4217 codes."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from urllib.parse import urlsplit

import attrs
from price_parser.parser import extract_currency_symbol, parse_number

from gpuprices.exceptions import PriceParseError, UnknownCurrencyError

__all__ = ["ParsedPrice", "ParsedShipping", "currency_for_site", "known_currency", "parse_price", "parse_shipping"]


@attrs.frozen
class ParsedPrice:
    """A price as displayed, normalized."""

    amount: Decimal
    """The price, or the lower end of a range; digits kept as written ("3500.00" stays 3500.00)."""
    amount_max: Decimal | None
    """Upper end of a range ("$10.44 to $15.96"), else None."""
    currency: str
    """ISO 4217 code, e.g. "USD"."""
    currency_raw: str
    """The symbol or code as written ("£", "EUR", "円", "C $", "US $"); "" when taken from site/hint."""


@attrs.frozen
class ParsedShipping:
    """A shipping/postage/delivery cost as displayed."""

    amount: Decimal | None
    """Cost; 0 when free; None when unknown (never 0 for "not specified" or unreadable text)."""
    currency: str | None
    """ISO 4217 code, or None when unknown."""
    free: bool
    """The text says free shipping (or the cost is 0)."""
    estimated: bool
    """The site calls the cost an estimate ("estimate", "ca.", "見積り")."""
    raw: str
    """The text as given."""


# Country -> (currency, decimal separator of the site's locale). eBay's own sites plus the
# countries whose visitors get prices converted into their currency on ebay.com.
_COUNTRIES: dict[str, tuple[str, str]] = {
    "US": ("USD", "."), "CA": ("CAD", "."), "GB": ("GBP", "."), "AU": ("AUD", "."),
    "NZ": ("NZD", "."), "IE": ("EUR", "."), "DE": ("EUR", ","), "AT": ("EUR", ","),
    "FR": ("EUR", ","), "IT": ("EUR", ","), "ES": ("EUR", ","), "NL": ("EUR", ","),
    "BE": ("EUR", ","), "PT": ("EUR", ","), "FI": ("EUR", ","), "GR": ("EUR", ","),
    "CH": ("CHF", "."), "PL": ("PLN", ","), "CZ": ("CZK", ","), "HU": ("HUF", ","),
    "SE": ("SEK", ","), "DK": ("DKK", ","), "NO": ("NOK", ","), "SG": ("SGD", "."),
    "MY": ("MYR", "."), "PH": ("PHP", "."), "HK": ("HKD", "."), "JP": ("JPY", "."),
    "CN": ("CNY", "."), "TW": ("TWD", "."), "KR": ("KRW", "."), "IN": ("INR", "."),
    "ID": ("IDR", ","), "TH": ("THB", "."), "VN": ("VND", ","), "MX": ("MXN", "."),
    "BR": ("BRL", ","), "IL": ("ILS", "."), "TR": ("TRY", ","), "RU": ("RUB", ","),
    "RO": ("RON", ","), "BG": ("BGN", ","), "ZA": ("ZAR", "."), "PE": ("PEN", "."),
    "AE": ("AED", "."), "SA": ("SAR", "."), "AR": ("ARS", ","), "CL": ("CLP", ","),
    "CO": ("COP", ","), "UA": ("UAH", ","), "IS": ("ISK", ","),
}
_ISO = frozenset({
    "USD", "EUR", "GBP", "JPY", "CNY", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "KRW", "INR", "IDR",
    "MYR", "PHP", "THB", "VND", "CHF", "SEK", "NOK", "DKK", "ISK", "PLN", "CZK", "HUF", "RON", "BGN",
    "RUB", "UAH", "TRY", "ILS", "AED", "SAR", "ZAR", "BRL", "MXN", "ARS", "CLP", "COP", "PEN",
    "QAR", "KWD", "BHD", "OMR", "JOD", "EGP", "MAD", "NGN", "KES", "PKR", "BDT", "LKR", "KZT",
    "GEL", "RSD", "UYU", "BOB", "PYG", "CRC", "DOP",
})
# Currencies shown without minor units: a lone "x,xxx" / "x.xxx" is always digit grouping.
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "IDR", "PYG"})
_DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN"})
_KRONER = frozenset({"SEK", "NOK", "DKK", "ISK"})
_DOLLAR_PREFIX = {
    "US": "USD", "C": "CAD", "CA": "CAD", "CAN": "CAD", "AU": "AUD", "A": "AUD", "NZ": "NZD",
    "HK": "HKD", "SG": "SGD", "S": "SGD", "MX": "MXN", "NT": "TWD", "R": "BRL",
}
_SYMBOLS = {
    "€": "EUR", "£": "GBP", "円": "JPY", "₹": "INR", "₩": "KRW", "원": "KRW", "₱": "PHP", "₽": "RUB",
    "₺": "TRY", "₪": "ILS", "฿": "THB", "₫": "VND", "元": "CNY", "zł": "PLN", "Zł": "PLN",
    "Kč": "CZK", "Ft": "HUF", "lei": "RON", "Lei": "RON", "Rp": "IDR", "RM": "MYR", "Fr.": "CHF",
    "SFr.": "CHF", "euro": "EUR", "Euro": "EUR", "EURO": "EUR", "RMB": "CNY", "CN¥": "CNY",
    "JP¥": "JPY", "S/.": "PEN", "S/": "PEN", "TL": "TRY", "Rs.": "INR", "Rs": "INR", "Php": "PHP",
    "R": "ZAR", "лв": "BGN", "лв.": "BGN", "руб.": "RUB", "руб": "RUB", "บาท": "THB",
    "د.إ": "AED", "ر.س": "SAR", "ש״ח": "ILS",
}
_L = r"[^\W\d_]"  # any letter: words must not be glued to other letters ("kr" vs "Kredit")
_TOKEN = re.compile(
    rf"(?P<dollar>(?<!{_L})(?:US|CAN|CA|C|AU|A|NZ|HK|SG|S|MX|NT|R) ?\$)"
    rf"|(?P<code>(?<!{_L})(?:{'|'.join(sorted(_ISO))})(?!{_L}))"
    rf"|(?P<word>(?<!{_L})(?:CN¥|JP¥|zł|Zł|Kč|Ft|lei|Lei|Rp|RM|SFr\.|Fr\.|kr\.?|Kr\.?|euro|Euro|EURO|RMB"
    rf"|S/\.?|TL|Rs\.?|Php|лв\.?|руб\.?|บาท|원|د\.إ|ر\.س|ש״ח)(?!{_L}))"
    # South African rand: a lone "R" right before the digits ("R 1 234,56", "R1,234.56").
    rf"|(?P<rand>(?<!{_L})R(?=\s?[0-9]))"
    r"|(?P<sym>[€£円₹₩₱₽₺₪฿₫元¥$])"
)
# Currency symbols (Unicode category Sc) and uppercase codes next to an amount that we cannot name:
# reported as an unknown currency, never read as the site's currency.
_CODE_NEAR = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
# Digits grouped by spaces/apostrophes ("1 234,56", "1'234.50"), or by . and , ("1.234,56").
_NUMBER = re.compile(
    r"(?<![0-9.,])(?:[0-9]{1,3}(?:[ '][0-9]{3})+(?:[.,][0-9]+)?(?![0-9])"
    r"|[0-9][0-9.,]*[0-9]|[0-9]|[.,][0-9]+)(?!\s?%)"
)
_RANGE_WORD = re.compile(r"\s*(?:to|bis|à|a|-|–|—|~)\s*", re.IGNORECASE)
_FREE = re.compile(
    r"\bfree\b|kostenlos|gratuit|gratis|grátis|darmow|bezpłatn|za darmo|無料|무료|免费|免費|包邮|包郵", re.IGNORECASE
)
_FREE_RETURNS = re.compile(
    r"free returns?|kostenlose rückgabe|retours gratuits|返品無料|resi? gratuit[oi]|devoluci[oó]n(?:es)? gratis"
    r"|gratis retour(?:neren)?|darmowy zwrot|devolução grátis|무료 반품|免费退货|免費退貨",
    re.IGNORECASE,
)
_SHIP_UNKNOWN = re.compile(
    r"not specified|nicht angegeben|freight|pick ?up|abholung|see description|"
    r"siehe beschreibung|non spécifié|no shipping|送料未定|non specificat|no especificad|niet opgegeven|"
    r"nie określon|não especificad|미지정|未指定|ritiro|recogida|afhalen|odbiór osobisty|retirada",
    re.IGNORECASE,
)
_EST_ANYWHERE = re.compile(
    r"estimat|geschätzt|見積|calculated|berechnet|stimat|geschat|szacowan|예상|预估|預估|估计|估計", re.IGNORECASE
)
_EST_PREFIX = re.compile(r"\bca\.|\bapprox|\bcirca\b|\benviron\b|約", re.IGNORECASE)
# Full-width forms (＋, ～, ０-９, ＄) to ASCII; odd spaces to " "; invisible marks removed.
_TRANSLATE: dict[int, str | None] = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
_TRANSLATE.update({
    0xFFE5: "¥", 0x00A0: " ", 0x202F: " ", 0x2009: " ", 0x2007: " ", 0x2212: "-",
    0x301C: "~", 0x2019: "'", 0x2063: None, 0x200B: None, 0x200E: None, 0x200F: None,
})


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_TRANSLATE)).strip()


def _site_info(site: str | None) -> tuple[str, str] | None:
    """(currency, decimal separator) for a host, URL or eBay marketplace id."""
    if not site or not site.strip():
        return None
    s = site.strip()
    mkt = re.fullmatch(r"EBAY[_-](?:MOTORS[_-])?(FR|EN|NL)?([A-Z]{2})", s.upper())
    if mkt:
        info = _COUNTRIES.get(mkt.group(2))
        if info and mkt.group(1) == "FR":  # EBAY-FRCA: French Canada writes "25,00 $"
            return info[0], ","
        return info
    try:
        host = urlsplit(s if "://" in s else "//" + s).hostname or ""
    except ValueError:  # "[::1" and similar broken URLs
        return None
    labels = host.lower().split(".")
    if len(labels) < 2 or labels[-1].isdigit():  # localhost, 127.0.0.1: no locale
        return None
    tld = labels[-1]
    country = {"com": "US", "uk": "GB"}.get(tld, tld.upper() if len(tld) == 2 else "")
    info = _COUNTRIES.get(country)
    if info and labels[0] == "cafr":
        return info[0], ","
    return info


def known_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 currency we read (a rate for it may still be missing)."""
    return code in _ISO


def currency_for_site(site: str | None) -> str | None:
    """Default ISO currency of a host ("www.ebay.de"), URL or marketplace id ("EBAY_GB")."""
    info = _site_info(site)
    return info[0] if info else None


def _hint_iso(hint: str | None) -> str | None:
    if not hint or not hint.strip():
        return None
    h = _clean(hint)
    if h.upper() in _ISO:
        return h.upper()
    if h in ("元", "人民币", "CN¥", "RMB"):
        return "CNY"
    m = _TOKEN.search(h)
    if m and m.group().rstrip(".") not in ("$", "¥", "kr", "Kr"):  # ambiguous on their own
        return _token_iso(m, None, None)
    return None


def _token_iso(m: re.Match[str], site_ccy: str | None, hint: str | None) -> str | None:
    """ISO code of a currency token; ambiguous $, ¥ and kr are settled by the hint, then site."""
    tok = m.group()
    if m.group("dollar"):
        return _DOLLAR_PREFIX[tok.rstrip("$ ")]
    if m.group("code"):
        return tok
    if tok == "$":  # "$" alone: the hinted or the site's dollar, else USD
        return next((c for c in (hint, site_ccy) if c in _DOLLARS), "USD")
    if tok == "¥":  # JPY unless CNY is hinted or the site is Chinese (eBay has no CN site)
        return "CNY" if "CNY" in (hint, site_ccy) and hint != "JPY" else "JPY"
    if tok.rstrip(".") in ("kr", "Kr"):  # SEK/NOK/DKK/ISK all write "kr": the site or hint says which
        return next((c for c in (hint, site_ccy) if c in _KRONER), None)
    return _SYMBOLS[tok]


def _check_groups(int_part: str, sep: str, text: str) -> None:
    """Digit groups after the first are 3 long (2 allowed in the middle: Indian 1,23,456)."""
    groups = int_part.split(sep)
    ok = 1 <= len(groups[0]) <= 3 and len(groups[-1]) == 3
    if not ok or any(len(g) not in (2, 3) for g in groups[1:-1]):
        raise PriceParseError(f"malformed number in price {text[:80]!r}")


def _to_decimal(num: str, currency: str, site_sep: str | None, text: str) -> Decimal:
    grouped = " " in num or "'" in num
    digits = num.replace(" ", "").replace("'", "")
    seps = [c for c in digits if c in ".,"]
    sep: str | None = None
    if grouped or not seps:
        if len(seps) > 1:
            raise PriceParseError(f"malformed number in price {text[:80]!r}")
        sep = seps[0] if seps else None
    elif len(set(seps)) == 2:  # both: the last one is the decimal point ("1.234,56")
        sep = digits[max(digits.rfind("."), digits.rfind(","))]
        if digits.count(sep) != 1:
            raise PriceParseError(f"malformed number in price {text[:80]!r}")
        _check_groups(digits.split(sep)[0], "," if sep == "." else ".", text)
    elif len(seps) > 1:  # "1.234.567": repeated, so grouping
        _check_groups(digits, seps[0], text)
    else:
        int_part, frac = digits.split(seps[0])
        # One separator followed by exactly 3 digits ("3.350", "1,234") is ambiguous. It is
        # a decimal point only when the site's locale uses that character as its decimal
        # mark (ebay.com: "1.234" = 1.234, ebay.de: "1.234" = 1234) and the currency has
        # minor units; with no site it is grouping (retail prices have 2 decimals, not 3).
        # ",89" / "0.899" / "1234.567" cannot be grouping, so they are decimals.
        unambiguous = len(frac) != 3 or int_part in ("", "0") or len(int_part) > 3
        if unambiguous or (currency not in _ZERO_DECIMAL and site_sep == seps[0]):
            sep = seps[0]
    if sep is None:
        digits = digits.replace(".", "").replace(",", "")
    value = parse_number(digits, decimal_separator=sep or ".")
    if value is None or not value.is_finite():
        raise PriceParseError(f"unreadable number in price {text[:80]!r}")
    return value


def _unknown_currency(clean: str, first: re.Match[str]) -> str | None:
    """A currency-looking mark next to the first amount that no rule above names, else None."""
    window = clean[max(0, first.start() - 6) : first.end() + 6]
    symbol = next((c for c in window if unicodedata.category(c) == "Sc"), None)
    if symbol:
        return symbol
    for m in _CODE_NEAR.finditer(window):
        if m.group(1) not in _ISO:
            return m.group(1)
    return extract_currency_symbol(window, None) or None


def _parse(text: str, site: str | None, hint: str | None, allow_zero: bool) -> ParsedPrice:
    clean = _clean(text)
    # Amounts are looked for with the currency marks blanked out: "S/.44.38" is 44.38, not ".44".
    masked = _TOKEN.sub(lambda m: " " * len(m.group()), clean)
    nums = list(_NUMBER.finditer(masked))
    if not nums:
        raise PriceParseError(f"no amount in price {text[:80]!r}")
    info = _site_info(site)
    site_ccy, site_sep = info if info else (None, None)
    hint_ccy = _hint_iso(hint)
    first = nums[0]
    tok = _TOKEN.search(clean)
    if tok:
        currency, raw = _token_iso(tok, site_ccy, hint_ccy), tok.group()
        if currency is None:
            raise PriceParseError(f"ambiguous currency {raw!r} in price {text[:80]!r}")
    else:
        # A symbol or code we do not map ("₦", "XYZ 12.00") must not become the site's
        # currency silently.
        unknown = _unknown_currency(clean, first)
        if unknown:
            raise UnknownCurrencyError(unknown, text)
        currency, raw = hint_ccy or site_ccy, ""
        if currency is None:
            raise PriceParseError(f"no currency in price {text[:80]!r} and no site or hint")
    before = masked[: first.start()].rstrip()
    if before.endswith(("-", "–")):
        raise PriceParseError(f"negative amount in price {text[:80]!r}")
    amount = _to_decimal(first.group(), currency, site_sep, text)
    amount_max = None
    if len(nums) > 1 and _RANGE_WORD.fullmatch(masked[first.end() : nums[1].start()].strip() or " "):
        amount_max = _to_decimal(nums[1].group(), currency, site_sep, text)
        if amount_max < amount:
            raise PriceParseError(f"range upper end below lower end in {text[:80]!r}")
    if amount <= 0 and not (allow_zero or _FREE.search(clean)):
        raise PriceParseError(f"zero amount in price {text[:80]!r}")
    return ParsedPrice(amount=amount, amount_max=amount_max, currency=currency, currency_raw=raw)


def parse_price(
    text: str, *, site: str | None = None, currency_hint: str | None = None
) -> ParsedPrice:
    """Parse a displayed price or price range ("EUR 17,72 bis EUR 18,66").

    ``site`` (host, URL or eBay marketplace id) gives the default currency and the decimal
    mark; ``currency_hint`` (ISO code or symbol, e.g. "CNY", "RMB") overrides the site's
    currency and settles "$", "¥" and "kr". A currency written in the text always wins.
    Raises PriceParseError for text without digits, without a determinable currency, or
    with a negative or zero amount (zero is accepted only if the text says free).
    """
    return _parse(text, site, currency_hint, allow_zero=False)


_COST_MARKER = re.compile(r"^\s*[+＋]")


def parse_shipping(
    text: str | None, *, site: str | None = None, currency_hint: str | None = None
) -> ParsedShipping | None:
    """Parse a shipping/postage/delivery text; None when there is no text at all."""
    if text is None or not text.strip():
        return None
    clean = _clean(text)
    digit = re.search(r"[0-9]", clean)
    estimated = bool(
        _EST_ANYWHERE.search(clean) or _EST_PREFIX.search(clean[: digit.start() if digit else None])
    )
    if _SHIP_UNKNOWN.search(clean):
        return ParsedShipping(amount=None, currency=None, free=False, estimated=estimated, raw=text)
    if _FREE.search(_FREE_RETURNS.sub("", clean)):
        tok = _TOKEN.search(clean)
        hint_ccy = _hint_iso(currency_hint)
        ccy = _token_iso(tok, currency_for_site(site), hint_ccy) if tok else None
        ccy = ccy or hint_ccy or currency_for_site(site)
        return ParsedShipping(amount=Decimal(0), currency=ccy, free=True, estimated=False, raw=text)
    unknown = ParsedShipping(amount=None, currency=None, free=False, estimated=estimated, raw=text)
    # "Delivery in 2-4 days" / "Lieferung bis 12. Nov": a number is a cost only next to a currency or a
    # "+" cost marker, never a day or a date.
    if not (_TOKEN.search(clean) or _COST_MARKER.search(clean)):
        return unknown
    try:
        p = _parse(clean, site, currency_hint, allow_zero=True)
    except PriceParseError:  # unreadable non-free text: unknown, never 0
        return unknown
    free = p.amount == 0
    return ParsedShipping(
        amount=p.amount, currency=p.currency, free=free, estimated=estimated and not free, raw=text
    )
