"""Whisper encoder states as the pronunciation recogniser's input (``CheckerConfig.frontend``).

A recogniser that learns from log-mel hears phones through the few engine voices of the
corpus, and on a new voice it confuses readings it tells apart on known ones. Whisper
base's encoder learned from a great many voices; its states say what was said largely
apart from who said it, so a small head on them has less of the voice to unlearn.

    (N,) samples at 22050 Hz -> 16 kHz (the ASR judge's resampling)
      -> Whisper log-mel -> encoder, context max(10 s, clip + 2 s) of the clip padded with silence
      -> (d_model, ceil(50 * seconds)) float32 at 50 Hz (512 channels for base)

The context is the one ``WhisperBackend`` decodes with when its window is fitted to the clip,
and the backend keeps the last encoder pass: the content check of the same clip reuses it.
Clips longer than ``PIECE`` seconds are encoded piece by piece.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from voxsmith.audio import SAMPLE_RATE, Audio
from voxsmith.eval.common import load_audio

FRAME_RATE = 50  # encoder states per second (Whisper: 100 Hz log-mel, stride-2 convolution)
PIECE = 28.0  # seconds encoded at once (one 30 s window with the 2 s margin)


def n_frames(n_samples: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Encoder states of a clip of ``n_samples``: ``ceil(50 * seconds)``."""
    return max(1, math.ceil(n_samples * FRAME_RATE / sample_rate))


def whisper_features(
    samples: np.ndarray | torch.Tensor, backend, sample_rate: int = SAMPLE_RATE
) -> torch.Tensor:
    """(N,) samples at ``sample_rate`` -> (d_model, n_frames(N)) encoder states of ``backend``
    (a ``voxsmith.eval.whisper.WhisperBackend``)."""
    x = np.asarray(torch.as_tensor(samples, dtype=torch.float32).reshape(-1).numpy())
    x16 = load_audio(Audio(x, sample_rate), backend.sample_rate)
    step = int(PIECE * backend.sample_rate)
    pieces = []
    for start in range(0, max(1, len(x16)), step):
        piece = x16[start : start + step]
        states = np.asarray(backend.encoder_output(piece, backend.context_seconds(len(piece))))[0]
        pieces.append(states[: n_frames(len(piece), backend.sample_rate)])
    out = torch.from_numpy(np.concatenate(pieces, 0).T.copy()).float()
    total = n_frames(len(x), sample_rate)
    if out.shape[-1] < total:  # rounding of the resampled length: repeat the last state
        out = torch.cat([out, out[:, -1:].expand(-1, total - out.shape[-1])], -1)
    return out[:, :total]
