"""Speaking rate per emotion category: how much faster or slower each emotion is spoken.

In an autoregressive TTS the speaking rate is the number of codes the GPT generates, and the
tiny GPT barely changes that count with the emotion vector (sad speech comes out as fast as
neutral). :class:`EmotionRates` holds, per category of :data:`EMOTIONS`, the log tempo of
that category's training speech against the same speaker's neutral reading at full weight,
measured from the corpus (:func:`voxsmith.train.bundle.fit_emotion_rates`). Emotion weights
``w (8,)`` (intensity included) give a tempo ``exp(w · log_tempo)``; the pipeline has the
GPT generate the sentence's neutral count (the exact-count generation ``duration_ratio`` uses)
and S2M read those codes over ``1 / tempo`` times their frames (``S2M.infer(stretch=)``).
Asked of the GPT as more or fewer tokens instead, a small slowing (calm, disgusted: 9–12%)
went largely into trailing silence: a third of the asked rate change was heard.

An emotion taken from a reference clip has no weights and keeps the GPT's own length.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from voxsmith.errors import CheckpointError
from voxsmith.models.emotion import EMOTIONS, as_weights, category_slopes

MAX_LOG_TEMPO = float(np.log(2.0))  # a category that halves or doubles the rate is a bad fit
# the duration factor an emotion may ask for, at any intensity: the range exact-count duration
# control is measured to keep intelligibility in (pipeline.DURATION_RATIO_RANGE); at intensity 2
# sad would ask 1.56 × the neutral length, and CER/WER rose by 0.26
FACTOR_RANGE = (0.75, 1.25)
MIN_CHANGE = 0.01  # duration factors closer to 1 than this are not worth a second GPT pass


class EmotionRates:
    """``log_tempo (8,)``: each category's log speaking-rate ratio to neutral at weight 1."""

    def __init__(self, log_tempo: torch.Tensor):
        log_tempo = torch.as_tensor(log_tempo, dtype=torch.float32).reshape(-1)
        if log_tempo.shape != (len(EMOTIONS),):
            raise CheckpointError(
                f"emotion rates: need {len(EMOTIONS)} values, got shape {tuple(log_tempo.shape)}"
            )
        if not bool(torch.isfinite(log_tempo).all()) or float(log_tempo.abs().max()) > MAX_LOG_TEMPO:
            raise CheckpointError(
                f"emotion rates: log tempo must be finite and within ±{MAX_LOG_TEMPO:.3f}, got {log_tempo.tolist()}"
            )
        self.log_tempo = log_tempo

    @classmethod
    def fit(cls, categories: np.ndarray, strengths: np.ndarray, log_ratios: np.ndarray) -> EmotionRates:
        """Least squares through the origin per category: ``log_ratio ≈ strength × log_tempo[c]``
        over styled clips (``categories (M,)`` index :data:`EMOTIONS`, ``strengths (M,)`` in
        (0, 1], ``log_ratios (M,)`` the clip's log rate minus its neutral reference's)."""
        out = category_slopes(categories, strengths, log_ratios)[:, 0]
        return cls(torch.from_numpy(np.clip(out, -MAX_LOG_TEMPO, MAX_LOG_TEMPO)))

    def duration_factor(self, weights: torch.Tensor) -> float:
        """Weights ``(8,)`` → the factor on the neutral length (> 1 slower), within FACTOR_RANGE."""
        return float(np.clip(np.exp(-float(as_weights(weights) @ self.log_tempo)), *FACTOR_RANGE))

    def named(self) -> dict[str, float]:
        """Each category's tempo factor (> 1 faster than neutral), for reports."""
        return {k: round(float(np.exp(v)), 4) for k, v in zip(EMOTIONS, self.log_tempo.tolist(), strict=True)}

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"rate_log_tempo": self.log_tempo}

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, torch.Tensor]) -> EmotionRates | None:
        """The rates stored beside an emotion matrix, or None where there are none."""
        if "rate_log_tempo" not in tensors:
            return None
        return cls(tensors["rate_log_tempo"])
