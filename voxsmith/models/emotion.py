"""Emotion control pieces around the GPT: the gradient reversal adversary and the emotion matrix.

- :class:`GradientReversal` / :class:`SpeakerAdversary`: during training (stage 2), a speaker
  classifier reads the emotion vector through a gradient reversal layer, so the emotion
  conditioner learns to carry no speaker identity. Training only: the adversary is not part
  of the GPT's state dict.
- :class:`EmotionMatrix`: the official ``feat1.pt`` / ``feat2.pt`` pair. Rows are grouped per
  emotion category (official split ``[3, 17, 2, 8, 4, 5, 10, 24]``); for each category one row is
  chosen, by cosine similarity of the speaker's style vector to the ``feat1`` rows or at random,
  and an 8-weight vector mixes them: ``emovec = Σ wᵢ·rowᵢ + (1 − Σw)·emovec_from_speaker``
  (``emo_alpha`` scales the weights first, :func:`scale_weights`).

Shapes: B batch, D emotion vector width (GPT width), S style vector width, R matrix rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.errors import ConfigError

EMOTIONS = ("happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm")
OFFICIAL_COUNTS = (3, 17, 2, 8, 4, 5, 10, 24)  # config.yaml ``emo_num``: rows per category
# the official WebUI's per-category damping of user weights, and the cap on their sum
OFFICIAL_WEIGHT_BIAS = (0.9375, 0.875, 1.0, 1.0, 0.9375, 0.9375, 0.6875, 0.5625)
OFFICIAL_MAX_SUM = 0.8


def as_weights(
    weights: Sequence[float] | torch.Tensor, device: torch.device | str | None = None
) -> torch.Tensor:
    """Eight emotion weights as a float32 ``(8,)`` tensor; any other shape is a ConfigError."""
    w = torch.as_tensor(weights, dtype=torch.float32, device=device)
    if w.shape != (len(EMOTIONS),):
        raise ConfigError(f"emotion weights: need {len(EMOTIONS)} values, got shape {tuple(w.shape)}")
    return w


def category_slopes(categories, strengths, values) -> np.ndarray:
    """``(8, K)``: per category of :data:`EMOTIONS`, the least-squares slope through the origin of
    ``values (M, K)`` (NaN = unmeasured) on ``strengths (M,)`` over clips of that category
    (``categories (M,)`` index EMOTIONS): what a style does at full strength, from clips at graded
    strengths. A category or measure without clips is a ConfigError."""
    categories, strengths = np.asarray(categories), np.asarray(strengths, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    if categories.ndim != 1 or strengths.shape != categories.shape or values.shape[0] != categories.shape[0]:
        raise ConfigError("category slopes: need categories (M,), strengths (M,) and values (M, K)")
    out = np.zeros((len(EMOTIONS), values.shape[1]))
    for c, name in enumerate(EMOTIONS):
        for k in range(values.shape[1]):
            ok = (categories == c) & (strengths > 0) & np.isfinite(values[:, k])
            if not ok.any():
                raise ConfigError(f"category slopes: no measured clips of category {name!r}")
            s = strengths[ok]
            out[c, k] = float(np.sum(s * values[ok, k]) / np.sum(s * s))
    return out


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:  # noqa: D401
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


class GradientReversal(nn.Module):
    """Identity forward; the backward pass multiplies the gradient by ``-scale``."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ReverseGrad.apply(x, self.scale)


class SpeakerAdversary(nn.Module):
    """GRL → MLP speaker classifier over the direction of the emotion vector ``(B, D)``.

    The classifier reads the L2-normalised vector: on raw vectors the reversed gradient lets the
    encoder "win" by growing the norm (a constant vector of norm ~2500 against speaker latents of
    ~17 was the result in the first built-in model), which empties the emotion path and drowns
    the speaker latents it is added to. On directions the only way to fool it is to drop speaker
    information.
    """

    def __init__(self, dim: int, num_speakers: int, hidden: int = 256, grl_scale: float = 1.0):
        super().__init__()
        if num_speakers < 2:
            raise ConfigError(f"speaker adversary: needs at least 2 speakers, got {num_speakers}")
        self.grl = GradientReversal(grl_scale)
        self.classifier = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, num_speakers))

    def forward(self, emo_vec: torch.Tensor) -> torch.Tensor:
        """Speaker logits ``(B, num_speakers)``."""
        return self.classifier(F.normalize(self.grl(emo_vec), dim=-1))

    def loss(self, emo_vec: torch.Tensor, speaker_ids: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the speaker classifier; its gradient reaches the encoder reversed."""
        return F.cross_entropy(self(emo_vec), speaker_ids.long())


def normalize_weights(
    weights: Sequence[float] | torch.Tensor,
    bias: Sequence[float] = OFFICIAL_WEIGHT_BIAS,
    max_sum: float = OFFICIAL_MAX_SUM,
) -> torch.Tensor:
    """The official WebUI's user-weight normalisation: damp per category, cap the sum at 0.8."""
    w = torch.as_tensor(weights, dtype=torch.float32) * torch.as_tensor(bias, dtype=torch.float32)
    total = float(w.sum())
    return w * (max_sum / total) if total > max_sum else w


def scale_weights(weights: Sequence[float] | torch.Tensor, emo_alpha: float) -> torch.Tensor:
    """The official use of ``emo_alpha`` with a weight vector: scale by clamp(alpha, 0, 1).

    (The official code also truncates each scaled weight to 4 decimals; so does this.)
    """
    w = torch.as_tensor(weights, dtype=torch.float64)
    scale = max(0.0, min(1.0, float(emo_alpha)))
    if scale != 1.0:
        w = torch.trunc(w * scale * 10000) / 10000
    return w.float()


class EmotionMatrix:
    """Emotion rows per category (``feat2``) with the style vectors they were taken from (``feat1``)."""

    def __init__(
        self, style_rows: torch.Tensor, emotion_rows: torch.Tensor, counts: Sequence[int] = OFFICIAL_COUNTS
    ):
        counts = [int(c) for c in counts]
        if len(counts) != len(EMOTIONS) or min(counts) < 1:
            raise ConfigError(f"emotion matrix: need {len(EMOTIONS)} positive row counts, got {counts}")
        if style_rows.dim() != 2 or emotion_rows.dim() != 2:
            raise ConfigError("emotion matrix: feat1 and feat2 must be 2-D (rows, width)")
        if style_rows.size(0) != sum(counts) or emotion_rows.size(0) != sum(counts):
            raise ConfigError(
                f"emotion matrix: counts sum to {sum(counts)} but feat1 has {style_rows.size(0)} rows "
                f"and feat2 {emotion_rows.size(0)}"
            )
        self.style_rows = style_rows.float()  # (R, S)
        self.emotion_rows = emotion_rows.float()  # (R, D)
        self.counts = counts

    @classmethod
    def from_official(
        cls, feat1: torch.Tensor, feat2: torch.Tensor, counts: Sequence[int] = OFFICIAL_COUNTS
    ) -> EmotionMatrix:
        """From the official ``feat1.pt`` (style rows) and ``feat2.pt`` (emotion rows)."""
        return cls(feat1, feat2, counts)

    @classmethod
    def from_examples(
        cls,
        style: torch.Tensor,
        emovec: torch.Tensor,
        labels: torch.Tensor,
        rows_per_category: Sequence[int],
        iterations: int = 10,
    ) -> EmotionMatrix:
        """Cluster labelled examples: per category k-means of ``emovec (M, D)`` into that many rows.

        Each row is a cluster centre; its style row is the mean style ``(M, S)`` of the members.
        Deterministic (centres start at evenly spaced members).
        """
        styles, emos, counts = [], [], []
        for cat, want in enumerate(rows_per_category):
            members = (labels == cat).nonzero().squeeze(1)
            if members.numel() == 0:
                raise ConfigError(f"emotion matrix: no examples of {EMOTIONS[cat]!r}")
            k = min(int(want), members.numel())
            x, s = emovec[members].float(), style[members].float()
            centres = x[torch.linspace(0, x.size(0) - 1, k).round().long()].clone()
            for _ in range(iterations):
                assign = torch.cdist(x, centres).argmin(dim=1)
                for j in range(k):
                    if bool((assign == j).any()):
                        centres[j] = x[assign == j].mean(dim=0)
            assign = torch.cdist(x, centres).argmin(dim=1)
            for j in range(k):
                chosen = assign == j
                styles.append(s[chosen].mean(dim=0) if bool(chosen.any()) else s.mean(dim=0))
            emos.append(centres)
            counts.append(k)
        return cls(torch.stack(styles), torch.cat(emos), counts)

    def pick(
        self, style: torch.Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> list[int]:
        """One row index (within its category) per category.

        ``style (S,)`` or ``(1, S)``: the row whose ``feat1`` is most cosine-similar; None: at random.
        """
        if style is None:
            return [int(torch.randint(0, c, (1,), generator=generator)) for c in self.counts]
        style = style.float().reshape(1, -1)
        if style.size(1) != self.style_rows.size(1):
            raise ConfigError(
                f"emotion matrix: style vector has {style.size(1)} values, feat1 rows {self.style_rows.size(1)}"
            )
        chunks = torch.split(self.style_rows, self.counts)
        return [int(F.cosine_similarity(style, chunk, dim=1).argmax()) for chunk in chunks]

    def rows(self, picks: Sequence[int]) -> torch.Tensor:
        """The chosen emotion row of every category: ``(8, D)``."""
        chunks = torch.split(self.emotion_rows, self.counts)
        return torch.stack([chunk[i] for chunk, i in zip(chunks, picks, strict=True)])

    def mix(
        self,
        weights: Sequence[float] | torch.Tensor,
        base: torch.Tensor,
        style: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``Σ wᵢ·rowᵢ + (1 − Σw)·base`` for ``weights (8,)`` and ``base (B, D)`` (the speaker's emotion)."""
        w = as_weights(weights, base.device)
        if bool((w < 0).any()):
            raise ConfigError(f"emotion weights must be >= 0, got {w.tolist()}")
        rows = self.rows(self.pick(style, generator=generator)).to(base.device, base.dtype)
        mixed = (w[:, None].to(base.dtype) * rows).sum(dim=0)
        return mixed.unsqueeze(0) + (1.0 - w.sum()).to(base.dtype) * base
