"""A speaker encoder that reads S2M's own log-mel: the judge of S2M's speaker-consistency loss.

The style encoder hears 16 kHz fbank made from a waveform, so it cannot judge a mel that S2M is
still estimating without a vocoder in between. This one is a CAMPPlus over the log-mel S2M
writes (80 bins, 22.05 kHz, hop 256), trained as a speaker classifier on the corpus
(:mod:`voxsmith.train.mel_speaker`) and used frozen, in training only: S2M's estimate of the
clean mel and the real target mel should sound like one speaker to it (``--speaker-loss``).

Only the per-item mean level is removed (not the per-bin mean the style encoder's fbank loses):
the broad spectral envelope is part of what a listener, and a speaker judge, hears as the voice.

Shapes: B batch, M mel bins (80), T frames, S embedding width.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from voxsmith.checkpoints import load_safetensors, save_safetensors, strict_load
from voxsmith.errors import ConfigError
from voxsmith.models.campplus import CAMPPlus, CAMPPlusConfig

KIND = "mel_speaker"
MIN_FRAMES = 8  # the stride-2 TDNN and std pooling need a few frames


@dataclass
class MelSpeakerConfig:
    """CAMPPlus size over S2M's log-mel."""

    campplus: CAMPPlusConfig = field(default_factory=CAMPPlusConfig.tiny)

    @property
    def dim(self) -> int:
        return self.campplus.embedding_size

    def to_dict(self) -> dict[str, Any]:
        return {"campplus": self.campplus.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MelSpeakerConfig:
        unknown = sorted(set(d) - {"campplus"})
        if unknown:
            raise ConfigError(f"mel_speaker config: unknown keys {unknown}")
        return cls(CAMPPlusConfig.from_dict(d.get("campplus", {})))

    @classmethod
    def tiny(cls) -> MelSpeakerConfig:
        return cls(CAMPPlusConfig.tiny())

    @classmethod
    def debug(cls) -> MelSpeakerConfig:
        return cls(CAMPPlusConfig.debug())


class MelSpeakerEncoder(nn.Module):
    """log-mel ``(B, M, T)`` → speaker embedding ``(B, S)`` (not normalised)."""

    def __init__(self, config: MelSpeakerConfig | None = None):
        super().__init__()
        self.config = config or MelSpeakerConfig.tiny()
        self.campplus = CAMPPlus(self.config.campplus)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if mel.dim() != 3 or mel.shape[1] != self.config.campplus.feat_dim or mel.shape[2] < MIN_FRAMES:
            raise ConfigError(
                f"mel_speaker: needs (B, {self.config.campplus.feat_dim}, >= {MIN_FRAMES}) log-mel, "
                f"got {tuple(mel.shape)}"
            )
        level = mel.mean(dim=(1, 2), keepdim=True)  # loudness only; the envelope stays
        return self.campplus((mel - level).transpose(1, 2))

    def similarity(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Cosine similarity ``(B,)`` of the embeddings of two mel batches of equal shape."""
        return F.cosine_similarity(self(a), self(b), dim=-1)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the self-describing ``mel_speaker`` checkpoint (float32: a training-only part)."""
        return save_safetensors(self.campplus.state_dict(), path, kind=KIND, config=self.config.to_dict())


def load_mel_speaker(path: str | os.PathLike) -> MelSpeakerEncoder:
    """Read a ``mel_speaker`` checkpoint (strict), frozen and in eval mode."""
    tensors, config, _ = load_safetensors(path, kind=KIND)
    enc = MelSpeakerEncoder(MelSpeakerConfig.from_dict(config))
    strict_load(enc.campplus, tensors, f"mel speaker encoder {path}")
    enc.eval()
    for p in enc.parameters():
        p.requires_grad_(False)
    return enc
