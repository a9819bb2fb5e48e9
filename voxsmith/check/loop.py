"""The check loop: synthesise, listen, fix, until the speech says what the text means.

``verify_and_fix`` is model-agnostic: it needs a ``synthesize(text, seed) -> Audio`` that
honours the frontend's pinyin annotation ``‹字|pin1›`` and a checker with
``check(audio, text) -> CheckReport``. The text is split into sentences, each synthesised
and checked on its own, so a fix regenerates only the sentence that needs it:

- a polyphone (or, with ``check_all``, any syllable) heard wrong: the sentence is
  regenerated with the intended reading forced through pinyin (same seed);
- content errors (skipped or repeated words, CER over the limit), a syllable already forced
  and still wrong, a pinned syllable (below) not heard best, or a clip that cannot be aligned:
  the sentence is resampled with a new seed.

It stops when every sentence is clean or after ``max_retries`` extra rounds, and returns
the joined audio of each sentence's best try (fewest misread *pinned* syllables — readings the
user set through the glossary or inline pinyin, where the frontend's everyday reading differs —
then fewest pinned syllables the checker does not hear best, confident or not, then fewest
misread syllables and content problems, then lowest CER: a retry can come out worse)
with ``{ok, attempts, fixes, remaining}``. A pinned reading is an instruction, a polyphone's
default reading the frontend's guess, so a try that gets the instruction right wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voxsmith.audio import Audio, resample
from voxsmith.check.expected import pinned_rivals
from voxsmith.check.overrides import force_readings
from voxsmith.check.report import CheckReport, SyllableCheck
from voxsmith.errors import ConfigError, TextError
from voxsmith.text.frontend import Syllable, TextFrontend

SynthesizeFn = Callable[[str, int], Audio]
GAP_S = 0.2  # silence between sentences, as the official pipeline puts between segments
_SENTENCE = re.compile(r"[^。！？!?；;…]*(?:[。！？!?；;…]+[”’」』）)]*|$)")


class Checker(Protocol):
    def check(self, audio: Audio, text: str) -> CheckReport: ...


@dataclass
class VerifyReport:
    """What the loop did: ``attempts`` rounds of synthesis (1 = clean at once), the fixes
    applied, and the problems left after the last round (empty when ``ok``)."""

    ok: bool
    attempts: int
    fixes: list[dict] = field(default_factory=list)
    remaining: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "attempts": self.attempts, "fixes": self.fixes, "remaining": self.remaining}


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` with their end punctuation; a ``‹…›`` annotation is never cut."""
    protected = re.sub(r"‹[^‹›]*›", lambda m: "\0" * len(m.group(0)), text)
    out, pos = [], 0
    for m in _SENTENCE.finditer(protected):
        if m.end() > pos:
            piece = text[pos : m.end()]
            pos = m.end()
            if piece.strip():
                out.append(piece.strip())
    return out or [text]


@dataclass
class _Piece:
    text: str
    seed: int
    offset: int  # index of this sentence's first syllable in the whole text
    intended: list[str]  # the frontend's reading of every syllable of the text as written
    pinned: frozenset[int] = frozenset()  # syllables whose reading the user set (glossary, inline pinyin)
    audio: Audio | None = None
    report: CheckReport | None = None
    best: tuple[tuple[int, int, int, float], Audio, CheckReport] | None = None  # the least bad try so far

    def pinned_unheard(self) -> list[SyllableCheck]:
        """Pinned syllables whose reading is not the checker's best guess, confident or not: a
        misread needs a confident margin, but on unclear audio a pinned reading that merely loses
        the argmax is already worth another try (the user asked for it explicitly)."""
        assert self.report is not None
        return [s for s in self.report.syllables if s.index in self.pinned and s.heard != s.expected]

    def keep_if_better(self) -> None:
        """Remember this try when it has fewer problems than every earlier one: a retry
        (another seed, a forced reading) can come out worse, and the user gets the best."""
        rep = self.report
        assert rep is not None and self.audio is not None
        cer = rep.content.cer if rep.content.cer is not None else 0.0
        pinned_wrong = sum(s.index in self.pinned for s in rep.misread)
        key = (pinned_wrong, len(self.pinned_unheard()), len(rep.misread) + (not rep.content.ok), cer)
        if self.best is None or key < self.best[0]:
            self.best = (key, self.audio, rep)


def _pinned(frontend: TextFrontend, sentence: str, syllables: list[Syllable] | None = None) -> frozenset[int]:
    """Syllables of ``sentence`` read otherwise than the frontend without the user's glossary and
    with the inline ``‹字|pin1›`` annotations taken out would read them; ``syllables``: the
    frontend's own of ``sentence``, when the caller has them."""
    return frozenset(pinned_rivals(frontend, sentence, syllables))


def _problems(piece: _Piece) -> list[dict]:
    rep = piece.report
    assert rep is not None
    out = [
        {
            "kind": "syllable",
            "index": piece.offset + s.index,
            "text": s.text,
            "expected": s.expected,
            "heard": s.heard,
            "confidence": round(s.confidence, 4),
        }
        for s in rep.misread
    ]
    if not rep.content.ok:
        out.append({"kind": "content", "sentence": piece.text, **rep.content.to_dict()})
    return out


def _join(pieces: list[_Piece], gap_s: float) -> Audio:
    sr = pieces[0].audio.sample_rate  # type: ignore[union-attr]
    parts: list[np.ndarray] = []
    for i, p in enumerate(pieces):
        assert p.audio is not None
        if i:
            parts.append(np.zeros(int(gap_s * sr), dtype=np.float32))
        parts.append(resample(np.asarray(p.audio.samples, dtype=np.float32), p.audio.sample_rate, sr))
    return Audio(np.concatenate(parts).astype(np.float32), sr)


def _fix(piece: _Piece, attempt: int, frontend: TextFrontend, fixes: list[dict]) -> None:
    """Plan the next try of one failed sentence: force readings and/or take a new seed."""
    rep = piece.report
    assert rep is not None
    wrong = {s.index: s for s in rep.misread if s.heard}
    resample_reason = []
    if any(not s.heard for s in rep.misread):
        resample_reason.append("clip could not be aligned to the text")
    if wrong:
        forced_text, not_forced = force_readings(
            piece.text, {k: piece.intended[k] for k in wrong}, frontend, keep=piece.intended
        )
        for k, s in wrong.items():
            if k in not_forced:
                continue
            fixes.append(
                {
                    "attempt": attempt,
                    "action": "pinyin",
                    "index": piece.offset + k,
                    "text": s.text,
                    "expected": s.expected,
                    "heard": s.heard,
                }
            )
        if not_forced:
            resample_reason.append(
                "already fixed or not forceable: "
                + ", ".join(f"{wrong[k].text}({wrong[k].expected})" for k in not_forced)
            )
        piece.text = forced_text
    unheard = [s for s in piece.pinned_unheard() if s.index not in wrong]
    if unheard:
        resample_reason.append(
            "pinned reading not heard best: " + ", ".join(f"{s.text}({s.expected})" for s in unheard)
        )
    if not rep.content.ok:
        c = rep.content
        what = (
            [f"cer {c.cer:.2f}"]
            + [f"skipped {s.text}" for s in c.skipped]
            + [f"repeated {s.text}" for s in c.repeated]
        )
        resample_reason.append("content: " + ", ".join(what))
    if resample_reason:
        piece.seed += 1
        fixes.append(
            {
                "attempt": attempt,
                "action": "resample",
                "seed": piece.seed,
                "reason": "; ".join(resample_reason),
            }
        )


def verify_and_fix(
    synthesize_fn: SynthesizeFn,
    text: str,
    checker: Checker | None = None,
    *,
    max_retries: int = 3,
    seed: int = 0,
    frontend: TextFrontend | None = None,
    split: bool = True,
    gap_s: float = GAP_S,
) -> tuple[Audio, VerifyReport]:
    """Synthesise ``text``, check it, and regenerate what is wrong, at most ``max_retries`` times.

    ``synthesize_fn(text, seed)`` returns ``Audio``; ``text`` may carry ``‹字|pin1›``
    annotations, which it must honour. ``checker`` defaults to the built-in
    ``PronunciationChecker`` (content check included). Returns the final audio (sentences
    joined with ``gap_s`` of silence) and the ``VerifyReport``.
    """
    if max_retries < 0:
        raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
    frontend = frontend or TextFrontend()
    if checker is None:
        from voxsmith.check.checker import PronunciationChecker

        checker = PronunciationChecker.load(frontend=frontend)
    pieces: list[_Piece] = []
    offset = 0
    for sentence in split_sentences(text) if split else [text]:
        try:
            syllables = frontend.process(sentence).syllables
            readings = [s.pinyin for s in syllables]
        except TextError:
            if not pieces:
                raise
            pieces[-1].text += sentence  # nothing speakable on its own (a stray quote): keep it with the last
            continue
        pieces.append(_Piece(sentence, seed, offset, readings, _pinned(frontend, sentence, syllables)))
        offset += len(readings)

    def run(piece: _Piece) -> None:
        piece.audio = synthesize_fn(piece.text, piece.seed)
        piece.report = checker.check(piece.audio, piece.text)
        piece.keep_if_better()

    for piece in pieces:
        run(piece)
    attempts, fixes = 1, []

    def failed(p: _Piece) -> bool:
        return not p.report.ok or bool(p.pinned_unheard())  # type: ignore[union-attr]

    while attempts <= max_retries and any(failed(p) for p in pieces):
        attempts += 1
        for piece in pieces:
            if failed(piece):
                _fix(piece, attempts, frontend, fixes)
                run(piece)
    for piece in pieces:  # the best try of each sentence, not the last
        assert piece.best is not None
        _, piece.audio, piece.report = piece.best
    remaining = [prob for p in pieces for prob in _problems(p)]
    return _join(pieces, gap_s), VerifyReport(not remaining, attempts, fixes, remaining)
