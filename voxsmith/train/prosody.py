"""Prosody targets per code, and the training-only probe that makes GPT latents carry them.

The tiny size's codes come from a CTC content encoder, so they hardly carry pitch: a GPT
predicting them has no reason to put the emotion's pitch and loudness into its latents, and
an S2M reading those latents cannot render them (it copies the prompt's instead). The
probe is a linear head on the latents (the GPT's state that predicts code ``i``) asked to
predict the prosody of code ``i``'s window, relative to the speaker: f0 in semitones and
energy in dB minus the speaker's medians. Speaker and text alone cannot tell that offset,
the emotion reference can, so its gradient pulls the emotion path's information into the
latents. Like the adversaries the probe is used in training only and never exported.

Targets are cached per split as ``cache/prosody_<split>.npz`` (codes-file layout; rows
``(N, 2)`` float16: f0 semitones re 100 Hz or NaN where unvoiced, energy dB).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from voxsmith.data import world
from voxsmith.models.prosody import CONTOUR_SCALES, fill_unvoiced, utterance_prosody
from voxsmith.train.data import CorpusData, load_codes, neutral_or_all, save_codes

log = logging.getLogger(__name__)

SAMPLES_PER_CODE = 1024  # 4 mel frames × hop 256
F0_SCALE, ENERGY_SCALE = CONTOUR_SCALES  # semitones, dB: targets divided by these sit near unit variance


def code_prosody(samples: np.ndarray, sr: int = 22050, frame_ms: float = 5.0) -> np.ndarray:
    """(T,) float samples → ``(ceil(T / 1024), 2)``: per code window the mean voiced f0 in
    semitones re 100 Hz (NaN if under a third of its frames are voiced) and energy in dB."""
    x = np.ascontiguousarray(samples, dtype=np.float64)
    n = max(1, -(-len(x) // SAMPLES_PER_CODE))
    # a clear EngineError when WORLD is missing
    f0, t = world.track_f0(x, world.WorldConfig(sample_rate=sr, frame_period=frame_ms, f0_method="dio"))
    code = np.minimum((t * sr / SAMPLES_PER_CODE).astype(np.int64), n - 1)
    st = np.where(f0 > 0, 12.0 * np.log2(np.maximum(f0, 1e-3) / 100.0), 0.0)
    voiced = np.bincount(code, weights=(f0 > 0).astype(np.float64), minlength=n)
    frames = np.bincount(code, minlength=n).astype(np.float64)
    f0_mean = np.bincount(code, weights=st, minlength=n) / np.maximum(voiced, 1.0)
    f0_mean[voiced < np.maximum(frames, 1.0) / 3.0] = np.nan
    pad = np.zeros(n * SAMPLES_PER_CODE)
    pad[: len(x)] = x
    rms = np.sqrt(np.mean(pad.reshape(n, SAMPLES_PER_CODE) ** 2, axis=1))
    energy = 20.0 * np.log10(np.maximum(rms, 1e-5))
    return np.stack([f0_mean, energy], axis=1)


def prosody_cache(corpus: str | Path, split: str, data: CorpusData | None = None) -> dict[str, np.ndarray]:
    """Per-code prosody ``(N, 2)`` of every clip of ``split``, by clip id (computed once, then
    completed for clips added since)."""
    path = Path(corpus) / "cache" / f"prosody_{split}.npz"
    cached = load_codes(path) if path.is_file() else {}
    data = data or CorpusData(corpus, split)
    todo = [k for k, c in enumerate(data.clips) if c.row["id"] not in cached]
    if not todo:
        return cached
    new = {}
    for k in tqdm(todo, desc=f"prosody {split}", unit="clip", leave=False):
        new[data.clips[k].row["id"]] = code_prosody(data.clip_audio(k)).astype(np.float16)
    log.info("prosody: %d clips of %s measured (%d cached)", len(new), split, len(cached))
    out = {**cached, **new}
    save_codes(path, out)
    return out


def speaker_offsets(prosody: dict[str, np.ndarray], rows: list[dict]) -> dict[str, np.ndarray]:
    """Each speaker's median ``(f0, energy)`` over their neutral clips (all clips if none)."""
    out = {}
    for spk, ps in neutral_or_all((r, prosody[r["id"]]) for r in rows if r["id"] in prosody).items():
        cat = np.concatenate(ps).astype(np.float32)
        f0 = cat[:, 0][~np.isnan(cat[:, 0])]
        out[spk] = np.array([np.median(f0) if f0.size else 0.0, np.median(cat[:, 1])], np.float32)
    return out


def clip_measures(corpus: str | Path, data: CorpusData, clips: Iterable[int]) -> dict[int, np.ndarray]:
    """Utterance measures (``voxsmith.models.prosody``) of ``clips`` of ``data``'s split, by clip
    index, from the per-code prosody cache (completed where clips are missing) and the mels."""
    per_code = prosody_cache(corpus, data.split, data)
    return {k: utterance_prosody(per_code[data.clips[k].row["id"]], data.clip_mel(k).numpy()) for k in clips}


def targets(prosody: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Speaker-relative, scaled targets ``(N, 2)`` float32 (NaN f0 where unvoiced)."""
    return ((prosody.astype(np.float32) - offset) / np.array([F0_SCALE, ENERGY_SCALE], np.float32)).astype(
        np.float32
    )


def contour(prosody: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """The per-code contour S2M reads (``S2MConfig.contour_dim``): :func:`targets` with unvoiced
    codes' f0 interpolated from their voiced neighbours, ``(N, 2)`` float32 without NaN."""
    t = targets(prosody, offset)
    t[:, 0] = fill_unvoiced(t[:, 0])
    return np.nan_to_num(t, nan=0.0)


class ProsodyProbe(nn.Module):
    """Linear head on GPT latents ``(B, N, D)`` → speaker-relative f0 and energy ``(B, N, 2)``."""

    def __init__(self, dim: int):
        super().__init__()
        self.head = nn.Linear(dim, 2)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.head(latents)

    def loss(self, latents: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean squared error over valid codes (f0 over voiced ones); target ``(B, N, 2)`` with NaN
        f0 where unvoiced, lengths ``(B,)``."""
        pred = self(latents)
        n = min(pred.shape[1], target.shape[1])
        pred, target = pred[:, :n], target[:, :n]
        valid = torch.arange(n, device=pred.device)[None] < lengths[:, None]
        f0_ok = valid & ~torch.isnan(target[..., 0])
        err = (pred - torch.nan_to_num(target)) ** 2
        f0 = err[..., 0][f0_ok].mean() if bool(f0_ok.any()) else err.new_zeros(())
        return f0 + err[..., 1][valid].mean()
