"""Mandarin syllables: the valid inventory, toned-syllable validation and initial/final split.

Canonical form used everywhere in voxsmith: lowercase ASCII, tone digit 1-5 (5 = neutral),
``v`` for ü after n/l (``lv4``), plain ``u`` after j/q/x/y (``xuan4``, ``jue2``), ``ea`` for ê.
This is pypinyin's ``Style.TONE3`` spelling, so dictionary output and user input compare equal.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from voxsmith.errors import TextError

# Zero-initial spellings: syllables starting with y/w carry their medial in the initial letter.
_Y_FINALS = {
    "yi": "i", "ya": "ia", "yan": "ian", "yang": "iang", "yao": "iao", "ye": "ie", "yin": "in",
    "ying": "ing", "yo": "io", "yong": "iong", "you": "iou", "yu": "v", "yuan": "van", "yue": "ve",
    "yun": "vn",
}  # fmt: skip
_W_FINALS = {
    "wu": "u", "wa": "ua", "wai": "uai", "wan": "uan", "wang": "uang", "wei": "uei", "wen": "uen",
    "weng": "ueng", "wo": "uo", "wong": "ueng",
}  # fmt: skip
INITIALS: tuple[str, ...] = (
    "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
    "zh", "ch", "sh", "r", "z", "c", "s",
)  # fmt: skip
# Finals after decomposition (ii = the vowel of zi/ci/si, iii = the vowel of zhi/chi/shi/ri).
FINALS: tuple[str, ...] = (
    "a", "o", "e", "ea", "ai", "ei", "ao", "ou", "an", "en", "ang", "eng", "ong", "er",
    "i", "ia", "ie", "iao", "iou", "ian", "in", "iang", "ing", "iong", "io",
    "u", "ua", "uo", "uai", "uei", "uan", "uen", "uang", "ueng",
    "v", "ve", "van", "vn", "ii", "iii", "m", "n", "ng",
)  # fmt: skip
TONED_RE = re.compile(r"^([a-zü]+)([0-9])$", re.IGNORECASE)


@lru_cache(maxsize=1)
def valid_syllables() -> frozenset[str]:
    """The toneless Mandarin syllables voxsmith accepts (canonical spelling), from ``data/syllables.txt``."""
    text = resources.files("voxsmith.text").joinpath("data/syllables.txt").read_text(encoding="utf-8")
    words = [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
    return frozenset(words)


def canonical_toneless(raw: str) -> str | None:
    """Canonical spelling of a toneless syllable, or None when it is not a Mandarin syllable.

    Accepts the spellings users write: any case, ``ü``/``v``/``u:`` for ü, ``jv``/``xvan`` for
    ``ju``/``xuan``, ``lue``/``nue`` for ``lve``/``nve``.
    """
    s = raw.lower().replace("u:", "v").replace("ü", "v")
    if s[:1] in ("j", "q", "x", "y"):
        s = s[0] + s[1:].replace("v", "u", 1)  # j/q/x/y + ü is written u
    if s in ("lue", "nue"):
        s = s[0] + "ve"
    if s == "ê":
        s = "ea"
    return s if s in valid_syllables() else None


def is_valid_toned(raw: str) -> bool:
    """Whether ``raw`` is one toned syllable such as ``hang2`` (tone 1-5)."""
    m = TONED_RE.match(raw)
    return bool(m) and m.group(2) in "12345" and canonical_toneless(m.group(1)) is not None


def parse_toned(raw: str, position: int | None = None) -> str:
    """Validate one toned syllable and return its canonical form (``XVAN4`` -> ``xuan4``).

    Raises ``TextError`` naming the syllable and, when given, its character position.
    """
    where = f" at character {position}" if position is not None else ""
    m = TONED_RE.match(raw)
    if not m:
        raise TextError(f"invalid pinyin {raw!r}{where}: expected letters followed by a tone digit 1-5")
    base, tone = m.group(1), m.group(2)
    syllable = canonical_toneless(base)
    if syllable is None:
        raise TextError(f"invalid pinyin syllable {raw!r}{where}: {base!r} is not a Mandarin syllable")
    if tone not in "12345":
        raise TextError(f"invalid pinyin {raw!r}{where}: tone must be 1-5 (5 = neutral), got {tone}")
    return syllable + tone


def split_syllable(toned: str) -> tuple[str, str]:
    """Split a canonical toned syllable into (initial, toned final); the initial may be ``""``.

    ``zhang3 -> ("zh", "ang3")``, ``yuan2 -> ("", "van2")``, ``xu1 -> ("x", "v1")``,
    ``shi4 -> ("sh", "iii4")``, ``zi3 -> ("z", "ii3")``, ``liu2 -> ("l", "iou2")``.
    """
    base, tone = toned[:-1], toned[-1]
    if base in _Y_FINALS:
        return "", _Y_FINALS[base] + tone
    if base in _W_FINALS:
        return "", _W_FINALS[base] + tone
    if base in ("m", "n", "ng", "hm", "hng") or not base:
        return ("h", base[1:] + tone) if base.startswith("h") else ("", base + tone)
    initial = base[:2] if base[:2] in ("zh", "ch", "sh") else base[0] if base[0] in INITIALS else ""
    final = base[len(initial) :]
    if initial in ("j", "q", "x") and final.startswith("u"):
        final = "v" + final[1:]
    elif final == "i" and initial in ("z", "c", "s"):
        final = "ii"
    elif final == "i" and initial in ("zh", "ch", "sh", "r"):
        final = "iii"
    elif final == "iu":
        final = "iou"
    elif final == "ui":
        final = "uei"
    elif final == "un":
        final = "uen"
    return initial, final + tone
