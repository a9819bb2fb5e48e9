"""What a text should sound like, as the checker aligns it: tokens with their units and readings.

``expected_tokens(text)`` runs the text frontend (normalisation, pinyin controls, polyphone
G2P) and returns, in spoken order, one token per Chinese syllable and one per English
word. Chinese tokens follow ``FrontendResult.syllables`` one to one (the order
``voxsmith frontend`` lists them), with the reading the frontend chose, the other
readings of a polyphonic character, and whether the user fixed the reading.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from voxsmith.errors import TextError
from voxsmith.models.units import phone_unit, split_syllable
from voxsmith.text.chars import PUNCT_CLASS, is_cjk
from voxsmith.text.frontend import FrontendResult, Syllable, TextFrontend
from voxsmith.text.g2p_zh import polyphone_alternatives

_PAUSES = set(PUNCT_CLASS.values())
_ANNOTATION = re.compile(r"‹([^|‹›]*)\|[^‹›]*›")  # an inline reading, ‹字|pin1›


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


def with_rivals(tok: ExpectedToken, rivals: tuple[str, ...]) -> ExpectedToken:
    """``tok`` with ``rivals`` weighed against its reading too (those it does not list yet)."""
    extra = tuple(r for r in rivals if r != tok.reading and r not in tok.alternatives)
    return dataclasses.replace(tok, alternatives=tok.alternatives + extra) if extra else tok


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


def segment_units(result: FrontendResult, readings: dict[int, str] | None = None) -> list[list[str]]:
    """Per segment of ``result``, the pronunciation units its tokens say, in order (pauses left
    out): what the content encoder's CTC head should read from the segment's codes.
    ``readings``: syllable index -> another reading to say there instead (a rival of it)."""
    out: list[list[str]] = [[] for _ in result.segments]
    for t in tokens_from_result(result):
        if readings and t.syllable in readings:
            out[t.segment].extend(syllable_units(readings[t.syllable]))
        else:
            out[t.segment].extend(t.units)
    return out


def glossary_rivals(
    frontend: TextFrontend, text: str, syllables: list[Syllable] | None = None
) -> dict[int, tuple[str, ...]]:
    """Syllable index -> (plain reading,) for each syllable that ``frontend``'s glossary reads
    otherwise than the same frontend without it; ``syllables``: ``frontend``'s own syllables
    of ``text`` when the caller has them already."""
    if frontend.glossary is None or not frontend.glossary.entries:
        return {}
    own = syllables if syllables is not None else frontend.process(text).syllables
    plain = dataclasses.replace(frontend, glossary=None).process(text).syllables
    if len(plain) != len(own):  # a term spelled out differently: no syllable map
        return {}
    return {k: (p.pinyin,) for k, (p, g) in enumerate(zip(plain, own, strict=True)) if p.pinyin != g.pinyin}


def pinned_rivals(
    frontend: TextFrontend, text: str, syllables: list[Syllable] | None = None
) -> dict[int, str]:
    """Syllable index -> the everyday reading, for each syllable of ``text`` whose reading the
    user set otherwise (``frontend``'s glossary or an inline ``‹字|pin1›``): what the frontend
    would read there without them. ``syllables``: ``frontend``'s own syllables of ``text``."""
    plain_text = _ANNOTATION.sub(r"\1", text)
    annotated = plain_text != text
    # without annotations the text is the plain text: its own syllables serve the glossary's map
    out = {
        k: r[0] for k, r in glossary_rivals(frontend, plain_text, None if annotated else syllables).items()
    }
    if annotated:
        own = syllables if syllables is not None else frontend.process(text).syllables
        try:
            plain = frontend.process(plain_text).syllables
        except TextError:
            plain = []
        if len(plain) == len(own):
            out.update(
                {k: p.pinyin for k, (p, g) in enumerate(zip(plain, own, strict=True)) if p.pinyin != g.pinyin}
            )
    return out
