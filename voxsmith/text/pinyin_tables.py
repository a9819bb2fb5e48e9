"""pypinyin's character and phrase readings as tone-number tables, cached as plain text.

Importing pypinyin parses two JSON files (0.2-0.4 s); voxsmith converts them once to the
canonical toned form (``hang2``, ``lv4``, 5 = neutral) and reads the cached table afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from voxsmith.text.cache import cached_text, package_file, source_key


@dataclass(frozen=True)
class PinyinTables:
    """Readings from pypinyin's dictionaries, in voxsmith's canonical toned form.

    ``char_readings(ch)``: pypinyin's readings of a character (first = its default);
    ``phrase(word)``: one reading per character of a dictionary word (lexical tones).
    """

    chars: dict[str, str]  # character -> "r1,r2,..."
    phrases: dict[str, str]  # word -> "r1 r2 ..."

    def char_readings(self, ch: str) -> tuple[str, ...]:
        raw = self.chars.get(ch)
        return tuple(raw.split(",")) if raw else ()

    def phrase(self, word: str) -> tuple[str, ...] | None:
        raw = self.phrases.get(word)
        return tuple(raw.split(" ")) if raw else None


def lexical(char: str, syllable: str) -> str:
    """Undo the tone sandhi of 一/不 that pypinyin's phrase table writes (一个 yí -> yi1)."""
    if char == "一" and syllable in ("yi2", "yi4"):
        return "yi1"
    if char == "不" and syllable == "bu2":
        return "bu4"
    return syllable


def _build() -> str:
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT
    from pypinyin.contrib.tone_convert import to_tone3

    @cache
    def tone3(marked: str) -> str:
        return to_tone3(marked, v_to_u=False, neutral_tone_with_five=True)

    chars, char_readings = [], []
    for code, marked in PINYIN_DICT.items():
        chars.append(chr(code))
        char_readings.append(",".join(dict.fromkeys(tone3(p) for p in marked.split(","))))
    words, word_readings = [], []
    for word, readings in PHRASES_DICT.items():
        if len(readings) == len(word) and " " not in word:
            words.append(word)
            word_readings.append(
                " ".join(lexical(c, tone3(r[0])) for c, r in zip(word, readings, strict=True))
            )
    # Four lines; each splits with one str.split, so loading is a few dict(zip(...)) calls.
    return "\n".join(["".join(chars), "|".join(char_readings), " ".join(words), "|".join(word_readings)])


@lru_cache(maxsize=1)
def pinyin_tables() -> PinyinTables:
    """The process-wide tables (built from pypinyin once, then read from the cache)."""
    src = package_file("pypinyin", "phrases_dict.json")
    chars, char_readings, words, word_readings = cached_text(
        f"pinyin-v2-{source_key(src)}.txt", _build
    ).split("\n")
    return PinyinTables(
        dict(zip(chars, char_readings.split("|"), strict=True)),
        dict(zip(words.split(" "), word_readings.split("|"), strict=True)),
    )
