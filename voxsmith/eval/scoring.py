"""Text normalisation for ASR scoring, and the error rates (CER for zh, WER for en).

Both the intended text and the transcript go through the same normalisation, so that
writing differences are not counted as recognition errors:

- en: NFKC, lower case, ``&`` -> and, apostrophes dropped (don't -> dont), hyphens and
  punctuation -> spaces, numbers spelled out (``5`` and ``five`` match, ``22`` and
  ``twenty two``, ``3.5`` and ``three point five``, ``1st`` and ``first``, ``5%`` and
  ``five percent``). Tokens are words.
- zh: NFKC (full-width -> half-width), Traditional -> Simplified (hanziconv), numbers
  read out in Chinese (``2024年`` -> 二零二四年, ``50%`` -> 百分之五十, other numbers as
  cardinals/decimals), punctuation and spaces dropped. Tokens are single Hanzi, and each
  Latin word of mixed zh/en text counts as one token (normalised as in en).

Text with digits is first read by voxsmith's own frontend normaliser (the one that wrote the
corpus' ``normalized`` text), so ``1969`` in a transcript becomes ``nineteen sixty nine`` as the
speaker said it, dates and times as dates and times. Compounds written apart on one side and
together on the other (``sea shells`` / ``seashells``) are split alike before scoring (en).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from voxsmith.errors import ConfigError, TextError
from voxsmith.eval.common import require

LANGS = ("zh", "en")
_HANZI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HANZI_RE = re.compile(f"[{_HANZI}]")
_EN_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?%?")
_ZH_YEAR = re.compile(r"(\d{4})(?=年)")
_DIGIT = re.compile(r"\d")
_MAX_CARDINAL_DIGITS = 15  # longer digit runs (ids, phone numbers) are read digit by digit
_TOKEN_ZH = re.compile(f"[{_HANZI}]|[a-z0-9]+")


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is one the judges score, else raise ``ConfigError``."""
    if lang not in LANGS:
        raise ConfigError(f"language {lang!r} is not supported by the judges (use one of {', '.join(LANGS)})")
    return lang


def guess_lang(text: str) -> str:
    """zh if the text has any Hanzi, else en."""
    return "zh" if _HANZI_RE.search(text) else "en"


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (hanziconv); other characters are kept."""
    hanziconv = require("hanziconv", "hanziconv", "Chinese ASR scoring (Traditional -> Simplified)")
    return hanziconv.HanziConv.toSimplified(text)


def _en_number(m: re.Match[str]) -> str:
    from voxsmith.text import numbers_en

    raw = m.group(0)
    percent = raw.endswith("%")
    num = raw.rstrip("%").replace(",", "")
    whole = num.partition(".")[0]
    if len(whole) > _MAX_CARDINAL_DIGITS:
        words = numbers_en.digits(num)
    elif "." in num:
        words = numbers_en.decimal(num)
    else:
        words = numbers_en.cardinal(int(num))
    return f" {words}{' percent' if percent else ''} "


def _zh_year(m: re.Match[str]) -> str:
    from voxsmith.text import numbers_zh

    return numbers_zh.year(m.group(1))


def _zh_number(m: re.Match[str]) -> str:
    from voxsmith.text import numbers_zh

    raw = m.group(0)
    num = raw.rstrip("%").replace(",", "")
    if raw.endswith("%"):
        return numbers_zh.percent(num)
    if len(num.partition(".")[0]) > _MAX_CARDINAL_DIGITS:
        return numbers_zh.digits(num)
    return numbers_zh.decimal(num)


def _en_words(text: str) -> str:
    """Lower-cased English with numbers spelled out and punctuation turned into spaces."""
    from voxsmith.text import numbers_en

    text = text.lower().replace("&", " and ")
    text = _EN_ORDINAL.sub(lambda m: f" {numbers_en.ordinal(int(m.group(1)))} ", text)
    text = _NUMBER.sub(_en_number, text)
    text = re.sub(r"['\u2019`]", "", text)
    return "".join(ch if ch.isalnum() else " " for ch in text)


@functools.cache
def _frontend_normalizer():  # noqa: ANN202 - imported lazily: the text package is heavy
    from voxsmith.text.normalize import Normalizer

    return Normalizer()


def normalize_tokens(text: str, lang: str) -> list[str]:
    """Scoring tokens of ``text``: words for en, Hanzi (and Latin words) for zh."""
    check_lang(lang)
    text = unicodedata.normalize("NFKC", text)
    if _DIGIT.search(text):
        text = _frontend_normalizer().normalize(text, lang).text
    if lang == "en":
        return _en_words(text).split()
    text = to_simplified(text)
    text = _ZH_YEAR.sub(_zh_year, text)
    text = _NUMBER.sub(_zh_number, text)
    return _TOKEN_ZH.findall(_en_words(text))


def display_text(text: str, lang: str) -> str:
    """A transcript as shown to people: zh in Simplified without punctuation (numbers keep
    their decimal point and %; spaces only between Latin words), en as recognised, trimmed."""
    check_lang(lang)
    text = unicodedata.normalize("NFKC", text).strip()
    if lang == "en":
        return re.sub(r"\s+", " ", text)
    text = to_simplified(text)
    pieces = re.findall(f"[{_HANZI}]|\\d+(?:[.,]\\d+)*%?|[^\\W_]+", text)
    out = ""
    for piece in pieces:
        if out and not _HANZI_RE.match(piece) and not _HANZI_RE.match(out[-1]):
            out += " "
        out += piece
    return out


@dataclass(frozen=True)
class ErrorCounts:
    """Edit operations between reference and hypothesis tokens; ``rate`` = edits / ref_len."""

    substitutions: int
    deletions: int
    insertions: int
    ref_len: int

    @property
    def edits(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        return self.edits / self.ref_len if self.ref_len else 0.0

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        """Sum counts, for a corpus-level (micro-averaged) rate."""
        return ErrorCounts(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.ref_len + other.ref_len,
        )


def token_errors(ref: list[str], hyp: list[str]) -> ErrorCounts:
    """Levenshtein alignment of two token lists (jiwer). ``ref`` must not be empty."""
    if not ref:
        raise TextError("cannot score against an empty reference text (nothing left after normalisation)")
    if not hyp:
        return ErrorCounts(0, len(ref), 0, len(ref))
    jiwer = require("jiwer", "jiwer", "ASR scoring")
    # Tokens never contain spaces, so jiwer's default whitespace split restores the lists.
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return ErrorCounts(out.substitutions, out.deletions, out.insertions, len(ref))


def split_compounds(ref: list[str], hyp: list[str]) -> tuple[list[str], list[str]]:
    """Spell compounds alike on both sides: a word on one side that the other side writes as
    two adjacent words (``riverbank`` / ``river bank``) is split into those two words."""

    def split(tokens: list[str], other: list[str]) -> list[str]:
        pairs = {a + b: (a, b) for a, b in zip(other, other[1:], strict=False)}
        present = set(other)
        out: list[str] = []
        for tok in tokens:
            out.extend(pairs[tok] if tok in pairs and tok not in present else (tok,))
        return out

    return split(ref, hyp), split(hyp, ref)


def score_text(ref_text: str, hyp_text: str, lang: str) -> ErrorCounts:
    """Errors of a transcript against the intended text, tokens per ``normalize_tokens``
    (en: compounds split alike on both sides, see ``split_compounds``)."""
    ref = normalize_tokens(ref_text, lang)
    if not ref:
        raise TextError(f"reference text {ref_text!r} has no words or characters to score")
    hyp = normalize_tokens(hyp_text, lang)
    if lang == "en":
        ref_split, hyp = split_compounds(ref, hyp)
        # the rate stays per reference word as written: a split compound adds no reference words
        counts = token_errors(ref_split, hyp)
        return ErrorCounts(counts.substitutions, counts.deletions, counts.insertions, len(ref))
    return token_errors(ref, hyp)


def cer(ref_text: str, hyp_text: str) -> float:
    """Chinese character error rate (Latin words in mixed text count as one unit)."""
    return score_text(ref_text, hyp_text, "zh").rate


def wer(ref_text: str, hyp_text: str) -> float:
    """English word error rate."""
    return score_text(ref_text, hyp_text, "en").rate


def metric_name(lang: str) -> str:
    """``cer`` for zh, ``wer`` for en."""
    return "cer" if check_lang(lang) == "zh" else "wer"


def count_units(text: str, lang: str) -> int:
    """Spoken units of ``text`` for speaking rate: syllables (one per Hanzi, numbers read
    out; a Latin word counts one) for zh, words for en."""
    return len(normalize_tokens(text, lang))
