"""Recognize bot checks and edge error pages served instead of content.

A blocked page must never be read as "0 listings": that would look like a market that emptied.
The check is cheap on purpose (it runs on every response): it looks at the title and the first
~20 KB of the body only. Block pages are small (the Akamai error is 427 bytes, eBay's
"Pardon Our Interruption" 14 KB) and say what they are near the top; real result pages are
~1 MB and their first 20 KB is head markup, where none of the markers below occur.
"""

from __future__ import annotations

import html
import re

HEAD_BYTES = 20_000

_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
# Akamai writes its reference with character references ("Reference&#32;&#35;15&#46;97155d68…").
_AKAMAI_REF_RE = re.compile(r"Reference\s*#\s*([0-9a-f]+(?:\.[0-9a-f]+)+)", re.IGNORECASE)
_H1_RE = re.compile(r"<h1[^>]*>(.*?)</h1", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")

# (lower-case marker, reason), searched as plain substrings of the lower-cased title + head: a
# handful of substring tests on 20 KB cost microseconds, case-insensitive regexes a millisecond.
# First match wins, specific before generic.
_MARKERS: tuple[tuple[str, str], ...] = (
    ("pardon our interruption", "eBay bot check 'Pardon Our Interruption'"),
    ("service unavailable - zero size object", "Akamai edge error 'Service Unavailable - Zero size object'"),
    ("/splashui/captcha", "eBay captcha page (/splashui/captcha)"),
    ("please verify yourself", "captcha page 'Please verify yourself'"),
    ("checking your browser before you access ebay", "eBay bot check 'Checking your browser'"),
    ("verify you are a human", "captcha page 'verify you are a human'"),
    ("verify that you are a human", "captcha page 'verify you are a human'"),
    ("verify you are human", "captcha page 'verify you are human'"),
    ("px-captcha", "PerimeterX captcha page"),
    # Not "challenge-platform": Cloudflare loads that script on ordinary pages too.
    ("attention required! | cloudflare", "Cloudflare challenge page"),
    ("<title>just a moment...</title>", "Cloudflare challenge page"),
    ("<title>security measure", "eBay captcha 'Security Measure'"),
)
_ACCESS_DENIED = ("access denied", "you don't have permission to access")
_EDGESUITE = "errors.edgesuite.net"
# Words that make a 403/429 body a challenge page rather than a plain refusal or rate limit.
_CHALLENGE_WORDS = ("captcha", "challenge", "verify", "unusual traffic", "are you a robot")


def _one_line(text: str, limit: int = 80) -> str:
    text = " ".join(_TAG_RE.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def detect_block(body_text: str, status: int | None = None, title: str | None = None) -> str | None:
    """One-line reason when the page is a bot check or edge error, else ``None``.

    ``body_text`` is the page (HTML or text); only its first ``HEAD_BYTES`` characters are read.
    ``status`` is the HTTP status when known: a 403/429 whose body mentions a captcha or challenge
    is a block even without one of the page markers.
    """
    head = body_text[:HEAD_BYTES] if body_text else ""
    if "&#" in head:
        head = html.unescape(head)
    if title is None:
        m = _TITLE_RE.search(head)
        title = html.unescape(m.group(1)) if m else ""
    probe = f"{title}\n{head}".lower()
    suffix = "" if status in (None, 200) else f" (HTTP {status})"

    for marker, reason in _MARKERS:
        if marker in probe:
            return reason + suffix

    edge = _EDGESUITE in probe
    denied = any(d in title.lower() for d in _ACCESS_DENIED) or (
        edge and any(d in probe for d in _ACCESS_DENIED)
    )
    # The reference regex runs only on pages that already look like an edge error or are tiny.
    small = len(body_text) < HEAD_BYTES
    ref = _AKAMAI_REF_RE.search(head) if (edge or denied or small) and "reference" in probe else None
    ref_text = f" (Reference #{ref.group(1)})" if ref else ""
    if denied:
        return "Akamai 'Access Denied'" + ref_text + suffix
    if edge or (ref and small):
        h1 = _H1_RE.search(head)
        what = _one_line(h1.group(1)) if h1 else _one_line(title) or "edge error"
        return f"Akamai edge error '{what}'" + ref_text + suffix

    # A 403/429 is a block only when its body is a challenge. A plain 429 is rate limiting, which
    # the retry middleware handles by waiting for Retry-After; calling it a block would stop that.
    if status in (403, 429):
        word = next((w for w in _CHALLENGE_WORDS if w in probe), None)
        if word is not None:
            kind = "Too Many Requests" if status == 429 else "Forbidden"
            return f"HTTP {status} {kind} with a challenge page ('{word}')"
    return None


def detect_block_in_body(body: bytes, status: int | None = None) -> str | None:
    """:func:`detect_block` on raw response bytes (only their head is decoded)."""
    return detect_block(body[:HEAD_BYTES].decode("utf-8", errors="replace"), status)


# eBay's own error template ("Error Page | eBay") in the languages eBay serves; and the sentences its
# error pages say. These are errors of the site, not bot checks and not a changed results layout.
_ERROR_TITLES = (
    "error page", "fehlerseite", "page d'erreur", "pagina di errore", "página de error", "foutpagina",
    "strona błędu", "página de erro", "エラーページ", "오류 페이지", "错误页面", "錯誤頁面",
)
_ERROR_SENTENCES = (
    "the page you requested could not be found", "looks like this page is missing",
    "we're sorry, the page you requested", "sorry - this page was not found", "something went wrong on our end",
    "the page you're looking for can't be found", "we couldn't find this page", "this page is missing",
    "die von ihnen aufgerufene seite wurde nicht gefunden", "diese seite fehlt", 'id="error-info"',
)


def detect_error_page(body_text: str, status: int | None = None, title: str | None = None) -> str | None:
    """One-line reason when the page is the site's error page (eBay "Error Page", a 4xx/5xx body), else None.

    Call it after :func:`detect_block`: a 403/429 challenge is a block, not an error page.
    """
    head = body_text[:HEAD_BYTES] if body_text else ""
    if title is None:
        m = _TITLE_RE.search(head)
        title = html.unescape(m.group(1)) if m else ""
    shown = _one_line(title)
    low_title = shown.lower()
    suffix = "" if status in (None, 200) else f" (HTTP {status})"
    # "Error Page | eBay", not a results page for the query "error page" ("Error Page for sale | eBay").
    if any(re.match(rf"{re.escape(marker)}\s*(?:[|\-–:]|$)", low_title) for marker in _ERROR_TITLES):
        return f"eBay error page '{shown}'" + suffix
    probe = head.lower()
    sentence = next((s for s in _ERROR_SENTENCES if s in probe), None)
    if sentence is not None and (status is None or status >= 400 or len(body_text) < HEAD_BYTES * 5):
        return f"error page: '{sentence}'" + suffix
    if status is not None and status >= 400:
        return f"HTTP {status} error page" + (f" '{shown}'" if shown else "")
    return None
