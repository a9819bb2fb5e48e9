"""What the corpus needs from the text frontend: spoken form, readings, and language runs.

``Frontend.analyze(text, lang)`` wraps ``voxsmith.text.frontend.TextFrontend`` (number
normalisation, polyphone-aware pinyin, ARPAbet) and returns the manifest fields:

- ``normalized``: the spoken form the engines read (numbers as words);
- ``syllables``: toned pinyin of each Chinese character, in order (``["yin2", "hang2"]``);
- ``phones``: the frontend's phone sequence (pinyin initials/finals, ARPAbet with stress,
  ``<zh>``/``<en>`` switches, ``_`` word gaps, punctuation), what the tokenizer reads;
- ``units``: reading order for alignment-free models: whole toned syllables for Chinese,
  ARPAbet phones for English, ``,``/``.`` for pauses (the format ``models.units.row_units``
  reads).

``runs(normalized)`` splits a code-switched sentence into Mandarin and English stretches, so
that each stretch can be read by an engine of its language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from voxsmith.errors import TextError

_PAUSES = {",": ",", ".": ".", "!": ".", "?": ".", "…": ".", ";": ",", ":": ","}
# An English stretch: Latin words (with inner apostrophes, hyphens, dots and spaces).
_EN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*(?:[ .][A-Za-z0-9][A-Za-z0-9'’\-]*)*")


@dataclass(frozen=True)
class TextAnalysis:
    """Frontend output for one corpus sentence."""

    normalized: str
    syllables: list[str]
    phones: list[str]
    units: list[str]


def runs(normalized: str) -> list[tuple[str, str]]:
    """``[(lang, text), ...]``: English stretches and the Mandarin text between them.

    Punctuation and spaces stay with the Mandarin side; a run with nothing speakable is dropped.
    """
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _EN_RUN.finditer(normalized):
        if m.start() > pos:
            out.append(("zh", normalized[pos : m.start()]))
        out.append(("en", m.group(0)))
        pos = m.end()
    if pos < len(normalized):
        out.append(("zh", normalized[pos:]))
    return [(lg, t.strip()) for lg, t in out if re.search(r"\w", t)]


def _units_from(phones: list[str], syllables: list[str]) -> list[str]:
    """Reading-order units from the frontend's phone sequence and its syllable list."""
    units: list[str] = []
    syl = iter(syllables)
    mode = "zh"
    for p in phones:
        if p in ("<zh>", "<en>"):
            mode = p[1:3]
        elif p in _PAUSES:
            if units and units[-1] not in (",", "."):
                units.append(_PAUSES[p])
        elif p == "_" or not p:
            continue
        elif mode == "zh":
            if p[-1].isdigit():  # a final closes one syllable
                units.append(next(syl, "<unk>"))
        else:
            units.append(p)
    while units and units[-1] in (",",):
        units.pop()
    return units


class Frontend:
    """Corpus-side adapter over ``voxsmith.text``; the text frontend loads on first use."""

    def __init__(self) -> None:
        self._fe: Any = None

    def _frontend(self) -> Any:
        if self._fe is None:
            from voxsmith.text.frontend import TextFrontend

            self._fe = TextFrontend()
        return self._fe

    def analyze(self, text: str, lang: str) -> TextAnalysis:
        """Normalise ``text`` and derive its readings (raises ``TextError`` if unreadable)."""
        if lang not in ("zh", "en"):
            raise TextError(f"unknown language {lang!r} for {text[:30]!r}: expected 'zh' or 'en'")
        result = self._frontend().process(text, lang)
        syllables = [s.pinyin for s in result.syllables]
        phones = [p for seg in result.segments for p in seg.phones]
        units = _units_from(phones, syllables)
        if not units:
            raise TextError(f"no pronunciation units for {text[:40]!r}")
        return TextAnalysis(result.normalized, syllables, phones, units)
