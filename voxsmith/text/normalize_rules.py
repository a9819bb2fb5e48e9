"""The normaliser's rules: one regex and one verbaliser per kind of written number (dates and
times in normalize_datetime.py).

Rules are tried in order at each position where a number expression can start; the first rule
whose pattern matches and whose handler returns a string wins. Every handler gets the match and
a ``Ctx`` saying whether the expression is read in Chinese or English (see normalize.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from voxsmith.text import numbers_en as en
from voxsmith.text import numbers_zh as zh
from voxsmith.text.chars import CJK_CLASS
from voxsmith.text.normalize_config import Ctx
from voxsmith.text.normalize_datetime import (
    AMPM,
    en_month_name,
    is_year,
    mdy,
    month_day,
    time_of_day,
    ymd,
    zh_date_words,
)
from voxsmith.text.units import CURRENCY, UNIT_PATTERN, unit_words


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    handler: Callable[[re.Match[str], Ctx], str | None]


_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_YEAR_WORDS = set("in by since from until till to of year before after around circa".split())
_DIGIT_KEYWORDS = (
    "电话", "手机", "号码", "热线", "拨打", "致电", "尾号", "验证码", "密码", "邮编", "账号", "卡号", "编号",
    "工号", "学号", "房间", "航班", "车次", "QQ", "qq", "微信", "分机", "phone", "call", "dial", "room",
    "code", "PIN", "flight", "tel", "Tel",
)  # fmt: skip


def _en_dec(s: str, c: Ctx) -> str:
    return en.decimal(s, zero=c.config.en_point_zero, hundred_and=c.hundred_and)


def _phone(m: re.Match[str], c: Ctx) -> str:
    groups = [g for g in re.split(r"[^\d+]+", m.group(0)) if g]
    if len(groups) == 1 and len(groups[0]) == 11:  # a mobile number written without separators: 3-4-4
        groups = [groups[0][:3], groups[0][3:7], groups[0][7:]]
    if c.lang == "zh":
        return c.config.phone_group_sep.join(
            ("加" if g.startswith("+") else "") + zh.digits(g) for g in groups
        )
    return ", ".join(("plus " if g.startswith("+") else "") + en.digits(g) for g in groups)


def _money(m: re.Match[str], c: Ctx) -> str:
    sign, cur, num, scale = m.group(1), m.group(2), m.group(3), (m.group(4) or "").strip()
    zh_name, en_one, en_many, cent_one, cent_many = CURRENCY[cur]
    neg = sign == "-"
    if c.lang == "zh":
        scale_zh = {"k": "千", "K": "千", "m": "百万", "M": "百万", "million": "百万", "bn": "十亿", "B": "十亿",
                    "billion": "十亿", "thousand": "千", "trillion": "万亿"}.get(scale, scale)  # fmt: skip
        return ("负" if neg else "") + zh.decimal(num) + scale_zh + zh_name
    scale_en = {"k": "thousand", "K": "thousand", "m": "million", "M": "million", "bn": "billion", "B": "billion",
                "万": "ten thousand", "亿": "hundred million"}.get(scale, scale)  # fmt: skip
    minus = "minus " if neg else ""
    if scale_en:
        return f"{minus}{_en_dec(num, c)} {scale_en} {en_many}"
    whole, _, frac = num.replace(",", "").partition(".")
    units, cents = int(whole or 0), int((frac + "00")[:2]) if frac and cent_one else 0
    if frac and (not cent_one or len(frac) > 2 or not c.config.en_money_cents):
        return f"{minus}{_en_dec(num, c)} {en_many}"
    parts = []
    if units or not cents:
        parts.append(f"{en.cardinal(units, c.hundred_and)} {en_one if units == 1 else en_many}")
    if cents:
        parts.append(f"{en.cardinal(cents)} {cent_one if cents == 1 else cent_many}")
    return minus + " and ".join(parts)


def _percent(m: re.Match[str], c: Ctx) -> str:
    lo, hi, mille = m.group(1), m.group(2), m.group(3) == "‰"
    if c.lang == "zh":
        out = zh.percent(lo, mille)
        return out + "到" + zh.percent(hi, mille) if hi else out
    word = "per mille" if mille else "percent"
    lo_w = _en_dec(lo, c)
    return f"{lo_w} to {_en_dec(hi, c)} {word}" if hi else f"{lo_w} {word}"


def _fraction(m: re.Match[str], c: Ctx) -> str | None:
    num, den = m.group(1), m.group(2)
    if int(den) == 0:
        return None
    return zh.fraction(num, den) if c.lang == "zh" else en.fraction(int(num), int(den))


def _measure(m: re.Match[str], c: Ctx) -> str | None:
    sign, num, unit = m.group(1), m.group(2), m.group(3)
    value = ("-" if sign else "") + num
    if not c.config.letter_units and len(unit) == 1 and unit.isalpha():
        return None
    zh_unit, en_unit, zh_per = unit_words(unit, num)
    if c.lang == "zh":
        word = zh.decimal(value, liang=c.liang and value == "2" and zh_unit in zh.LIANG_NEXT)
        return f"{zh_per}{word}{zh_unit}" if zh_per else word + zh_unit
    return f"{_en_dec(value, c)} {en_unit}"


def _decade(m: re.Match[str], c: Ctx) -> str | None:
    century, tens = m.group(1), int(m.group(2))
    if c.lang == "zh":
        if tens == 0:
            return None
        return (zh.digits(century) if century and century != "19" else "") + zh.cardinal(tens * 10) + "年代"
    if tens == 0:
        return en.cardinal(int(century)) + " hundreds" if century else None
    word = "tens" if tens == 1 else en.TENS[tens][:-1] + "ies"
    return (en.cardinal(int(century)) + " " if century else "the ") + word


def _ordinal_en(m: re.Match[str], c: Ctx) -> str:
    n = int(m.group(1))
    return "第" + zh.cardinal(n, liang=False) if c.lang == "zh" else en.ordinal(n)


def _expression(m: re.Match[str], c: Ctx) -> str:
    ops_zh = {"+": "加", "-": "减", "×": "乘", "x": "乘", "*": "乘", "/": "除以", "÷": "除以", "=": "等于"}
    ops_en = {"+": "plus", "-": "minus", "×": "times", "x": "times", "*": "times", "/": "divided by",
              "÷": "divided by", "=": "equals"}  # fmt: skip
    out = []
    for tok in re.findall(r"\d+(?:\.\d+)?|[-+×x*/÷=]", m.group(0)):
        if tok[0].isdigit():
            out.append(zh.decimal(tok, liang=False) if c.lang == "zh" else en.decimal(tok))
        else:
            out.append((ops_zh if c.lang == "zh" else ops_en)[tok])
    return ("" if c.lang == "zh" else " ").join(out)


def _range(m: re.Match[str], c: Ctx) -> str | None:
    a, b = m.group(1), m.group(2)
    both_years = "." not in a + b and is_year(int(a)) and is_year(int(b)) and len(a) == len(b) == 4
    if "." not in a + b and int(a) > int(b) and not both_years:  # 3-2 is a score, not a range
        return _ratio(m, c)
    if c.lang == "zh":
        if both_years:
            return zh.year(a) + "到" + zh.year(b)
        return zh.decimal(a, liang=False) + "到" + zh.decimal(b, liang=False)
    if both_years:
        return en.year(int(a)) + " to " + en.year(int(b))
    return en.decimal(a) + " to " + en.decimal(b)


def _ratio(m: re.Match[str], c: Ctx) -> str:
    a, b = int(m.group(1)), int(m.group(2))
    if c.lang == "zh":
        return zh.cardinal(a, False) + "比" + zh.cardinal(b, False)
    return en.cardinal(a) + " to " + en.cardinal(b)


def _version(m: re.Match[str], c: Ctx) -> str:
    parts = m.group(0).lstrip("vV").split(".")
    if c.lang == "zh":
        return "点".join(zh.cardinal(int(p), False) if p[0] != "0" else zh.digits(p) for p in parts)
    return " point ".join(en.cardinal(int(p)) if p[0] != "0" else en.digits(p) for p in parts)


def _email(m: re.Match[str], c: Ctx) -> str:
    if not c.config.email_words:  # only the digits are read; @ and . stay as written
        one = c.config.glued_one
        return re.sub(
            r"\d+",
            lambda d: zh.digits(d.group(0), one) if c.lang == "zh" else en.digits(d.group(0)),
            m.group(0),
        )
    out = []
    for tok in re.findall(r"[A-Za-z]+|\d+|[@._+-]", m.group(0)):
        if tok.isdigit():
            out.append(zh.digits(tok) if c.lang == "zh" else en.digits(tok))
        else:
            out.append({"@": "at", ".": "dot", "_": "underscore", "-": "dash", "+": "plus"}.get(tok, tok))
    return " ".join(out)


def _year_en(text: str, start: int) -> bool:
    words = re.findall(r"[A-Za-z]+", text[max(0, start - 12) : start])
    return bool(words) and words[-1].lower() in _YEAR_WORDS


def _number(m: re.Match[str], c: Ctx) -> str:
    """Any other number: digits attached to letters, codes, integers, decimals, 3000+."""
    sign, num, plus = m.group(1), m.group(2), m.group(3)
    text, start, end = c.text, m.start(2), m.end(2)
    before, after = text[start - 1 : start], text[end : end + 1]
    prev = text[m.start() - 1 : m.start()]
    if sign and prev.isascii() and prev.isalnum():
        return None  # a hyphen after a word (GPT-5): keep it, read the number on its own
    plain = num.replace(",", "")
    glued = before.isascii() and before.isalpha() or after.isascii() and after.isalpha()
    context = text[max(0, m.start() - 8) : m.start()]
    integer = "." not in plain
    zero_padded = len(plain) > 1 and plain[0] == "0" and not re.match(r"\s?[月日号时点分秒]", text[end:])
    keyword = len(plain) >= 3 and c.config.digit_keywords and any(k in context for k in _DIGIT_KEYWORDS)
    code = (
        integer
        and glued
        and len(plain) >= 3
        and int(plain) % 100 != 0
        and not (c.lang == "en" and len(plain) == 4)
    )
    as_digits = integer and (zero_padded or len(plain) >= 12 or keyword or code)
    neg = sign == "-"
    if c.lang == "zh":
        if (
            c.config.bare_codes_as_digits
            and integer
            and "," not in num
            and len(plain) >= 3
            and int(plain) % 1000
            and not re.match(rf"\+?\s?[{CJK_CLASS}]", text[end:])
        ):
            as_digits = True
        if as_digits:
            word = zh.digits(plain, c.config.glued_one if glued else "一")
        elif "." in plain:
            word = zh.decimal(plain)
        else:
            liang = c.liang and plain == "2" and (prev != "第" or c.config.liang_after_di) and not glued
            liang = liang and any(text.startswith(w, end + (plus is not None)) for w in zh.LIANG_NEXT)
            word = "两" if liang else zh.cardinal(int(plain))
        return ("负" if neg else "") + word + (c.config.plus_zh if plus else "")
    if as_digits:
        word = en.digits(plain)
    elif "." in plain:
        word = _en_dec(plain, c)
    elif len(plain) == 4 and "," not in num and (glued or is_year(int(plain)) and _year_en(text, m.start())):
        word = en.year(int(plain))
    else:
        word = en.cardinal(int(plain), c.hundred_and)
    return ("minus " if neg else "") + word + (" plus" if plus else "")


_SYMBOLS = {"&": ("和", "and"), "+": ("加", "plus"), "=": ("等于", "equals"), "@": ("at", "at"),
            "×": ("乘", "times"), "÷": ("除以", "divided by"), "%": ("百分号", "percent")}  # fmt: skip


def _symbol(m: re.Match[str], c: Ctx) -> str:
    zh_word, en_word = _SYMBOLS[m.group(0)]
    return zh_word if c.lang == "zh" else f" {en_word} "


def _point_digits(m: re.Match[str], c: Ctx) -> str:
    """A dot between a letter and digits (M.2): "M point two"."""
    return "点" + zh.digits(m.group(1)) if c.lang == "zh" else "point " + en.digits(m.group(1))


def _digits(m: re.Match[str], c: Ctx) -> str:
    """Last resort, so that no digit survives normalisation."""
    return zh.digits(m.group(0)) if c.lang == "zh" else en.digits(m.group(0))


def _r(name: str, pattern: str, handler: Callable[[re.Match[str], Ctx], str | None]) -> Rule:
    return Rule(name, re.compile(pattern), handler)


RULES: tuple[Rule, ...] = (
    _r(
        "email", r"(?<![A-Za-z0-9_.])[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", _email
    ),
    _r("date_ymd", r"(?<![\d.])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d|\.\d)([日号])?", ymd),
    _r("date_mdy", r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)", mdy),
    _r("date_zh", r"(?<!\d)(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})([日号]))?)?", zh_date_words),
    _r("month_day_zh", r"(?<!\d)(\d{1,2})月(\d{1,2})([日号])", month_day),
    _r(
        "date_en",
        r"(?<![A-Za-z])(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
        r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?!\d)"
        r"(?:,?\s+(\d{4})(?!\d))?",
        en_month_name,
    ),
    _r(
        "time",
        rf"(?<![\d:.])([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?![\d:])(?:{AMPM})?",
        time_of_day,
    ),
    _r("time_ampm", rf"(?<![\d:.])(1[0-2]|0?[1-9])()(){AMPM}", time_of_day),
    _r(
        "phone",
        r"(?<![\d-])(?:(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}|0\d{2,3}-\d{7,8}|[48]00-?\d{3}-?\d{4}"
        r"|\+\d{1,3}[- ]\d{2,4}[- ]\d{3,4}[- ]?\d{0,4}|\(?\d{3}\)?[- ]\d{3}-\d{4})(?![\d-])",
        _phone,
    ),
    _r(
        "money",
        rf"(?<![A-Za-z0-9_.])(-?)([¥$€£])\s?({_NUM})(\s?(?:万亿|亿|万|千|百万|million|billion|thousand|trillion|bn|k|K|M|B)"
        r"(?![A-Za-z]))?",
        _money,
    ),
    _r(
        "percent",
        r"(?<![A-Za-z0-9_.])(-?\d+(?:\.\d+)?)%?(?:\s?[-~到至]\s?(-?\d+(?:\.\d+)?))?\s?([%‰])",
        _percent,
    ),
    _r(
        "expression",
        r"(?<![A-Za-z0-9_.])\d+(?:\.\d+)?(?:\s?[-+×x*/÷]\s?\d+(?:\.\d+)?)+\s?=\s?\d+(?:\.\d+)?",
        _expression,
    ),
    _r("decade", r"(?<![A-Za-z0-9_.])(\d\d)?(\d)0s(?![A-Za-z])", _decade),
    _r("measure", rf"(?<![A-Za-z0-9_.])(-?)({_NUM})({UNIT_PATTERN})", _measure),
    _r("fraction", r"(?<![A-Za-z0-9_./])(\d+)/(\d+)(?![\d/])", _fraction),
    _r("ordinal_en", r"(?<![A-Za-z0-9_.])(\d+)(?:st|nd|rd|th)(?![A-Za-z])", _ordinal_en),
    _r("version", r"(?<![A-Za-z0-9_.])[vV]?\d+(?:\.\d+){2,}(?!\d|\.\d)", _version),
    _r(
        "range",
        r"(?<![A-Za-z0-9_.])(\d+(?:\.\d+)?)\s?[-~到至]\s?(\d+(?:\.\d+)?)(?!\d|[.:]\d)(?!\s?[%‰])",
        _range,
    ),
    _r("ratio", r"(?<![A-Za-z0-9_.:])(\d+):(\d+)(?![\d:])", _ratio),
    _r("number", rf"(?<![\d.,])(-?)({_NUM})(\+(?!\d))?", _number),
    _r("point_digits", r"(?<=[A-Za-z])\.(\d+)(?!\d|\.\d)", _point_digits),
    _r("symbol", r"[&+=@×÷%]", _symbol),
    _r("digits", r"\d+", _digits),
)
