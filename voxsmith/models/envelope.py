"""Timbre match: pull the broad spectral envelope of S2M's output toward the reference's.

S2M takes timbre from its in-context prompt, but the tiny size copies the prompt's long-term
spectrum only roughly, and a speaker judge (like a listener) hears a voice largely in that
envelope. The correction here is the difference of the two clips' mean log-mel over speech
frames, smoothed across mel bins (only the first ``COEFS`` cosine coefficients are kept, so
what a sentence's particular sounds do to its average spectrum stays), without its mean (the
loudness is the emotion's business) and scaled by a strength from the model card
(``timbre_match``, 0 = off). One constant per bin for the whole utterance: frame-to-frame
dynamics stay as S2M made them.

Shapes: M mel bins, T output frames, P prompt frames.
"""

from __future__ import annotations

import math

import torch

COEFS = 24  # cosine coefficients of the envelope kept (of 80 bins): the envelope, not the sounds
SPEECH_DB = 35.0  # frames within this many dB of the loudest count as speech
_LOGMEL_DB = 20.0 / math.log(10.0)


def speech_mean(mel: torch.Tensor) -> torch.Tensor:
    """``(M,)`` mean log-magnitude of the speech frames of ``mel (M, T)``."""
    frame_db = _LOGMEL_DB * torch.logsumexp(2.0 * mel.float(), dim=0) / 2.0
    keep = frame_db >= frame_db.max() - SPEECH_DB
    return mel.float()[:, keep].mean(dim=1)


def smooth(diff: torch.Tensor, coefs: int = COEFS) -> torch.Tensor:
    """``(M,)`` → its first ``coefs`` cosine coefficients (DCT-II) resynthesised, mean left out."""
    m = diff.shape[0]
    n = torch.arange(m, dtype=torch.float64)
    k = torch.arange(1, min(coefs, m), dtype=torch.float64)  # k = 0 (the mean) left out
    basis = torch.cos(math.pi / m * (n[None, :] + 0.5) * k[:, None])  # (C, M)
    weights = basis @ diff.double() * (2.0 / m)
    return (weights @ basis).to(diff.dtype)


def match_envelope(
    mel: torch.Tensor, prompt_mel: torch.Tensor, strength: float, coefs: int = COEFS
) -> torch.Tensor:
    """``mel (M, T)`` with ``strength`` of the smoothed envelope difference to ``prompt_mel
    (M, P)`` added to every frame (``strength`` 0 returns ``mel`` itself)."""
    if strength <= 0.0 or mel.shape[-1] == 0 or prompt_mel.shape[-1] == 0:
        return mel
    diff = speech_mean(prompt_mel) - speech_mean(mel)
    return mel + (strength * smooth(diff, coefs)).to(mel.dtype).to(mel.device)[:, None]
