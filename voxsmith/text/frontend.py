"""``TextFrontend``: raw text -> normalised text, segments, syllables, phones and token ids.

    controls (inline pinyin, ‹字|pin1›, glossary) -> normalise -> G2P (zh + en) -> units
        -> segments under the token budget -> tokens (PhoneTokenizer by default)

This is the one entry point the CLI, the pipeline and the pronunciation checker use.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import asdict, dataclass, field
from pathlib import Path

from voxsmith.errors import TextError
from voxsmith.text.chars import (
    CJK_CLASS,
    PUNCT_CLASS,
    SENTENCE_END,
    is_cjk,
    is_placeholder,
    placeholder_index,
)
from voxsmith.text.controls import ControlledText, Lock, parse_controls
from voxsmith.text.g2p_en import WORD_RE, EnglishG2P
from voxsmith.text.g2p_zh import ChineseG2P, polyphone_alternatives
from voxsmith.text.glossary import Glossary
from voxsmith.text.normalize import Normalizer, NormalizerConfig, text_language
from voxsmith.text.pinyin import split_syllable
from voxsmith.text.segment import ANY, CLAUSE, SENTENCE, WORD, Cut, split_spans
from voxsmith.text.tokenizer import PhoneTokenizer, Segment, Tokenizer

DEFAULT_MAX_TOKENS = 200  # phone tokens per segment (~100 Chinese characters)
OFFICIAL_MAX_TOKENS = 120  # BPE tokens per segment, the official inference default


@dataclass(frozen=True)
class Syllable:
    """One Chinese syllable: the character (or the pinyin the user wrote) and its reading."""

    text: str
    pinyin: str


@dataclass
class Unit:
    """A pronounceable (or pause) unit of the working text, with its span there."""

    start: int
    end: int
    kind: str  # "zh", "en", "punct" or "other"
    text: str
    readings: tuple[str, ...] = ()  # zh: toned syllables (several for a multi-syllable lock)
    phones: tuple[str, ...] = ()  # en: ARPAbet; punct: the pause class
    lock: Lock | None = None


@dataclass
class FrontendResult:
    """Everything the frontend derives from one text."""

    normalized: str
    segments: list[Segment]
    syllables: list[Syllable]
    tokens: list[int]
    segment_tokens: list[list[int]]
    lang: str

    def to_dict(self) -> dict:
        """The JSON contract of ``voxsmith frontend --json``."""
        return {
            "normalized": self.normalized,
            "segments": [s.text for s in self.segments],
            "syllables": [asdict(s) for s in self.syllables],
            "tokens": self.tokens,
            "lang": self.lang,
            "phones": [s.phones for s in self.segments],
            "segment_tokens": self.segment_tokens,
        }


@dataclass(frozen=True)
class PolyphoneReport:
    """A polyphonic character in a text, the reading chosen and the others it could have."""

    index: int  # position in the normalised text
    char: str
    chosen: str
    alternatives: list[str]
    locked: bool  # the user fixed this reading
    context: str


def _official_pinyin(reading: str) -> str:
    """A reading in the official inline convention: upper case, ü after j/q/x written V."""
    return re.sub(r"^([jqx])u", r"\1v", reading).upper()


@dataclass
class TextFrontend:
    """Bilingual text frontend. ``process(text)`` returns a ``FrontendResult``."""

    tokenizer: Tokenizer = field(default_factory=PhoneTokenizer)
    glossary: Glossary | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    normalizer: Normalizer = field(default_factory=lambda: Normalizer(NormalizerConfig()))
    zh: ChineseG2P = field(default_factory=ChineseG2P)
    en: EnglishG2P = field(default_factory=EnglishG2P)
    strict_pinyin: bool = True  # a broken inline syllable (qzz2) is an error, not text

    @classmethod
    def official(cls, bpe_model: str | Path, glossary: Glossary | None = None) -> TextFrontend:
        """The frontend for official IndexTTS-2 checkpoints: their ``bpe.model``, the official
        reading style (``NormalizerConfig.official()``) and segments of at most 120 BPE tokens."""
        from voxsmith.text.tokenizer import BpeTokenizer

        return cls(
            tokenizer=BpeTokenizer(bpe_model),
            glossary=glossary,
            max_tokens=OFFICIAL_MAX_TOKENS,
            normalizer=Normalizer(NormalizerConfig.official()),
            strict_pinyin=False,
        )

    def process(self, text: str, lang: str | None = None) -> FrontendResult:
        """Normalise, convert and segment ``text``; ``lang`` forces the language of numbers."""
        if not isinstance(text, str) or not text.strip():
            raise TextError("the text is empty: nothing to speak")
        ctrl = parse_controls(text, self.glossary, text_language(text), self.strict_pinyin)
        norm = self.normalizer.normalize(ctrl.text, lang)
        units = self._units(norm.text, ctrl)
        if not any(u.kind in ("zh", "en") for u in units):
            raise TextError(
                f"nothing speakable in the text {text.strip()[:40]!r} (only punctuation or symbols)"
            )
        cuts = self._cuts(norm.text, units, norm.atoms)
        starts = [u.start for u in units]

        def segment(a: int, b: int) -> Segment:
            return self._segment(
                norm.text, ctrl, units[bisect_left(starts, a) : bisect_left(starts, b)], a, b
            )

        spans = split_spans(
            0, len(norm.text), cuts, lambda a, b: self.tokenizer.count(segment(a, b)), self.max_tokens
        )
        segments = [segment(a, b) for a, b in spans]
        segments = [s for s in segments if s.phones and any(p not in PUNCT_CLASS.values() for p in s.phones)]
        seg_tokens = [self.tokenizer.encode(s) for s in segments]
        syllables = [
            Syllable(t, r)
            for u in units
            if u.kind == "zh"
            for t, r in zip(u.lock.syllable_texts() if u.lock else [u.text], u.readings, strict=True)
        ]
        return FrontendResult(
            normalized=ctrl.expand(norm.text),
            segments=segments,
            syllables=syllables,
            tokens=[t for ids in seg_tokens for t in ids],
            segment_tokens=seg_tokens,
            lang=text_language(ctrl.text),
        )

    def check(self, text: str, lang: str | None = None) -> list[PolyphoneReport]:
        """Polyphonic characters of ``text`` with the chosen reading and the alternatives."""
        ctrl = parse_controls(text, self.glossary, text_language(text), self.strict_pinyin)
        norm = self.normalizer.normalize(ctrl.text, lang)
        out = []
        display_pos = 0
        for u in self._units(norm.text, ctrl):
            if u.kind == "zh":
                chars = u.lock.syllable_texts() if u.lock else [u.text]
                for k, (ch, r) in enumerate(zip(chars, u.readings, strict=True)):
                    alts = polyphone_alternatives(ch) if len(ch) == 1 and is_cjk(ch) else []
                    if len(alts) > 1:
                        ctx = ctrl.expand(norm.text[max(0, u.start - 6) : u.end + 6])
                        out.append(PolyphoneReport(display_pos + k, ch, r, alts, u.lock is not None, ctx))
            display_pos += len(u.lock.display) if u.lock else u.end - u.start
        return out

    def _units(self, text: str, ctrl: ControlledText) -> list[Unit]:
        readings = self.zh.convert(text)
        words = [(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(text)]
        phones = self.en.convert(" ".join(w for _, _, w in words)) if words else []
        word_at = {s: (e, w, tuple(p)) for (s, e, w), (_, p) in zip(words, phones, strict=True)}
        units: list[Unit] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if i in word_at:
                e, w, p = word_at[i]
                units.append(Unit(i, e, "en", w, phones=p))
                i = e
                continue
            if is_placeholder(ch):
                lock = ctrl.locks[placeholder_index(ch)]
                units.append(Unit(i, i + 1, "zh", lock.display, lock.readings, lock=lock))
            elif readings[i]:
                units.append(Unit(i, i + 1, "zh", ch, (readings[i] or "",)))
            elif ch in PUNCT_CLASS:
                units.append(Unit(i, i + 1, "punct", ch, phones=(PUNCT_CLASS[ch],)))
            else:
                units.append(Unit(i, i + 1, "other", ch))
            i += 1
        return units

    def _cuts(self, text: str, units: list[Unit], atoms: list[tuple[int, int]]) -> list[Cut]:
        inside = set()
        for a, b in atoms:
            inside.update(range(a + 1, b))
        cuts = [Cut(u.end, ANY) for u in units]
        for u in units:
            if u.kind == "punct":
                level = (
                    SENTENCE
                    if u.text in SENTENCE_END or u.text == "." and text[u.end : u.end + 1] in ("", " ")
                    else CLAUSE
                )
                cuts.append(Cut(u.end, level))
            elif u.kind == "en" and u.end not in inside:
                cuts += [Cut(u.start, WORD), Cut(u.end, WORD)]
        for m in re.finditer(f"[{CJK_CLASS}]+", text):
            pos = m.start()
            for w in self.zh.segment(m.group(0)):
                if pos not in inside:
                    cuts.append(Cut(pos, WORD))
                pos += len(w)
            cuts.append(Cut(pos, WORD))
        return [c for c in cuts if c.level == ANY or c.pos not in inside]

    def _segment(self, text: str, ctrl: ControlledText, units: list[Unit], a: int, b: int) -> Segment:
        phones: list[str] = []
        bpe: list[str] = []
        lang = None
        prev_en = False
        for u in units:
            if u.start < a or u.end > b:
                continue
            if u.kind == "zh":
                if lang != "zh":
                    phones.append("<zh>")
                    lang = "zh"
                for r in u.readings:
                    ini, fin = split_syllable(r)
                    phones += [ini, fin] if ini else [fin]
                bpe.append(" ".join(_official_pinyin(r) for r in u.readings) if u.lock else u.text)
            elif u.kind == "en":
                phones += ["<en>"] if lang != "en" else ["_"] if prev_en else []
                lang = "en"
                phones += u.phones
                bpe.append(u.text)
            else:
                if u.kind == "punct" and (not phones or phones[-1] != u.phones[0]):
                    phones += u.phones
                bpe.append(u.text)
            prev_en = u.kind == "en" or (prev_en and u.kind == "other" and u.text == " ")
        return Segment(ctrl.expand(text[a:b]).strip(), phones, "".join(bpe).strip())
