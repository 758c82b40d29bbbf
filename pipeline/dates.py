"""Read the sold/ended date of a completed listing ("Sold  Oct 27, 2025", "Verkauft 27. Okt 2025", "2025년 10월 27일").
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

__all__ = ["parse_sold_date"]

# Month names and abbreviations eBay writes in EN, DE, FR, IT, ES, NL, PL, PT (lower case, no trailing
# dot). Names shared by several languages ("mar", "mai", "set") mean the same month in all of them.
_MONTH_WORDS: dict[int, str] = {
    1: "jan january januar jän jänner janv janvier gen gennaio ene enero januari sty stycznia styczeń janeiro",
    2: "feb february februar févr fév février febbraio febrero februari lut lutego luty fev fevereiro",
    3: "mar march mär märz mrz maerz mars marzo maart mrt marca marzec março",
    4: "apr april avr avril aprile abr abril kwi kwietnia kwiecień",
    5: "may mai mag maggio mayo mei maj maja maio",
    6: "jun june juni juin giu giugno junio cze czerwca czerwiec junho",
    7: "jul july juli juil juillet lug luglio julio lip lipca lipiec julho",
    8: "aug august août ago agosto augustus sie sierpnia sierpień",
    9: "sep sept september septembre set settembre septiembre wrz września wrzesień setembro",
    10: "oct october okt oktober octobre ott ottobre octubre paź października październik out outubro",
    11: "nov november novembre noviembre lis listopada listopad novembro",
    12: "dec december dez dezember déc décembre dic dicembre diciembre gru grudnia grudzień dezembro",
}
_MONTHS = {word: month for month, words in _MONTH_WORDS.items() for word in words.split()}

_M = r"(?P<mon>[^\W\d_]{3,9})\.?"
_Y = r"(?P<year>\d{4})"
_FORMS = (
    re.compile(r"(?P<year>\d{4})\s*[年년]\s*(?P<month>\d{1,2})\s*[月월]\s*(?P<day>\d{1,2})\s*[日일]"),
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?!\d)"),
    re.compile(r"(?<![\d.])(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})(?!\d)"),
    re.compile(rf"(?<!\w){_M}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_Y}(?!\d)"),  # Oct 27, 2025
    # 27. Okt 2025, 27 Oct 2025, 27 de oct. de 2025, 27 paź 2025
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})\.?\s+(?:de\s+)?{_M}\s+(?:de\s+)?{_Y}(?!\d)"),
    re.compile(r"(?<!\d)(?P<month>\d{1,2})\s*[月월]\s*(?P<day>\d{1,2})\s*[日일]"),  # 10月27日 (year left out)
    re.compile(rf"(?<!\w){_M}\s+(?P<day>\d{{1,2}})(?![\d,:.])"),  # Oct 27 (year left out)
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})\.?\s+(?:de\s+)?{_M}(?!\s*\d)"),  # 27. Okt, 27 de oct.
)
_TODAY = re.compile(
    r"\b(?:today|heute|aujourd'hui|oggi|hoy|vandaag|dzisiaj|dziś|hoje)\b|今日|本日|오늘|今天", re.IGNORECASE
)
_YESTERDAY = re.compile(
    r"\b(?:yesterday|gestern|hier|ieri|ayer|gisteren|wczoraj|ontem)\b|昨日|어제|昨天", re.IGNORECASE
)
_AGO = re.compile(
    r"(?P<n>\d+)\s*(?P<unit>[^\W\d_]+|日|時間|分|週間|天|小时|小時|分钟|分鐘|周|週|일|시간|분|주)\s*(?:ago\b|前|전)"
    r"|\bvor\s+(?P<n2>\d+)\s*(?P<unit2>[^\W\d_]+)",
    re.IGNORECASE,
)
_UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "tag": 1, "tagen": 1, "日": 1, "天": 1, "일": 1,
              "w": 7, "week": 7, "weeks": 7, "woche": 7, "wochen": 7, "週間": 7, "周": 7, "週": 7, "주": 7}
_UNIT_HOURS = {"h": 1, "hr": 1, "hrs": 1, "hour": 1, "hours": 1, "stunde": 1, "stunden": 1,
               "時間": 1, "m": 0, "min": 0, "mins": 0, "minute": 0, "minutes": 0, "minuten": 0,
               "分": 0, "小时": 1, "小時": 1, "分钟": 0, "分鐘": 0, "시간": 1, "분": 0}


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
