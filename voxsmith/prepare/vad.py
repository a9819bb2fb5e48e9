"""Voice-activity detection: where a recording has speech.

``VoiceDetector`` is the swappable slot: ``regions(samples)`` takes (T,) float32 mono at 16 kHz
(loudness-normalised by the caller, so that quiet recordings are judged on their content, not
their level) and returns speech regions in seconds, unpadded, in order.

- ``SileroDetector`` (default): silero-vad's ONNX model, which ships inside the ``silero-vad``
  wheel (nothing is downloaded), run by onnxruntime. ~0.2 s per 20 s of audio on one core.
- ``WebrtcDetector``: WebRTC's energy/GMM detector (``webrtcvad``); cruder at noisy pauses, kept
  for machines without onnxruntime.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxsmith.errors import ConfigError
from voxsmith.eval.common import require

VAD_RATE = 16000  # Hz both detectors work at


@dataclass(frozen=True)
class Span:
    """A stretch of a recording, in seconds."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class VoiceDetector(ABC):
    """Speech regions of a recording. Subclasses load their model once and keep it."""

    name: str = "vad"

    @abstractmethod
    def regions(self, samples: np.ndarray, max_region_s: float) -> list[Span]:
        """samples: (T,) float32 at ``VAD_RATE``. Regions longer than ``max_region_s`` are split
        (at a pause inside them where there is one)."""


class SileroDetector(VoiceDetector):
    """silero-vad (ONNX, bundled in the wheel)."""

    name = "silero"

    def __init__(self, threshold: float = 0.5, min_silence_s: float = 0.25) -> None:
        self.threshold = threshold  # speech probability above which a frame is speech
        self.min_silence_s = min_silence_s  # shorter pauses do not end a region
        self._model: Any = None
        self._vad: Any = None

    def _load(self) -> Any:
        if self._model is None:
            import torch

            threads = torch.get_num_threads()
            vad = require("silero_vad", "silero-vad", "voice-activity slicing")
            torch.set_num_threads(threads)  # silero_vad sets one thread for the process at import
            self._vad = vad
            self._model = vad.load_silero_vad(onnx=True)
        return self._model

    def regions(self, samples: np.ndarray, max_region_s: float) -> list[Span]:
        import torch

        model = self._load()
        model.reset_states()
        stamps = self._vad.get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)),
            model,
            threshold=self.threshold,
            sampling_rate=VAD_RATE,
            min_speech_duration_ms=150,
            max_speech_duration_s=max_region_s,
            min_silence_duration_ms=int(self.min_silence_s * 1000),
            speech_pad_ms=0,  # padding is the slicer's job (it knows the neighbours)
        )
        return [Span(s["start"] / VAD_RATE, s["end"] / VAD_RATE) for s in stamps]


class WebrtcDetector(VoiceDetector):
    """WebRTC VAD on 30 ms frames (aggressiveness 2), smoothed like silero's region logic."""

    name = "webrtc"
    frame_s = 0.03

    def __init__(self, min_silence_s: float = 0.25, aggressiveness: int = 2) -> None:
        self.min_silence_s = min_silence_s
        self.aggressiveness = aggressiveness  # 0 (keeps most) .. 3 (keeps least)
        self._vad: Any = None

    def regions(self, samples: np.ndarray, max_region_s: float) -> list[Span]:
        if self._vad is None:
            self._vad = require("webrtcvad", "webrtcvad", "voice-activity slicing").Vad(self.aggressiveness)
        n = int(self.frame_s * VAD_RATE)
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        flags = [
            self._vad.is_speech(pcm[i : i + n].tobytes(), VAD_RATE) for i in range(0, len(pcm) - n + 1, n)
        ]
        out: list[Span] = []
        start, silent = None, 0
        for k, speech in enumerate([*flags, False]):
            if speech:
                start = k if start is None else start
                silent = 0
            elif start is not None:
                silent += 1
                if silent * self.frame_s >= self.min_silence_s or k == len(flags):
                    out.append(Span(start * self.frame_s, (k - silent + 1) * self.frame_s))
                    start, silent = None, 0
        return [piece for span in out for piece in split_long(span, max_region_s)]


def split_long(span: Span, max_s: float) -> list[Span]:
    """``span`` cut into equal pieces of at most ``max_s`` (no pause information left)."""
    pieces = max(1, int(np.ceil(span.seconds / max_s)))
    step = span.seconds / pieces
    return [Span(span.start + i * step, span.start + (i + 1) * step) for i in range(pieces)]


def make_detector(name: str, threshold: float = 0.5, min_silence_s: float = 0.25) -> VoiceDetector:
    """The detector named ``silero`` or ``webrtc``."""
    if name == "silero":
        return SileroDetector(threshold, min_silence_s)
    if name == "webrtc":
        return WebrtcDetector(min_silence_s)
    raise ConfigError(f"unknown voice detector {name!r} (use silero or webrtc)")
