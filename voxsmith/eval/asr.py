"""ASR judge: transcribe a clip and score it against the text it was meant to say.

``AsrBackend`` is the swappable slot (one recogniser, loaded once, kept in the object);
``AsrJudge`` adds what every backend shares: loading audio at the backend's rate,
Simplified-Chinese display text without punctuation, and CER (zh) / WER (en) from
``scoring``. The default backend is ``whisper.WhisperBackend`` (faster-whisper base).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from voxsmith.eval.common import AudioInput, load_audio
from voxsmith.eval.scoring import ErrorCounts, check_lang, display_text, metric_name, score_text


@dataclass(frozen=True)
class Transcript:
    """Raw recogniser output: ``text`` as recognised and the language it was decoded in."""

    text: str
    lang: str


class AsrBackend(ABC):
    """Speech recogniser. Subclasses load their model once and keep it in the instance."""

    name: str = "asr"
    sample_rate: int = 16000  # Hz the backend expects its samples at

    @abstractmethod
    def transcribe(self, samples: np.ndarray, lang: str | None = None) -> Transcript:
        """samples: (T,) float32 mono at ``sample_rate``; lang: zh|en, or None to detect."""

    def describe(self) -> dict[str, str]:
        """Name and model of the backend, for reports."""
        return {"backend": self.name}


@dataclass(frozen=True)
class AsrResult:
    """A transcript scored against the intended text (``counts``/``error`` None without one)."""

    text: str  # display text (Simplified, no punctuation for zh)
    lang: str
    metric: str  # "cer" for zh, "wer" for en
    counts: ErrorCounts | None
    ref_text: str | None

    @property
    def error(self) -> float | None:
        return None if self.counts is None else self.counts.rate

    def to_dict(self) -> dict[str, object]:
        """``{"text", "lang", "cer"|"wer"}`` (the rate is null without a reference text)."""
        return {"text": self.text, "lang": self.lang, self.metric: self.error}


class AsrJudge:
    """Transcribe and score clips with one backend (the default one is built lazily)."""

    def __init__(self, backend: AsrBackend | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> AsrBackend:
        if self._backend is None:
            from voxsmith.eval.whisper import WhisperBackend

            self._backend = WhisperBackend()
        return self._backend

    def transcribe(self, src: AudioInput, lang: str | None = None) -> Transcript:
        """Transcript of a clip; the text is normalised for display (see ``display_text``)."""
        if lang is not None:
            check_lang(lang)
        backend = self.backend
        raw = backend.transcribe(load_audio(src, backend.sample_rate), lang)
        out_lang = raw.lang if raw.lang in ("zh", "en") else (lang or "en")
        return Transcript(display_text(raw.text, out_lang), out_lang)

    def score(self, src: AudioInput, lang: str | None = None, ref_text: str | None = None) -> AsrResult:
        """Transcribe ``src`` and, given ``ref_text``, its CER (zh) or WER (en)."""
        tr = self.transcribe(src, lang)
        counts = score_text(ref_text, tr.text, tr.lang) if ref_text is not None else None
        return AsrResult(tr.text, tr.lang, metric_name(tr.lang), counts, ref_text)
