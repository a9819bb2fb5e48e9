"""What a text should sound like, as the checker aligns it: tokens with their units and readings.

``expected_tokens(text)`` runs the text frontend (normalisation, pinyin controls, polyphone
G2P) and returns, in spoken order, one token per Chinese syllable and one per English
word. Chinese tokens follow ``FrontendResult.syllables`` one to one (the order
``voxsmith frontend`` lists them), with the reading the frontend chose, the other
readings of a polyphonic character, and whether the user fixed the reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxsmith.errors import TextError
from voxsmith.models.units import phone_unit, split_syllable
from voxsmith.text.chars import PUNCT_CLASS, is_cjk
from voxsmith.text.frontend import FrontendResult, TextFrontend
from voxsmith.text.g2p_zh import polyphone_alternatives

_PAUSES = set(PUNCT_CLASS.values())


@dataclass(frozen=True)
class ExpectedToken:
    """One Chinese syllable or English word of the text."""

    kind: str  # "zh" or "en"
    text: str  # the character (or the pinyin as written), or "" for an English word
    reading: str  # zh: canonical toned syllable ("hang2"); en: ""
    units: tuple[str, ...]  # checker units, e.g. ("h", "ang2") or ("@HH", "@AH", ...)
    alternatives: tuple[str, ...] = ()  # zh polyphone: the other readings of the character
    syllable: int = -1  # zh: index in FrontendResult.syllables; en: -1
    segment: int = -1  # index in FrontendResult.segments

    @property
    def polyphone(self) -> bool:
        return bool(self.alternatives)


def syllable_units(reading: str) -> tuple[str, ...]:
    """``hang2`` -> ``("h", "ang2")``: the checker's units of one toned syllable."""
    return tuple(split_syllable(reading))


def tone_variants(reading: str) -> tuple[str, ...]:
    """The same syllable in the other four tones (``hao3`` -> ``hao1 hao2 hao4 hao5``)."""
    base = reading[:-1]
    return tuple(f"{base}{t}" for t in "12345" if f"{base}{t}" != reading)


def _zh_token(result: FrontendResult, k: int, segment: int = -1) -> ExpectedToken:
    syl = result.syllables[k]
    alts: tuple[str, ...] = ()
    if len(syl.text) == 1 and is_cjk(syl.text):
        readings = polyphone_alternatives(syl.text)
        if len(readings) > 1:
            alts = tuple(r for r in readings if r != syl.pinyin)
    return ExpectedToken("zh", syl.text, syl.pinyin, syllable_units(syl.pinyin), alts, k, segment)


def tokens_from_result(result: FrontendResult) -> list[ExpectedToken]:
    """Walk the segments' phones: a toned final in Mandarin mode closes one syllable, English
    phones between word breaks make one word; pauses and language tags are not units."""
    tokens: list[ExpectedToken] = []
    word: list[str] = []
    k = i = 0  # syllables taken, segment being walked

    def flush() -> None:
        if word:
            tokens.append(ExpectedToken("en", "", "", tuple(word), segment=i))
            word.clear()

    for i, seg in enumerate(result.segments):
        mode = None
        for p in seg.phones:
            if p in ("<zh>", "<en>"):
                flush()
                mode = p[1:3]
            elif p in _PAUSES or p == "_":
                flush()
            elif mode == "zh" and p[-1:].isdigit():
                if k >= len(result.syllables):
                    raise TextError(
                        f"text frontend gave more finals than syllables for {result.normalized!r}"
                    )
                tokens.append(_zh_token(result, k, i))
                k += 1
            elif mode == "en" and p[:1].isalpha() and p[:1].isupper():
                word.append(phone_unit(p))
        flush()
    if k != len(result.syllables):
        raise TextError(
            f"text frontend gave {k} finals for {len(result.syllables)} syllables in {result.normalized!r}"
        )
    return tokens


def expected_tokens(
    text: str, frontend: TextFrontend | None = None
) -> tuple[FrontendResult, list[ExpectedToken]]:
    """Frontend result and the tokens the checker aligns for ``text``."""
    result = (frontend or TextFrontend()).process(text)
    return result, tokens_from_result(result)


def segment_units(result: FrontendResult) -> list[list[str]]:
    """Per segment of ``result``, the pronunciation units its tokens say, in order (pauses left
    out): what the content encoder's CTC head should read from the segment's codes."""
    out: list[list[str]] = [[] for _ in result.segments]
    for t in tokens_from_result(result):
        out[t.segment].extend(t.units)
    return out
