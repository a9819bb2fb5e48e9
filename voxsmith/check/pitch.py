"""Speaker-normalised pitch features for the recogniser: tones are pitch contours.

A log-mel frame shows pitch only as the positions of harmonics, which move with the
speaker's voice; a network that reads tones from them learns the training voices' pitch
ranges. These features give it the contour itself, on the mel's frame grid:

    0: log f0 minus the utterance's mean log f0 over voiced frames (0 where unvoiced), in octaves
    1: its frame-to-frame change (octaves per frame)
    2: voicing strength (peak of the normalised autocorrelation, 0..1)

f0 comes from the normalised autocorrelation of each 1024-sample frame (60-500 Hz), with a
5-frame median to remove isolated octave jumps. Frames: hop 256, window 1024, reflect pad
384 on each side, as ``voxsmith.audio.AudioProcessor.mel`` (same count).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from voxsmith.audio import MelConfig

N_PITCH = 3  # feature channels
F0_MIN, F0_MAX = 60.0, 500.0  # Hz searched
VOICED = 0.45  # autocorrelation peak above which a frame counts as voiced


def pitch_features(samples: np.ndarray | torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """(T,) samples at ``cfg.sample_rate`` -> (3, frames) float32, frames as the mel's."""
    x = torch.as_tensor(samples, dtype=torch.float32).reshape(-1)
    pad = (cfg.n_fft - cfg.hop_length) // 2
    if x.shape[0] <= pad:
        return torch.zeros(N_PITCH, 0)
    x = F.pad(x[None, None], (pad, pad), mode="reflect")[0, 0]
    frames = x.unfold(0, cfg.n_fft, cfg.hop_length)  # (frames, n_fft)
    frames = frames - frames.mean(-1, keepdim=True)
    spec = torch.fft.rfft(frames, n=2 * cfg.n_fft)
    acf = torch.fft.irfft(spec.real.pow(2) + spec.imag.pow(2), n=2 * cfg.n_fft)[:, : cfg.n_fft]
    # unbias for the shrinking overlap, then normalise by the zero-lag energy
    lags = torch.arange(cfg.n_fft, dtype=torch.float32)
    acf = acf * cfg.n_fft / (cfg.n_fft - lags).clamp(min=1) / acf[:, :1].clamp(min=1e-8)
    lo = int(cfg.sample_rate / F0_MAX)
    hi = int(cfg.sample_rate / F0_MIN)
    peak, idx = acf[:, lo:hi].max(-1)
    logf0 = torch.log2(cfg.sample_rate / (idx + lo).float())
    voiced = peak > VOICED
    if voiced.sum() >= 3:
        # median over 5 frames of voiced neighbours removes single-frame octave errors
        padded = F.pad(logf0[None, None], (2, 2), mode="replicate")[0, 0]
        logf0 = torch.where(voiced, padded.unfold(0, 5, 1).median(-1).values, logf0)
        rel = (logf0 - logf0[voiced].mean()) * voiced
    else:
        rel = torch.zeros_like(logf0)
    delta = torch.zeros_like(rel)
    delta[1:] = (rel[1:] - rel[:-1]) * (voiced[1:] & voiced[:-1])
    strength = peak.clamp(0, 1)
    out = torch.stack([rel, delta, strength]).float()
    return torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def octaves(hz_a: float, hz_b: float) -> float:
    """Distance of two frequencies in octaves (for tests and reports)."""
    return math.log2(hz_a / hz_b)
