"""Read the sold/ended date of a completed listing ("Sold  Oct 27, 2025", "Verkauft 27. Okt 2025")."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

__all__ = ["parse_sold_date"]

# English and German month names and abbreviations, lower case, without the trailing dot.
_MONTHS = {
    "jan": 1, "january": 1, "januar": 1, "jän": 1, "jänner": 1,
    "feb": 2, "february": 2, "februar": 2,
    "mar": 3, "march": 3, "mär": 3, "märz": 3, "mrz": 3, "maerz": 3,
    "apr": 4, "april": 4,
    "may": 5, "mai": 5,
    "jun": 6, "june": 6, "juni": 6,
    "jul": 7, "july": 7, "juli": 7,
    "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "okt": 10, "oktober": 10,
    "nov": 11, "november": 11,
    "dec": 12, "december": 12, "dez": 12, "dezember": 12,
}

_M = r"(?P<mon>[^\W\d_]{3,9})\.?"
_Y = r"(?P<year>\d{4})"
_FORMS = (
    re.compile(r"(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"),
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?!\d)"),
    re.compile(r"(?<![\d.])(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})(?!\d)"),
    re.compile(rf"(?<!\w){_M}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_Y}(?!\d)"),  # Oct 27, 2025
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})\.?\s+{_M}\s+{_Y}(?!\d)"),  # 27. Okt 2025, 27 Oct 2025
    re.compile(rf"(?<!\w){_M}\s+(?P<day>\d{{1,2}})(?![\d,:.])"),  # Oct 27 (year left out)
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})\.?\s+{_M}(?!\s*\d)"),  # 27. Okt
)
_TODAY = re.compile(r"\b(?:today|heute)\b|今日|本日", re.IGNORECASE)
_YESTERDAY = re.compile(r"\b(?:yesterday|gestern)\b|昨日", re.IGNORECASE)
_AGO = re.compile(
    r"(?P<n>\d+)\s*(?P<unit>[^\W\d_]+|日|時間|分|週間)\s*(?:ago\b|前)"
    r"|\bvor\s+(?P<n2>\d+)\s*(?P<unit2>[^\W\d_]+)",
    re.IGNORECASE,
)
_UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "tag": 1, "tagen": 1, "日": 1,
              "w": 7, "week": 7, "weeks": 7, "woche": 7, "wochen": 7, "週間": 7}
_UNIT_HOURS = {"h": 1, "hr": 1, "hrs": 1, "hour": 1, "hours": 1, "stunde": 1, "stunden": 1,
               "時間": 1, "m": 0, "min": 0, "mins": 0, "minute": 0, "minutes": 0, "minuten": 0,
               "分": 0}


def _month(name: str) -> int | None:
    return _MONTHS.get(name.lower().rstrip("."))


def _relative(text: str, now: datetime) -> date | None:
    if _TODAY.search(text):
        return now.date()
    if _YESTERDAY.search(text):
        return now.date() - timedelta(days=1)
    m = _AGO.search(text)
    if not m:
        return None
    n = int(m.group("n") or m.group("n2"))
    unit = (m.group("unit") or m.group("unit2")).lower()
    if unit in _UNIT_DAYS:
        return now.date() - timedelta(days=n * _UNIT_DAYS[unit])
    if unit in _UNIT_HOURS:
        return (now - timedelta(hours=n * _UNIT_HOURS[unit])).date()
    return None


def _absolute(text: str, now: datetime | None) -> date | None:
    for form in _FORMS:
        for m in form.finditer(text):
            parts = m.groupdict()
            month = int(parts["month"]) if parts.get("month") else _month(parts["mon"])
            if month is None:
                continue  # "Sold 27" etc.: the word was not a month
            if parts.get("year"):
                year = int(parts["year"])
            elif now is not None:
                # No year shown: the most recent such day not after the observation.
                year = now.year if (month, int(parts["day"])) <= (now.month, now.day) else now.year - 1
            else:
                return None
            try:
                return date(year, month, int(parts["day"]))
            except ValueError:
                return None
    return None


def parse_sold_date(text: str | None, *, observed_at: datetime | None = None) -> date | None:
    """The date in a sold/ended caption, or None when there is none or it cannot be read.

    Relative forms ("Today", "Gestern", "3 days ago", "2日前") and dates without a year need
    ``observed_at`` (when the page was fetched) and give None without it. A date more than one
    day after ``observed_at`` is impossible for a sale and gives None (one day of slack for
    the site's time zone).
    """
    if not text or not text.strip():
        return None
    clean = re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()
    found = _absolute(clean, observed_at)
    if found is None and observed_at is not None:
        found = _relative(clean, observed_at)
    if found is not None and observed_at is not None and found > observed_at.date() + timedelta(days=1):
        return None
    return found
