"""Character classes shared by the text frontend: CJK, control placeholders, punctuation, width."""

from __future__ import annotations

import re

# Han ideographs (BMP blocks, compatibility ideographs, extension planes).
CJK_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Private-use code points stand for user-locked readings (one per lock, see controls.py).
PLACEHOLDER_BASE = 0xE000
PLACEHOLDER_CLASS = r"\ue000-\uefff"
# Characters that count as Chinese context: ideographs and lock placeholders.
ZH_CLASS = CJK_CLASS + PLACEHOLDER_CLASS
ZH_RE = re.compile(f"[{ZH_CLASS}]")
LATIN_RE = re.compile(r"[A-Za-z]")

# Sentence-final punctuation (a segment may end here) and clause punctuation (a weaker cut).
SENTENCE_END = set("。！？!?…；;")
CLAUSE_END = set("，、,：:")
# Punctuation class -> pause token name used by the phone vocabulary.
PUNCT_CLASS = {
    "，": ",", ",": ",", "、": ",", "；": ",", ";": ",", "：": ",", ":": ",",
    "。": ".", ".": ".", "！": "!", "!": "!", "？": "?", "?": "?", "…": "…",
}  # fmt: skip


def is_cjk(ch: str) -> bool:
    """True for a Han ideograph."""
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3134F


def is_placeholder(ch: str) -> bool:
    """True for a lock placeholder (a user-fixed reading standing in the text)."""
    return PLACEHOLDER_BASE <= ord(ch) <= 0xEFFF


def is_zh(ch: str) -> bool:
    """True for anything read as Chinese: an ideograph or a lock placeholder."""
    return is_cjk(ch) or is_placeholder(ch)


def placeholder(index: int) -> str:
    """The placeholder character of lock number ``index``."""
    if index > 0xFFF:
        raise ValueError("too many pinyin controls in one text (at most 4096)")
    return chr(PLACEHOLDER_BASE + index)


def placeholder_index(ch: str) -> int:
    return ord(ch) - PLACEHOLDER_BASE


# Full-width forms that are converted everywhere (digits, letters, math and currency signs).
_ALWAYS_HALF = set("０１２３４５６７８９％＋－／＝＜＞＄＃＆＠＊") | {chr(c) for c in range(0xFF21, 0xFF3B)}
_ALWAYS_HALF |= {chr(c) for c in range(0xFF41, 0xFF5B)}
# Full-width punctuation kept in Chinese text, but made half-width between digits (１２：３０, ３．５).
# Not the comma: "3，2，1" between digits is a list, not a thousands separator.
_BETWEEN_DIGITS = {"：": ":", "．": "."}
_OTHER = {"\u3000": " ", "￥": "¥", "−": "-", "–": "-", "﹣": "-", "～": "~", "〜": "~", "\u00a0": " "}


def to_half_width(text: str) -> str:
    """Full-width digits, letters and symbols to ASCII; Chinese punctuation stays, except
    between two digits where it is a separator (``１２：３０`` -> ``12:30``)."""
    out = []
    for i, ch in enumerate(text):
        if ch in _ALWAYS_HALF:
            ch = chr(ord(ch) - 0xFEE0)
        elif ch in _OTHER:
            ch = _OTHER[ch]
        elif ch in _BETWEEN_DIGITS and 0 < i < len(text) - 1:
            prev, nxt = out[-1], text[i + 1]
            nxt = chr(ord(nxt) - 0xFEE0) if nxt in _ALWAYS_HALF else nxt
            if prev.isdigit() and nxt.isdigit() and prev.isascii() and nxt.isascii():
                ch = _BETWEEN_DIGITS[ch]
        out.append(ch)
    return "".join(out)
