"""One source recording -> kept clips (wav files + manifest rows) and dropped clips (with reasons).

    decode (source rate) ─► VAD on a 16 kHz loudness-normalised copy ─► clip spans (slicing.py)
      ─► per clip: duration / clipping / level checks on the source samples (quality.py)
      ─► resample to 22050 Hz, normalise loudness ─► DNSMOS floor
      ─► text: given whole | given for a long recording, cut by ASR alignment (align.py) | ASR
      ─► ASR-vs-text disagreement ─► frontend fields (text.py) ─► wavs/<speaker>/<id>.wav

The judges (ASR, DNSMOS) load on first use and only when needed: a folder of clips with their
transcripts and ``max_cer=None`` never loads Whisper.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxsmith.audio import SAMPLE_RATE, Audio, AudioProcessor, resample
from voxsmith.errors import AudioError, TextError
from voxsmith.prepare.align import split_transcript
from voxsmith.prepare.config import PrepareConfig
from voxsmith.prepare.quality import Drop, signal_problem
from voxsmith.prepare.slicing import plan_clips
from voxsmith.prepare.sources import SourceFile, clip_prefix, slug
from voxsmith.prepare.text import GlossaryFrontend
from voxsmith.prepare.transcripts import GivenText
from voxsmith.prepare.vad import VAD_RATE, Span, make_detector

log = logging.getLogger(__name__)

NEUTRAL_EMOTION = [0.0] * 8  # DESIGN.md emotion order; recordings carry no emotion label


@dataclass
class SourceResult:
    """What one source produced: manifest rows of kept clips (split not yet assigned) and drops."""

    rel: str
    seconds: float  # decoded duration (header duration for an unreadable file)
    rows: list[dict] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    error: str | None = None  # the decoder's message for an unreadable source
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            "rel": self.rel,
            "seconds": self.seconds,
            "rows": self.rows,
            "drops": [d.to_dict() for d in self.drops],
            "error": self.error,
            "wall_s": self.wall_s,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SourceResult:
        return cls(
            str(d["rel"]),
            float(d["seconds"]),
            list(d["rows"]),
            [Drop.from_dict(x) for x in d["drops"]],
            d.get("error"),
            float(d.get("wall_s", 0.0)),
        )


def text_sha(given: GivenText | None) -> str | None:
    """Fingerprint of a source's transcript (a changed transcript makes the source redone)."""
    return hashlib.sha1(given.text.encode("utf-8")).hexdigest()[:12] if given else None


@dataclass
class _Slice:
    """One clip span of a source and what is known about it so far."""

    index: int  # position among the source's spans (the clip id's suffix)
    span: Span
    problem: tuple[str, str] | None  # (reason, detail) of a failed signal check
    dnsmos: float | None = None
    asr: str | None = None  # ASR transcript (display text), when one was needed


class SourceProcessor:
    """Turns sources into clips; holds the detector, the judges and the frontend across sources."""

    def __init__(self, cfg: PrepareConfig, asr: Any = None, mos: Any = None) -> None:
        self.cfg = cfg
        self.detector = make_detector(cfg.slicing.vad, cfg.slicing.threshold, cfg.slicing.min_silence_s)
        self.frontend = GlossaryFrontend(cfg.glossary)
        self._asr = asr  # voxsmith.eval.asr.AsrJudge; built on first use when None
        self._mos = mos  # voxsmith.eval.mos.MosJudge; built on first use when None

    @property
    def asr(self) -> Any:
        if self._asr is None:
            from voxsmith.eval.asr import AsrJudge

            self._asr = AsrJudge()
        return self._asr

    @property
    def mos(self) -> Any:
        if self._mos is None:
            from voxsmith.eval.mos import MosJudge

            self._mos = MosJudge()
        return self._mos

    def process(self, src: SourceFile, given: GivenText | None) -> SourceResult:
        """Slice, filter, transcribe and write the clips of ``src`` (never raises for bad audio)."""
        t0 = time.perf_counter()
        path = src.path(Path(self.cfg.raw))
        try:
            audio = AudioProcessor.load(path)
        except AudioError as exc:
            drop = Drop(src.rel, 0.0, src.seconds, "unreadable", str(exc))
            return SourceResult(src.rel, src.seconds, [], [drop], str(exc), time.perf_counter() - t0)
        result = SourceResult(src.rel, round(audio.seconds, 4))
        self._clips(src, audio, given, result)
        result.wall_s = time.perf_counter() - t0
        return result

    def _clip_audio(self, audio: Audio, span: Span) -> Audio:
        """The span of the source at 22050 Hz, loudness-normalised: what is judged and written."""
        sr = audio.sample_rate
        seg = resample(audio.samples[int(span.start * sr) : int(span.end * sr)], sr, SAMPLE_RATE)
        return Audio(AudioProcessor.normalize_loudness(seg, self.cfg.filters.target_dbfs), SAMPLE_RATE)

    def _clips(self, src: SourceFile, audio: Audio, given: GivenText | None, result: SourceResult) -> None:
        sl, fl = self.cfg.slicing, self.cfg.filters
        sr = audio.sample_rate
        vad_in = AudioProcessor.normalize_loudness(resample(audio.samples, sr, VAD_RATE))
        spans = plan_clips(self.detector.regions(vad_in, sl.max_s - 2 * sl.pad_s), audio.seconds, sl)
        if not spans:
            result.drops.append(Drop(src.rel, 0.0, round(audio.seconds, 4), "no_speech"))
            return
        slices = []
        for k, span in enumerate(spans):
            seg = audio.samples[int(span.start * sr) : int(span.end * sr)]
            slices.append(_Slice(k, span, signal_problem(seg, span.seconds, sl, fl)))
        texts: dict[int, str] = {}
        langs: list[str] = []  # the source's language once the ASR has detected it
        if given is not None and audio.seconds > sl.max_s:  # one text for many slices: align it
            for s in slices:  # every slice's words guide the alignment, dropped ones too
                s.asr = self._transcribe(self._clip_audio(audio, s.span), given, langs)
            cut = split_transcript(given.text, [s.asr or "" for s in slices])
            texts = {s.index: t for s, t in zip(slices, cut, strict=True)}
        for s in slices:
            if s.problem:
                result.drops.append(Drop(src.rel, s.span.start, s.span.end, *s.problem))
                continue
            clip = self._clip_audio(audio, s.span)
            if fl.dnsmos_floor > 0:
                s.dnsmos = self._dnsmos(clip)
                if s.dnsmos < fl.dnsmos_floor:
                    result.drops.append(self._drop(src, s, "dnsmos", f"ovrl {s.dnsmos:.2f}"))
                    continue
            if s.asr is None and (given is None or fl.max_cer is not None):
                s.asr = self._transcribe(clip, given, langs)
            if s.index in texts:
                text, origin = texts[s.index], "aligned"
            elif given is not None:
                text, origin = given.text, given.origin
            else:
                text, origin = s.asr or "", "asr"
            row = self._row(src, s, clip, text, origin, result)
            if row is not None:
                result.rows.append(row)

    def _dnsmos(self, clip: Audio) -> float:
        """DNSMOS ovrl of the clip's first model window (9.01 s): one model run per clip instead
        of one per 1 s hop, which is plenty for a floor."""
        from voxsmith.eval.mos import WINDOW_SECONDS

        head = clip.samples[: int(WINDOW_SECONDS * clip.sample_rate) + 1]
        return float(self.mos.score(Audio(head, clip.sample_rate)).ovrl)

    def _lang_hint(self, given: GivenText | None, detected: str | None) -> str | None:
        """Language the ASR decodes in: --lang, else the given text's, else the one detected on
        the source's first transcribed clip (a recording keeps its language; detecting it again
        for every clip would cost one more encoder pass each)."""
        if self.cfg.lang != "auto":
            return self.cfg.lang
        if given is not None:
            from voxsmith.eval.scoring import guess_lang

            return guess_lang(given.text)
        return detected

    def _transcribe(self, clip: Audio, given: GivenText | None, langs: list[str]) -> str:
        """ASR text of ``clip``; ``langs`` collects the detected language of the source."""
        tr = self.asr.transcribe(clip, self._lang_hint(given, langs[0] if langs else None))
        if tr.text.strip() and not langs:
            langs.append(tr.lang)
        return tr.text

    @staticmethod
    def _drop(src: SourceFile, s: _Slice, reason: str, detail: str = "") -> Drop:
        return Drop(src.rel, s.span.start, s.span.end, reason, detail)

    def _row(
        self, src: SourceFile, s: _Slice, clip: Audio, text: str, origin: str, result: SourceResult
    ) -> dict | None:
        """Check the clip's text, write its wav and return its manifest row (None = dropped)."""
        from voxsmith.eval.scoring import guess_lang, score_text

        fl = self.cfg.filters
        if not text.strip():
            result.drops.append(self._drop(src, s, "no_text", f"asr: {s.asr!r}" if origin != "asr" else ""))
            return None
        lang = self.cfg.lang if self.cfg.lang != "auto" else guess_lang(text)
        error = None
        if origin != "asr" and s.asr is not None:
            try:
                error = score_text(text, s.asr, lang).rate
            except TextError as exc:
                result.drops.append(self._drop(src, s, "text_unusable", str(exc)))
                return None
            if fl.max_cer is not None and error > fl.max_cer:
                detail = f"{'cer' if lang == 'zh' else 'wer'} {error:.2f}; asr: {s.asr!r}; text: {text!r}"
                result.drops.append(self._drop(src, s, "asr_mismatch", detail))
                return None
        try:
            fields = self.frontend.fields(text, lang)
        except TextError as exc:
            result.drops.append(self._drop(src, s, "text_unusable", str(exc)))
            return None
        speaker = self.cfg.speaker_of(src.rel)
        cid = f"{clip_prefix(speaker, src.rel)}_{s.index:04d}"
        rel_wav = f"wavs/{slug(speaker, 40)}/{cid}.wav"
        AudioProcessor.save(clip, Path(self.cfg.out) / rel_wav)
        return {
            "id": cid,
            "path": rel_wav,
            "text": text,
            **fields,
            "lang": lang,
            "speaker": speaker,
            "engine": "recording",
            "voice": speaker,
            "style": "neutral",
            "style_strength": 0.0,
            "emotion": list(NEUTRAL_EMOTION),
            "duration_s": round(len(clip.samples) / SAMPLE_RATE, 4),
            "split": "train",  # assigned over all clips when the run finishes
            "sample_rate": SAMPLE_RATE,
            "source": src.rel,
            "start_s": s.span.start,
            "end_s": s.span.end,
            "text_origin": origin,  # file | csv | aligned | asr
            "asr_text": s.asr,
            "asr_error": None if error is None else round(error, 4),
            "dnsmos": None if s.dnsmos is None else round(s.dnsmos, 3),
        }
