"""Chinese G2P: toned pinyin per character, with polyphone disambiguation.

Readings come from, in order of precedence:

1. context rules (``data/polyphone_rules.tsv``) for polyphonic characters: a regex on the text
   before and after the character decides (很长 -> chang2, 长大 -> zhang3, 跑得快 -> de5);
2. phrase readings: voxsmith's own phrase table (``data/phrases.tsv``) over pypinyin's phrase
   dictionary, on the most probable word segmentation (jieba's word frequencies, lexicon.py);
3. the character's default reading (``data/polyphones.tsv``, else pypinyin's first reading).

Tones are lexical (1-5, 5 = neutral): 一 and 不 keep yi1/bu4 (tone sandhi is left to the
model), neutral tones come from the phrase readings (东西 dong1 xi5, 商量 shang1 liang5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from voxsmith.text.chars import CJK_CLASS, is_cjk
from voxsmith.text.pinyin_tables import pinyin_tables

_CONTEXT = 12  # characters of context each rule sees on each side


@dataclass(frozen=True)
class Rule:
    """Read ``char`` as ``reading`` when the text before matches ``left`` (anchored at its end)
    and the text after matches ``right`` (anchored at its start)."""

    char: str
    reading: str
    left: re.Pattern[str] | None
    right: re.Pattern[str] | None
    inside_words: bool  # also applies inside dictionary words ("*" flag in the file)

    def matches(self, before: str, after: str) -> bool:
        if self.left is not None and not self.left.search(before):
            return False
        return self.right is None or bool(self.right.match(after))


def _data(name: str) -> list[list[str]]:
    text = resources.files("voxsmith.text").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def _rules() -> dict[str, list[Rule]]:
    rules: dict[str, list[Rule]] = {}
    for cols in _data("polyphone_rules.tsv"):
        cols += [""] * (5 - len(cols))
        char, reading, left, right, flags = (c.strip() for c in cols[:5])
        rule = Rule(
            char,
            reading,
            re.compile(f"(?:{left})$") if left else None,
            re.compile(right) if right else None,
            "*" in flags,
        )
        rules.setdefault(char, []).append(rule)
    return rules


@lru_cache(maxsize=1)
def _phrases() -> dict[str, tuple[str, ...]]:
    return {cols[0]: tuple(cols[1].split()) for cols in _data("phrases.tsv")}


@lru_cache(maxsize=1)
def _curated() -> dict[str, tuple[str, ...]]:
    """char -> readings, most common first (the first is the default)."""
    return {cols[0]: tuple(cols[1].split()) for cols in _data("polyphones.tsv")}


class _Union:
    """Membership in either of two dictionaries, without building a merged copy."""

    def __init__(self, a: dict, b: dict):
        self.a, self.b = a, b

    def __contains__(self, w: object) -> bool:
        return w in self.a or w in self.b


@lru_cache(maxsize=1)
def _known_phrases() -> _Union:
    return _Union(_phrases(), pinyin_tables().phrases)


@lru_cache(maxsize=1)
def _attested() -> dict[str, set[str]]:
    """char -> readings that occur in pypinyin's phrase dictionary (filters archaic readings)."""
    seen: dict[str, set[str]] = {}
    for word, readings in pinyin_tables().phrases.items():
        for ch, r in zip(word, readings.split(" "), strict=True):
            seen.setdefault(ch, set()).add(r)
    return seen


def polyphone_alternatives(char: str) -> list[str]:
    """The readings of a character in use today, most common first (``行`` -> ``["xing2", "hang2"]``).

    Curated for common polyphones (``data/polyphones.tsv``); for other characters pypinyin's
    reading list, keeping its first reading and the others only when some dictionary phrase
    uses them (archaic readings such as 他 tuo2 are left out) and are not just the neutral-tone
    form of a reading already listed (里 li5). One reading = not a polyphone.
    """
    if char in _curated():
        return list(_curated()[char])
    readings = pinyin_tables().char_readings(char)
    attested = _attested().get(char, set()) if len(readings) > 1 else set()
    out: list[str] = []
    for k, r in enumerate(readings):
        neutral_variant = r.endswith("5") and any(o[:-1] == r[:-1] for o in out)  # 里 li3 / li5
        if (k == 0 or r in attested) and not neutral_variant:
            out.append(r)
    return out


def is_polyphone(char: str) -> bool:
    return len(polyphone_alternatives(char)) > 1


def default_reading(char: str) -> str | None:
    """The reading used when neither a phrase nor a rule decides."""
    if char in _curated():
        return _curated()[char][0]
    readings = pinyin_tables().char_readings(char)
    return readings[0] if readings else None


class ChineseG2P:
    """Toned pinyin for runs of Chinese characters. Dictionaries load on first use."""

    def segment(self, run: str) -> list[str]:
        """Most probable word segmentation (jieba's frequencies; phrase-table words count as known)."""
        from voxsmith.text.lexicon import load_lexicon

        return load_lexicon().segment(run, _known_phrases())

    def word_readings(self, word: str) -> list[str]:
        """Readings of one word: phrase tables, else the longest known phrases inside it.

        Inside an unknown word the characters keep pypinyin's default reading (its phrase
        table only lists words whose reading differs from those defaults); a word of one
        character gets voxsmith's curated default.
        """
        own, tables = _phrases(), pinyin_tables()
        if word in own:
            return list(own[word])
        phrase = tables.phrase(word)
        if phrase is not None:
            return list(phrase)
        if len(word) == 1:
            return [default_reading(word) or ""]
        out: list[str] = []
        i = 0
        while i < len(word):
            for j in range(len(word), i + 1, -1):
                part = word[i:j]
                if part in own or part in tables.phrases:
                    out += self.word_readings(part)
                    i = j
                    break
            else:
                readings = tables.char_readings(word[i])
                out.append(readings[0] if readings else "")
                i += 1
        return out

    def convert(self, text: str) -> list[str | None]:
        """One toned syllable per character of ``text`` (None for non-Chinese characters).

        ``text`` is the whole normalised sentence: rules see context across punctuation-free
        neighbours, and non-Chinese characters split the runs that are segmented.
        """
        out: list[str | None] = [None] * len(text)
        single = [False] * len(text)
        for m in re.finditer(f"[{CJK_CLASS}]+", text):
            pos = m.start()
            for word in self.segment(m.group(0)):
                for k, r in enumerate(self.word_readings(word)):
                    out[pos + k] = r
                    single[pos + k] = len(word) == 1
                pos += len(word)
        rules = _rules()
        for i, ch in enumerate(text):
            if ch not in rules or out[i] is None:
                continue
            before, after = text[max(0, i - _CONTEXT) : i], text[i + 1 : i + 1 + _CONTEXT]
            for rule in rules[ch]:
                if (single[i] or rule.inside_words) and rule.matches(before, after):
                    out[i] = rule.reading
                    break
        return out

    def words(self, text: str) -> list[str]:
        """Word segmentation of a text (non-Chinese characters are one token each)."""
        out: list[str] = []
        for part in re.split(f"([{CJK_CLASS}]+)", text):
            if part and is_cjk(part[0]):
                out += self.segment(part)
            else:
                out += list(part)
        return out
