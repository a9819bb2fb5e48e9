"""Speaker-similarity judge: resemblyzer's GE2E speaker encoder, cosine of 256-d embeddings.

resemblyzer ships its 17 MB weights inside the package. Its own preprocessing is used
(loudness normalisation to -30 dBFS and removal of long pauses with webrtcvad), on
16 kHz audio loaded by ``AudioProcessor``. Same voice, other sentence typically scores
0.9 or more; different voices 0.5-0.7.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from voxsmith.audio import Audio
from voxsmith.errors import AudioError
from voxsmith.eval.common import AudioInput, load_audio, require

EMBED_DIM = 256


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two (D,) vectors."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def centroid(embeddings: list[np.ndarray]) -> np.ndarray:
    """Unit-norm mean of unit-norm (D,) embeddings: a speaker's reference from several clips."""
    if not embeddings:
        raise ValueError("centroid of no embeddings")
    mean = np.mean(np.stack(embeddings), axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


class SpeakerJudge:
    """Embeds clips (the encoder is loaded once per instance) and compares them.

    ``embed`` caches embeddings of files by resolved path, so a reference shared by many
    items is embedded once.
    """

    sample_rate = 16000  # Hz resemblyzer works at

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._encoder: Any = None
        self._cache: dict[str, np.ndarray] = {}

    def _load(self) -> tuple[Any, Any]:
        rz = require(
            "resemblyzer", "resemblyzer==0.1.4 (and setuptools<81 for webrtcvad)", "the speaker judge"
        )
        if self._encoder is None:
            self._encoder = rz.VoiceEncoder(device=self.device, verbose=False)
        return rz, self._encoder

    def embed(self, src: AudioInput) -> np.ndarray:
        """(256,) unit-norm speaker embedding of a clip (path or ``Audio``)."""
        key = None if isinstance(src, Audio) else str(Path(os.fspath(src)).resolve())
        if key is not None and key in self._cache:
            return self._cache[key]
        samples = load_audio(src, self.sample_rate)  # bad files fail before the model loads
        rz, encoder = self._load()
        speech = rz.preprocess_wav(samples.astype(np.float32), source_sr=self.sample_rate)
        if speech.size < self.sample_rate // 10:
            name = key or "<audio>"
            raise AudioError(f"{name}: no speech left after voice-activity trimming (speaker judge)")
        emb = np.asarray(encoder.embed_utterance(speech), dtype=np.float32)
        if key is not None:
            self._cache[key] = emb
        return emb

    def similarity(self, a: AudioInput, b: AudioInput) -> float:
        """Cosine similarity of the speakers of two clips, in [-1, 1] (GE2E: mostly 0.3-1)."""
        return cosine(self.embed(a), self.embed(b))

    def describe(self) -> dict[str, str]:
        return {"model": "resemblyzer GE2E (256-d)", "device": self.device}
