"""Pronunciation units heard by the content encoder: pinyin initials, toned finals, ARPAbet.

A Mandarin syllable ``hang2`` becomes ``[h, ang2]``; a zero-initial syllable ``er4``
stays ``[er4]``; English words contribute their ARPAbet phones with stress digits
removed (``AH0`` → ``AH``). The inventory is fixed (not learned from the corpus), so a
checkpoint's unit ids mean the same thing on any data.
"""

from __future__ import annotations

import re

INITIALS = (
    "zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
    "j", "q", "x", "r", "z", "c", "s", "y", "w",
)  # fmt: skip
FINALS = (
    "a", "o", "e", "i", "u", "v", "ai", "ei", "ao", "ou", "an", "en", "ang", "eng", "ong", "er",
    "ia", "ie", "iao", "iu", "ian", "in", "iang", "ing", "iong", "ua", "uo", "uai", "ui", "uan",
    "un", "uang", "ueng", "ve", "van", "vn", "ue", "io", "ii", "iii", "m", "n", "ng", "ê",
)  # fmt: skip
ARPABET = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
    "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
    "UW", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip
SPECIAL = ("<blank>", "<sil>", "<unk>")

_SYL = re.compile(r"^([a-zêü]+)([1-5])$")


def _inventory() -> tuple[str, ...]:
    zh = [f"{f}{t}" for f in FINALS for t in range(1, 6)]
    return SPECIAL + INITIALS + tuple(zh) + tuple(f"@{p}" for p in ARPABET)


UNITS: tuple[str, ...] = _inventory()
UNIT_ID: dict[str, int] = {u: i for i, u in enumerate(UNITS)}
BLANK, SIL, UNK = 0, 1, 2


def split_syllable(syllable: str) -> list[str]:
    """``'hang2' -> ['h', 'ang2']``; ``'er4' -> ['er4']``; ``'lv4' -> ['l', 'v4']``."""
    m = _SYL.match(syllable.lower().replace("ü", "v"))
    if not m:
        return ["<unk>"]
    body, tone = m.groups()
    for ini in INITIALS:  # two-letter initials come first in INITIALS
        if body.startswith(ini) and len(body) > len(ini):
            final = body[len(ini) :]
            # after j/q/x/y, "u" is written for ü
            if ini in ("j", "q", "x", "y") and final.startswith("u"):
                final = "v" + final[1:]
            if ini in ("zh", "ch", "sh", "r") and final == "i":
                final = "iii"  # the retroflex apical vowel
            if ini in ("z", "c", "s") and final == "i":
                final = "ii"  # the dental apical vowel
            return [ini, f"{final}{tone}"]
    return [f"{body}{tone}"]


def phone_unit(phone: str) -> str:
    return "@" + re.sub(r"\d", "", phone.upper())


def units_to_ids(units: list[str]) -> list[int]:
    return [UNIT_ID.get(u, UNK) for u in units]


def row_units(row: dict) -> list[str]:
    """Units of a corpus manifest row from its ``syllables`` (zh pinyin) and/or ``phones`` (en)."""
    units: list[str] = []
    for item in row.get("units") or row.get("phones") or row.get("syllables") or []:
        token = item.get("pinyin") if isinstance(item, dict) else str(item)
        if not token:
            continue
        if token[-1:].isdigit() and token[:-1].isalpha() and token[:-1].islower():
            units.extend(split_syllable(token))
        elif token.isalpha() or token[:-1].isalpha():
            units.append(phone_unit(token))
        elif token in ("sil", "sp", ",", ".", "|"):
            units.append("<sil>")
    return units
