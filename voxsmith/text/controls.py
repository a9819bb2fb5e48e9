"""Pronunciation controls in the input text: inline pinyin, ``‹字|pin1›`` annotations, glossary.

Each control becomes a *lock*: a fixed reading that normalisation and G2P must not touch. In
the working text a lock is one private-use placeholder character, which the normaliser treats
as Chinese context (numbers next to it are read in Chinese) and G2P reads with the fixed pinyin.

Inline pinyin follows the official convention: a toned syllable in Latin letters inside Chinese
text stands for one syllable (``他在银HANG2工作``, ``xuan4``, ``lv4``), case-insensitive, ``v``
for ü. Detection needs Chinese context: the token touches a Chinese character, or stands alone
in a text that contains Chinese. A letter+digit token that touches Chinese, is not a known
English word and is not a valid syllable (``qzz2``, ``xing7``) is an error naming it and its
position; upper-case acronyms (``MP3``), mixed-case names (``CosyVoice2``), English words
(``beta1``) and single letters (``A4``) are left to the normaliser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voxsmith.errors import TextError
from voxsmith.text.chars import ZH_RE, is_cjk, is_placeholder, placeholder, placeholder_index
from voxsmith.text.glossary import Glossary
from voxsmith.text.pinyin import canonical_toneless, parse_toned

# A run of letter+digit pairs, e.g. "hang2" or "yin2hang2", not glued to other letters/digits.
_TOKEN = r"(?<![A-Za-z0-9ü])(?:[A-Za-zü]+[0-9])+(?![A-Za-z0-9])"
_ANNOTATION = r"‹(?P<chars>[^‹›|]*)\|(?P<py>[^‹›]*)›"
_SCAN_RE = re.compile(f"{_ANNOTATION}|(?P<tok>{_TOKEN})|(?P<stray>[‹›])")
_PAIR_RE = re.compile(r"([A-Za-zü]+)([0-9])")
# Letter+digit names that are common in Chinese text and are not pinyin attempts.
_NOT_PINYIN = {"mp", "wifi", "h", "x", "v", "win", "ios", "usb", "gpt", "top", "no"}


@dataclass(frozen=True)
class Lock:
    """A reading the user fixed. ``display`` appears in the normalised text."""

    display: str  # the characters, or the pinyin as the user wrote it ("HANG2")
    readings: tuple[str, ...]  # canonical toned syllables, one per syllable
    chars: str = ""  # the Chinese characters these readings belong to ("" for bare pinyin)

    def syllable_texts(self) -> list[str]:
        """The text of each syllable for the ``syllables`` list: a character or its pinyin."""
        if self.chars:
            return list(self.chars)
        parts = _PAIR_RE.findall(self.display)
        if len(parts) == len(self.readings):
            return [a + b for a, b in parts]
        return list(self.readings)


@dataclass
class ControlledText:
    """Input text with every lock replaced by a placeholder character."""

    text: str
    locks: list[Lock] = field(default_factory=list)

    def expand(self, text: str | None = None) -> str:
        """Replace placeholders by what the user sees (characters or the pinyin as written)."""
        src = self.text if text is None else text
        return "".join(self.locks[placeholder_index(c)].display if is_placeholder(c) else c for c in src)


def _is_english_word(letters: str) -> bool:
    from voxsmith.text.g2p_en import in_dictionary

    return in_dictionary(letters.lower())


def _inline_token(tok: str, start: int, text: str, has_zh: bool, strict: bool) -> Lock | None:
    """Decide whether a letter+digit token is inline pinyin; raise when it is a broken attempt."""
    before = text[start - 1] if start > 0 else ""
    after = text[start + len(tok)] if start + len(tok) < len(text) else ""
    touches_zh = any(c and (is_cjk(c) or c in "‹›" or is_placeholder(c)) for c in (before, after))
    pairs = [(m.group(1), m.group(2), m.start()) for m in _PAIR_RE.finditer(tok)]
    if not has_zh:
        return None
    all_valid = all(canonical_toneless(a) and d in "12345" and len(a) > 1 for a, d, _ in pairs)
    if all_valid:
        return Lock(tok, tuple(parse_toned(a + d) for a, d, _ in pairs))
    if not touches_zh or not strict:
        return None
    for a, d, off in pairs:  # a real syllable with a tone outside 1-5 is always an error
        if len(a) > 1 and canonical_toneless(a) and d not in "12345":
            parse_toned(a + d, start + off)
    if len(pairs) == 1:
        letters = pairs[0][0]
        if (
            len(letters) == 1
            or len(letters) > 6
            or letters.isupper()
            and canonical_toneless(letters) is None
            or not (letters.islower() or letters.isupper())
            or letters.lower() in _NOT_PINYIN
            or _is_english_word(letters)
        ):
            return None
    for a, d, off in pairs:  # first broken syllable, with its position in the original text
        parse_toned(a + d, start + off)
    return None  # unreachable: a token that is not all-valid has a broken syllable


def _annotation(chars: str, py: str, start: int) -> Lock:
    readings = py.split()
    if not chars or not all(is_cjk(c) for c in chars):
        raise TextError(
            f"pinyin annotation at character {start}: ‹{chars}|{py}› must annotate Chinese characters"
        )
    if len(readings) != len(chars):
        raise TextError(
            f"pinyin annotation at character {start}: ‹{chars}|{py}› has {len(chars)} characters but "
            f"{len(readings)} syllables"
        )
    offset = start + 2 + len(chars)
    fixed = []
    for r in readings:
        fixed.append(parse_toned(r, offset))
        offset += len(r) + 1
    return Lock(chars, tuple(fixed), chars)


def parse_controls(
    text: str, glossary: Glossary | None = None, lang: str = "zh", strict: bool = True
) -> ControlledText:
    """Find annotations, inline pinyin and glossary terms; return text with placeholders.

    ``lang`` selects the spoken form of glossary entries that give one per language. With
    ``strict=False`` (the official behaviour) a broken syllable such as ``qzz2`` is left as
    text instead of raising.
    """
    has_zh = bool(ZH_RE.search(text))
    pieces: list[str | Lock] = []
    last = 0
    for m in _SCAN_RE.finditer(text):
        if m.group("stray"):
            raise TextError(f"unmatched {m.group('stray')!r} at character {m.start()}: write ‹字|pin1›")
        lock = (
            _annotation(m.group("chars"), m.group("py"), m.start())
            if m.group("tok") is None
            else _inline_token(m.group("tok"), m.start(), text, has_zh, strict)
        )
        if lock is None:
            continue
        pieces += [text[last : m.start()], lock]
        last = m.end()
    pieces.append(text[last:])
    if glossary is not None and glossary.entries:
        pieces = _apply_glossary(pieces, glossary, lang)
    out = ControlledText("")
    parts = []
    for p in pieces:
        if isinstance(p, Lock):
            parts.append(placeholder(len(out.locks)))
            out.locks.append(p)
        else:
            parts.append(p)
    out.text = "".join(parts)
    return out


def _apply_glossary(pieces: list[str | Lock], glossary: Glossary, lang: str) -> list[str | Lock]:
    pattern = glossary.pattern()
    assert pattern is not None
    out: list[str | Lock] = []
    for p in pieces:
        if isinstance(p, Lock):
            out.append(p)
            continue
        last = 0
        for m in pattern.finditer(p):
            entry = glossary.lookup(m.group(0))
            out.append(p[last : m.start()])
            if entry.pinyin:
                chars = m.group(0) if all(is_cjk(c) for c in m.group(0)) else ""
                out.append(Lock(m.group(0) if chars else " ".join(entry.pinyin), entry.pinyin, chars))
            else:
                out.append(entry.spoken_for(lang) or m.group(0))
            last = m.end()
        out.append(p[last:])
    return out
