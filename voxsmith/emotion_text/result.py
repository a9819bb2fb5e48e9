"""What every text-to-emotion backend returns: eight weights in the fixed emotion order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxsmith.embeddings import EMOTIONS


@dataclass(frozen=True)
class EmotionWeights:
    """The emotion a text asks for.

    ``weights``: (8,) float32, >= 0, sum <= 1, in the order of ``EMOTIONS`` — what the
    pipeline mixes (``Σ wᵢ·rowᵢ + (1 − Σw)·speaker``); ``label``: the strongest category;
    ``scores``: (8,) the backend's raw scores (class probabilities for the default backend,
    the clamped 0–1.2 values for the LLM backend); ``cues``: the lexicon cues that fired,
    e.g. ``("angry:生气", "not-calm:don't ... angry")``; ``backend``: who produced it.
    """

    weights: np.ndarray
    label: str
    scores: np.ndarray
    cues: tuple[str, ...] = ()
    backend: str = ""

    def __post_init__(self) -> None:
        if self.weights.shape != (len(EMOTIONS),) or self.scores.shape != (len(EMOTIONS),):
            raise ValueError(f"emotion weights/scores must have shape (8,), got {self.weights.shape}")

    def named(self, digits: int = 4) -> dict[str, float]:
        """``{"happy": w, ..., "calm": w}`` rounded to ``digits``."""
        return {k: round(float(v), digits) for k, v in zip(EMOTIONS, self.weights, strict=True)}

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "weights": self.named(),
            "scores": {k: round(float(v), 4) for k, v in zip(EMOTIONS, self.scores, strict=True)},
            "cues": list(self.cues),
            "backend": self.backend,
        }


def from_scores(
    scores: np.ndarray, *, keep_ratio: float, cues: tuple[str, ...], backend: str, normalise: bool = True
) -> EmotionWeights:
    """Sparse weights from (8,) non-negative scores.

    Categories below ``keep_ratio × max`` are dropped, so a clear text gives one emotion and an
    ambiguous one a blend of two or three instead of a smear over all eight. What is left is
    scaled to sum to 1 (``normalise``: probabilities), or only scaled down when its sum exceeds
    1 (absolute intensities, as the LLM gives: 0.3 "a little sad" stays 0.3).
    """
    s = np.clip(np.asarray(scores, dtype=np.float32), 0.0, None)
    top = float(s.max())
    if top <= 0.0:  # nothing at all: the official convention is "calm"
        s = np.zeros(len(EMOTIONS), np.float32)
        s[EMOTIONS.index("calm")] = 1.0
        top = 1.0
    kept = np.where(s >= keep_ratio * top, s, 0.0).astype(np.float32)
    weights = kept / (float(kept.sum()) if normalise else max(float(kept.sum()), 1.0))
    return EmotionWeights(
        weights=weights.astype(np.float32),
        label=EMOTIONS[int(np.argmax(s))],
        scores=s,
        cues=cues,
        backend=backend,
    )
