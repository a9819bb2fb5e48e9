"""Timbre match: pull the broad spectral envelope of S2M's output toward the reference's.

S2M takes timbre from its in-context prompt, but the tiny size copies the prompt's long-term
spectrum only roughly, and a speaker judge (like a listener) hears a voice largely in that
envelope. The correction here is the difference of the two clips' mean log-mel over speech
frames, smoothed across mel bins (only the first ``COEFS`` cosine coefficients are kept, so
what a sentence's particular sounds do to its average spectrum stays) and scaled by a strength
from the model card (``timbre_match``, 0 = off), then offset so that the output's speech power
does not change: the loudness is the emotion's business, and a correction merely centred in the
log domain is not neutral in power (lifting the low bins, where the energy is, made a brightened
voice — an afraid preset's — louder than its neutral take). One constant per bin for the whole
utterance: frame-to-frame dynamics stay as S2M made them.

Shapes: M mel bins, T output frames, P prompt frames.
"""

from __future__ import annotations

import math

import torch

COEFS = 24  # cosine coefficients of the envelope kept (of 80 bins): the envelope, not the sounds
SPEECH_DB = 35.0  # frames within this many dB of the loudest count as speech
_LOGMEL_DB = 20.0 / math.log(10.0)


def speech_frames(mel: torch.Tensor) -> torch.Tensor:
    """``(M, S)``: the frames of ``mel (M, T)`` within ``SPEECH_DB`` of its loudest, as float."""
    mel = mel.float()
    frame_db = _LOGMEL_DB * torch.logsumexp(2.0 * mel, dim=0) / 2.0
    return mel[:, frame_db >= frame_db.max() - SPEECH_DB]


def speech_mean(mel: torch.Tensor) -> torch.Tensor:
    """``(M,)`` mean log-magnitude of the speech frames of ``mel (M, T)``."""
    return speech_frames(mel).mean(dim=1)


def bin_log_power(frames: torch.Tensor) -> torch.Tensor:
    """``(M,)`` log of each bin's mean power over ``frames (M, S)`` (log-magnitudes)."""
    return torch.logsumexp(2.0 * frames, dim=1) - math.log(frames.shape[1])


def speech_log_power(mel: torch.Tensor) -> torch.Tensor:
    """Scalar: log of the mean (over speech frames) total power of ``mel (M, T)``."""
    return torch.logsumexp(bin_log_power(speech_frames(mel)), dim=0)


def smooth(diff: torch.Tensor, coefs: int = COEFS) -> torch.Tensor:
    """``(M,)`` → its first ``coefs`` cosine coefficients (DCT-II) resynthesised, mean left out."""
    m = diff.shape[0]
    n = torch.arange(m, dtype=torch.float64)
    k = torch.arange(1, min(coefs, m), dtype=torch.float64)  # k = 0 (the mean) left out
    basis = torch.cos(math.pi / m * (n[None, :] + 0.5) * k[:, None])  # (C, M)
    weights = basis @ diff.double() * (2.0 / m)
    return (weights @ basis).to(diff.dtype)


def without_tilt(corr: torch.Tensor) -> torch.Tensor:
    """A per-bin correction ``(M,)`` less its spectral tilt: the slope it has over the band the
    tilt measure reads, taken off in the shape an emotion's tilt is put on (``tilt_mel``)."""
    from voxsmith.models.prosody import band_slope, tilt_shape

    shape = torch.from_numpy(tilt_shape(corr.shape[-1])).to(corr.dtype)
    return corr - band_slope(corr) * shape


def match_envelope(
    mel: torch.Tensor,
    prompt_mel: torch.Tensor,
    strength: float,
    coefs: int = COEFS,
    tilt: float | None = None,
) -> torch.Tensor:
    """``mel (M, T)`` with ``strength`` of the smoothed envelope difference to ``prompt_mel
    (M, P)`` added to every frame, its speech power kept (nothing to add returns ``mel`` itself).

    ``tilt``: the share of the difference's spectral tilt (its slope over the tilt band,
    :func:`without_tilt`) taken instead of ``strength`` (None: ``strength``). At 1 the output's
    tilt is the reference's whatever S2M made of it, so an emotion's tilt put on afterwards is
    the change from the voice's own; at 0 S2M's tilt stays."""
    tilt = strength if tilt is None else tilt
    if (strength <= 0.0 and tilt <= 0.0) or mel.shape[-1] == 0 or prompt_mel.shape[-1] == 0:
        return mel
    frames = speech_frames(mel)
    diff = smooth(speech_mean(prompt_mel) - frames.mean(dim=1), coefs)
    shape = without_tilt(diff)
    corr = strength * shape + tilt * (diff - shape)
    # the offset keeps the sum of the bins' mean speech power
    log_power = bin_log_power(frames)
    corr = corr + 0.5 * (torch.logsumexp(log_power, 0) - torch.logsumexp(log_power + 2.0 * corr, 0))
    return mel + corr.to(mel.dtype).to(mel.device)[:, None]
