"""The offline default T2E backend: sentence embedding + small head + lexicon cues. No LLM.

text ─► check_text ─► E5 embedding (384,) ─► SoftmaxHead logits (8,) ─┐
                   └► cues.cue_vector (8,) × cue_scale ───────────────+─► softmax ─► sparse weights (8,)
"""

from __future__ import annotations

import os
from functools import cache

import numpy as np

from voxsmith.emotion_text.base import T2EBackend
from voxsmith.emotion_text.cues import cue_vector
from voxsmith.emotion_text.dataset import HEAD_FILE
from voxsmith.emotion_text.embedder import E5Embedder
from voxsmith.emotion_text.head import SoftmaxHead
from voxsmith.emotion_text.result import EmotionWeights, from_scores
from voxsmith.errors import CheckpointError


def softmax(logits: np.ndarray) -> np.ndarray:
    """(..., K) → (..., K) probabilities."""
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


class DefaultBackend(T2EBackend):
    """``backend(text) -> EmotionWeights`` from the shipped head (``data/head.safetensors``).

    ``embedder`` maps a list of N texts to (N, D) vectors; it must be the one the head was
    trained on (the head file names it), else ``CheckpointError``.
    """

    name = "default"

    def __init__(self, head_path: str | os.PathLike = HEAD_FILE, embedder: E5Embedder | None = None):
        self.head = SoftmaxHead.load(head_path)
        self.embedder = embedder if embedder is not None else E5Embedder()
        if self.head.config.embedder != self.embedder.name:
            raise CheckpointError(
                f"{head_path}: head was trained on {self.head.config.embedder!r} embeddings, "
                f"not {self.embedder.name!r}; retrain with python -m voxsmith.emotion_text.train"
            )

    def _predict(self, text: str) -> EmotionWeights:
        cfg = self.head.config
        cues, hits = cue_vector(text)
        logits = self.head.logits(self.embedder([text]))[0] + cfg.cue_scale * cues
        return from_scores(
            softmax(logits.astype(np.float64)),
            keep_ratio=cfg.keep_ratio,
            cues=tuple(h.describe() for h in hits),
            backend=self.name,
        )


@cache
def default_backend() -> DefaultBackend:
    """The process-wide default backend, loaded on first use (embedding model + head, ~0.2 s)."""
    return DefaultBackend()
