"""Date and time rules of the normaliser: 2025年9月8日, 2025/10/01, Sep. 8th, 8:30 AM, 23:59."""

from __future__ import annotations

import re

from voxsmith.text import numbers_en as en
from voxsmith.text import numbers_zh as zh
from voxsmith.text.normalize_config import Ctx

# "AM", "pm", "a.m." after a time; the final dot of "a.m." is restored when it also ends the sentence.
AMPM = r"\s?([AaPp])(?:\.[Mm]\.|[Mm])(?![A-Za-z])"
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
MONTH_NAMES = "January February March April May June July August September October November December".split()


def is_year(y: int) -> bool:
    return 1000 <= y <= 2199


def _valid_md(m: int, d: int | None = None) -> bool:
    return 1 <= m <= 12 and (d is None or 1 <= d <= 31)


def _zh_date(y: str | None, m: str | None, d: str | None, day_word: str = "日", padded: bool = False) -> str:
    """Chinese date; ``padded`` reads zero-padded month/day digit by digit (01月 -> 零一月)."""

    def part(v: str) -> str:
        return zh.digits(v) if padded and v.startswith("0") else zh.cardinal(int(v), liang=False)

    out = zh.year(y) + "年" if y else ""
    if m:
        out += part(m) + "月"
    if d:
        out += part(d) + day_word
    return out


def _en_date(y: str | None, m: int, d: int | None, of_style: bool = False) -> str:
    if of_style and d:
        out = f"the {en.ordinal(d)} of {MONTH_NAMES[m - 1].lower()}"
        return out + (" , " + en.year(int(y)) if y else "")
    out = MONTH_NAMES[m - 1] + (" " + en.ordinal(d) if d else "")
    return out + (", " + en.year(int(y)) if y else "")


def ymd(m: re.Match[str], c: Ctx) -> str | None:
    y, mo, d = m.group(1), int(m.group(3)), int(m.group(4))
    if not (is_year(int(y)) and _valid_md(mo, d)):
        return None
    return (
        _zh_date(y, str(mo), str(d), m.group(5) or "日")
        if c.lang == "zh"
        else _en_date(y, mo, d, c.config.en_date_of)
    )


def mdy(m: re.Match[str], c: Ctx) -> str | None:
    mo, d, y = int(m.group(1)), int(m.group(2)), m.group(3)
    if not (is_year(int(y)) and _valid_md(mo, d)):
        return None
    return _zh_date(y, str(mo), str(d)) if c.lang == "zh" else _en_date(y, mo, d, c.config.en_date_of)


def zh_date_words(m: re.Match[str], c: Ctx) -> str | None:
    y, mo, d, day_word = m.group(1), m.group(2), m.group(3), m.group(4)
    if y and not is_year(int(y)) or mo and not _valid_md(int(mo), int(d) if d else None):
        return None
    if c.lang == "en" and mo:
        return _en_date(y, int(mo), int(d) if d else None, c.config.en_date_of)
    return _zh_date(y, mo, d, day_word or "日", c.config.zero_padded_dates_as_digits) if y else None


def month_day(m: re.Match[str], c: Ctx) -> str | None:
    mo, d = int(m.group(1)), int(m.group(2))
    if not _valid_md(mo, d):
        return None
    if c.lang == "zh":
        return _zh_date(None, m.group(1), m.group(2), m.group(3), c.config.zero_padded_dates_as_digits)
    return _en_date(None, mo, d, c.config.en_date_of)


def en_month_name(m: re.Match[str], c: Ctx) -> str | None:
    month = _MONTHS[m.group(1)[:3].lower()]
    d = int(m.group(2))
    if not _valid_md(month, d) or c.lang == "zh":
        return None
    return _en_date(m.group(3), month, d, c.config.en_date_of)


def time_of_day(m: re.Match[str], c: Ctx) -> str | None:
    h, mi, s, ampm = int(m.group(1)), m.group(2), m.group(3), (m.group(4) or "").lower()
    if ampm and not 1 <= h <= 12:
        return None
    mi_i = int(mi) if mi else 0
    if c.lang == "zh":
        prefix = {"a": "上午", "p": "下午"}.get(ampm, "")
        out = prefix + zh.cardinal(h, liang=True) + "点"
        if mi_i:
            out += ("零" if mi_i < 10 else "") + zh.cardinal(mi_i, liang=False) + "分"
        if s and int(s):
            out += zh.cardinal(int(s), liang=False) + "秒"
        return out
    words = [en.cardinal(h)]
    if mi_i:
        words.append(("oh " + en.ONES[mi_i]) if mi_i < 10 else en.cardinal(mi_i))
    elif not ampm:
        words.append("o'clock")
    if s and int(s):
        words += ["and", en.cardinal(int(s)), "seconds"]
    if ampm:
        words.append(ampm.upper() + (" M" if c.config.ampm_spelled else "M"))
    tail = "." if m.group(0).endswith(".") and re.match(r"\s*$|\s+[A-Z]", c.text[m.end() :]) else ""
    return " ".join(words) + tail
