"""Utterance prosody: what an emotion does to pitch, range, loudness and tilt, said to S2M.

The tiny size's semantic codes come from a CTC content encoder and carry almost no pitch,
so an emotion that should lift pitch by three semitones reaches S2M only through the GPT
latents, weakly, while the in-context prompt (a neutral reference) pulls the other way.
This module makes the emotion's prosody explicit, in four utterance-level measures:

    f0_mean  mean voiced f0, semitones      f0_std  its spread, semitones
    energy   mean loudness of speech, dB    tilt    spectral slope 0.5–4 kHz, dB per octave

- S2M (``S2MConfig.prosody_dim``) reads the *offset* of its target from its prompt in these
  measures (scaled by ``SCALES``), added to the content at every target code. Trained on
  measured offsets: zero where the prompt is the target's own start, the difference of the
  two clips where the prompt is another clip of the speaker.
- :class:`ProsodyHead` (fitted with the emotion matrix, ridge regression) predicts, from a
  GPT emotion vector, the measures relative to the speaker's neutral speech. At inference
  the offset is ``head(emotion used) − head(speaker's own emotion)``: zero when the speaker's
  own emotion is kept, so neutral synthesis is what it was.

Shapes: D emotion-vector width, K = len(MEASURES), M examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import torch

from voxsmith.errors import CheckpointError, ConfigError

MEASURES = ("f0_mean", "f0_std", "energy", "tilt")
SCALES = (4.0, 2.0, 6.0, 3.0)  # divide by these so every offset sits near unit size
SPEECH_DB = 35.0  # codes/frames within this many dB of the loudest count as speech
LOGMEL_DB = 20.0 / np.log(10.0)  # log-magnitude mel → dB


@lru_cache(maxsize=2)
def _tilt_bins(n_mels: int = 80, sr: int = 22050) -> tuple[np.ndarray, np.ndarray]:
    """Mel bins with centres in 0.5–4 kHz and their log2 frequencies (for the tilt fit)."""
    import librosa

    centres = librosa.mel_frequencies(n_mels + 2, fmin=0.0, fmax=sr / 2)[1:-1]
    band = np.nonzero((centres >= 500.0) & (centres <= 4000.0))[0]
    return band, np.log2(centres[band])


def utterance_prosody(code_prosody: np.ndarray, mel: np.ndarray) -> np.ndarray:
    """One clip's raw measures ``(K,)`` (f0 NaN when unvoiced).

    code_prosody ``(N, 2)``: per code, mean voiced f0 in semitones (NaN unvoiced) and energy in
    dB (``voxsmith.train.prosody.code_prosody``); mel ``(80, T)`` log-magnitude mel.
    """
    p = np.asarray(code_prosody, dtype=np.float64)
    m = np.asarray(mel, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or m.ndim != 2:
        raise ConfigError(f"prosody: need code prosody (N, 2) and mel (80, T), got {p.shape} and {m.shape}")
    f0 = p[:, 0][~np.isnan(p[:, 0])]
    energy = p[:, 1]
    speech = energy[energy >= energy.max() - SPEECH_DB] if energy.size else energy
    frame_db = LOGMEL_DB * np.log(np.exp(m).sum(axis=0) + 1e-12)
    frames = m[:, frame_db >= frame_db.max() - SPEECH_DB] if m.shape[1] else m
    band, logf = _tilt_bins(m.shape[0])
    spectrum = LOGMEL_DB * frames[band].mean(axis=1) if frames.shape[1] else np.zeros(len(band))
    tilt = float(np.polyfit(logf, spectrum, 1)[0])
    return np.array(
        [
            f0.mean() if f0.size else np.nan,
            f0.std() if f0.size > 1 else np.nan,
            speech.mean() if speech.size else np.nan,
            tilt,
        ]
    )


def scaled_offset(target: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(target − reference) / SCALES`` as float32 ``(K,)``; measures missing on either side → 0."""
    d = (np.asarray(target, np.float64) - np.asarray(reference, np.float64)) / np.asarray(SCALES)
    return np.nan_to_num(d, nan=0.0).astype(np.float32)


class ProsodyHead:
    """Linear map from a GPT emotion vector ``(D,)`` to its scaled prosody ``(K,)`` re neutral speech."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        if weight.dim() != 2 or weight.shape[0] != len(MEASURES) or bias.shape != (len(MEASURES),):
            raise CheckpointError(
                f"prosody head: weight must be ({len(MEASURES)}, D) and bias ({len(MEASURES)},), "
                f"got {tuple(weight.shape)} and {tuple(bias.shape)}"
            )
        self.weight = weight.float()
        self.bias = bias.float()

    @classmethod
    def fit(cls, emovec: torch.Tensor, targets: torch.Tensor, ridge: float = 0.01) -> ProsodyHead:
        """Ridge regression of ``targets (M, K)`` (scaled, NaN = unknown) on ``emovec (M, D)``.

        Each measure is fitted on the examples where it is known; the inputs are standardised
        first so ``ridge`` means the same at any emotion-vector scale.
        """
        x = emovec.double()
        y = targets.double()
        if x.dim() != 2 or y.shape != (x.shape[0], len(MEASURES)):
            raise ConfigError(f"prosody head: need emovec (M, D) and targets (M, {len(MEASURES)})")
        mean, std = x.mean(dim=0), x.std(dim=0).clamp(min=1e-6)
        z = (x - mean) / std
        weight = torch.zeros(len(MEASURES), x.shape[1], dtype=torch.float64)
        bias = torch.zeros(len(MEASURES), dtype=torch.float64)
        for k in range(len(MEASURES)):
            ok = ~torch.isnan(y[:, k])
            if int(ok.sum()) < 2:
                continue
            zk, yk = z[ok], y[ok, k]
            zc, yc = zk - zk.mean(dim=0), yk - yk.mean()
            gram = zc.T @ zc + ridge * zk.shape[0] * torch.eye(x.shape[1], dtype=torch.float64)
            w = torch.linalg.solve(gram, zc.T @ yc)
            weight[k] = w / std
            bias[k] = yk.mean() - (zk.mean(dim=0) @ w) - (w / std) @ mean
        return cls(weight.float(), bias.float())

    def __call__(self, emovec: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` → ``(..., K)``."""
        if emovec.shape[-1] != self.weight.shape[1]:
            raise ConfigError(
                f"prosody head: emotion vector has {emovec.shape[-1]} values, the head reads {self.weight.shape[1]}"
            )
        return emovec.float() @ self.weight.T.to(emovec.device) + self.bias.to(emovec.device)

    def offset(self, emovec: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """The prosody change from the speaker's own emotion ``base`` to ``emovec``: ``(1, K)``."""
        return (self(emovec.reshape(1, -1)) - self(base.reshape(1, -1))).reshape(1, -1)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"prosody_weight": self.weight, "prosody_bias": self.bias}

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, torch.Tensor]) -> ProsodyHead | None:
        """The head stored beside an emotion matrix, or None where there is none."""
        if "prosody_weight" not in tensors:
            return None
        return cls(tensors["prosody_weight"], tensors["prosody_bias"])
