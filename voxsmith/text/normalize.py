"""Text normalisation for Chinese, English and mixed text: written numbers become words.

Rule-based and offline (regexes + number-to-words, see normalize_rules.py): it loads in
milliseconds, where WeTextProcessing needs pynini (~700 MB) and builds its Chinese FST for
~38 s, and cn2an misreads cases such as ``25.5℃``.

Language of each number: the clause it sits in (text between punctuation marks) decides; a
clause with Chinese characters reads numbers in Chinese (``我买了iPhone 15`` -> 十五), a clause
with only Latin letters in English; a clause with neither follows the whole text. Passing
``lang`` forces one language for every number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voxsmith.errors import TextError
from voxsmith.text.chars import LATIN_RE, ZH_RE, to_half_width
from voxsmith.text.normalize_config import Ctx, NormalizerConfig
from voxsmith.text.normalize_rules import RULES

__all__ = ["NormalizedText", "Normalizer", "NormalizerConfig", "text_language"]

_ABBREVIATIONS = (
    (r"\bDr\.(?=\s*[A-Z])", "Doctor"),
    (r"\bMr\.", "Mister"),
    (r"\bMrs\.", "Missus"),
    (r"\bMs\.", "Miss"),
    (r"\bProf\.(?=\s*[A-Z])", "Professor"),
    (r"\bSt\.(?=\s+[A-Z])", "Saint"),
    (r"(?<=[a-z] )St\.", "Street."),
    (r"\bNo\.\s?(?=\d)", "number "),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\betc\.", "et cetera."),
    (r"\be\.g\.", "for example"),
    (r"\bi\.e\.", "that is"),
    (r"\bJr\.", "Junior."),
    (r"\bapprox\.", "approximately"),
)
_IS_CONTRACTION = re.compile(r"\b(what|where|who|which|how|t?here|it|s?he|that|this)'s", re.IGNORECASE)
_ELLIPSIS = re.compile(r"\.{3,}|。{3,}|…+|,{3,}|，{3,}")
_STOPS = set("，。！？；：、,!?;\n")


@dataclass
class NormalizedText:
    """Normalised text and the spans of expanded numbers, which segmentation must not split."""

    text: str
    atoms: list[tuple[int, int]] = field(default_factory=list)


def text_language(text: str) -> str:
    """``"zh"`` when the text has any Chinese (or locked pinyin), ``"en"`` when it has only
    Latin letters, ``"zh"`` when it has neither."""
    if ZH_RE.search(text):
        return "zh"
    return "en" if LATIN_RE.search(text) else "zh"


def _clause_language(text: str, start: int, end: int) -> str | None:
    a = start
    while a > 0 and not _is_stop(text, a - 1):
        a -= 1
    b = end
    while b < len(text) and not _is_stop(text, b):
        b += 1
    clause = text[a:start] + " " + text[end:b]
    if ZH_RE.search(clause):
        return "zh"
    return "en" if LATIN_RE.search(clause) else None


def _is_stop(text: str, i: int) -> bool:
    ch = text[i]
    if ch in _STOPS:
        return True
    return ch in ".:" and (i + 1 == len(text) or text[i + 1] == " ")


def _prepare(text: str, config: NormalizerConfig) -> str:
    text = to_half_width(text)
    text = _ELLIPSIS.sub("…", text)
    if config.expand_is_contractions:
        text = _IS_CONTRACTION.sub(r"\1 is", text)
    if config.abbreviations:
        for pattern, word in _ABBREVIATIONS:
            text = re.sub(pattern, word, text)
    # A line break without punctuation before it still ends a sentence.
    joined: list[str] = []
    for ln in (ln.strip() for ln in text.splitlines()):
        if not ln:
            continue
        if joined and joined[-1][-1] not in "，。！？；：、,.!?;:…":
            joined[-1] += "。" if ZH_RE.search(joined[-1][-1:]) else "."
        joined.append(ln)
    text = "".join(
        ("" if i == 0 or ZH_RE.match(ln) or joined[i - 1][-1] in "，。！？；：、…" else " ") + ln
        for i, ln in enumerate(joined)
    )
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


class Normalizer:
    """Chinese/English text normaliser. ``normalize(text)`` returns a ``NormalizedText``."""

    def __init__(self, config: NormalizerConfig | None = None):
        self.config = config or NormalizerConfig()

    def normalize(self, text: str, lang: str | None = None) -> NormalizedText:
        """Expand numbers, dates, times, money, units, symbols; unify width and ellipses.

        ``lang`` (``"zh"``/``"en"``) forces the reading language of every number.
        """
        if lang not in (None, "zh", "en"):
            raise TextError(f"unknown language {lang!r}: expected 'zh', 'en' or None (automatic)")
        src = _prepare(text, self.config)
        fallback = text_language(src)
        out: list[str] = []
        atoms: list[tuple[int, int]] = []
        pos, n = 0, 0  # position in src, length of output so far
        while pos < len(src):
            ch = src[pos]
            hit = None
            if ch.isdigit() or ch in "-¥$€£&+=@×÷%." or ch.isascii() and ch.isalpha():
                hit = self._try_rules(src, pos, lang, fallback, out)
            if hit is None:
                out.append(ch)
                pos, n = pos + 1, n + 1
                continue
            end, repl = hit
            atoms.append((n, n + len(repl)))
            out.append(repl)
            pos, n = end, n + len(repl)
        return NormalizedText("".join(out), atoms)

    def _try_rules(
        self, src: str, pos: int, lang: str | None, fallback: str, out: list[str]
    ) -> tuple[int, str] | None:
        for rule in RULES:
            m = rule.pattern.match(src, pos)
            if not m or m.end() == pos:
                continue
            use = lang or _clause_language(src, m.start(), m.end()) or fallback
            ctx = Ctx(src, use, self.config)
            repl = rule.handler(m, ctx)
            if repl is None:
                continue
            if use == "en":
                repl = repl.strip()
                prev = out[-1][-1:] if out else ""
                nxt = src[m.end() : m.end() + 1]
                if prev.isascii() and prev.isalnum():
                    repl = " " + repl
                if nxt.isascii() and nxt.isalnum():
                    repl += " "
            return m.end(), repl
        return None
