"""Style encoder: a reference clip → the style vector S2M is conditioned on.

The official path (IndexTTS2 ``infer_v2``): resample the reference to 16 kHz, 80-bin Kaldi
fbank, subtract the per-utterance mean, CAMPPlus → 192-d. ``StyleEncoder`` is that path as
one module; both sizes share it (``CAMPPlusConfig.indextts2()`` / ``tiny()``).

Checkpoint: one self-describing safetensors file of kind ``"style"`` whose config is
``StyleEncoderConfig.to_dict()`` and whose tensors are the CAMPPlus state dict under the
official key names (so an official ``campplus_cn_common.bin`` converts by re-saving).

Shapes: wave (B, T) at 16 kHz → fbank (B, frames, 80) → style (B, S).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from voxsmith.audio import Audio, AudioProcessor
from voxsmith.checkpoints import load_safetensors, save_safetensors, strict_load
from voxsmith.errors import AudioError, ConfigError
from voxsmith.models.campplus import CAMPPlus, CAMPPlusConfig
from voxsmith.models.fbank import FbankConfig, kaldi_fbank, mean_normalize

KIND = "style"
MIN_FRAMES = 3  # fbank frames: std pooling needs two frames after the stride-2 TDNN


@dataclass
class StyleEncoderConfig:
    """Frontend + CAMPPlus size."""

    campplus: CAMPPlusConfig = field(default_factory=CAMPPlusConfig.tiny)  # the encoder
    fbank: FbankConfig = field(default_factory=FbankConfig)  # Kaldi fbank at 16 kHz
    mean_norm: bool = True  # subtract the per-utterance fbank mean (official)

    def __post_init__(self) -> None:
        if self.fbank.n_mels != self.campplus.feat_dim:
            raise ConfigError(
                f"style: fbank n_mels {self.fbank.n_mels} != campplus feat_dim {self.campplus.feat_dim}"
            )

    @property
    def style_dim(self) -> int:
        return self.campplus.embedding_size

    @property
    def sample_rate(self) -> int:
        return self.fbank.sample_rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "campplus": self.campplus.to_dict(),
            "fbank": self.fbank.to_dict(),
            "mean_norm": self.mean_norm,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StyleEncoderConfig:
        unknown = sorted(set(d) - {"campplus", "fbank", "mean_norm"})
        if unknown:
            raise ConfigError(f"style config: unknown keys {unknown}")
        try:
            fbank = FbankConfig(**d.get("fbank", {}))
        except TypeError as exc:
            raise ConfigError(f"style config: bad fbank section ({exc})") from exc
        return cls(CAMPPlusConfig.from_dict(d.get("campplus", {})), fbank, bool(d.get("mean_norm", True)))

    @classmethod
    def indextts2(cls) -> StyleEncoderConfig:
        return cls(CAMPPlusConfig.indextts2())

    @classmethod
    def tiny(cls) -> StyleEncoderConfig:
        return cls(CAMPPlusConfig.tiny())

    @classmethod
    def debug(cls) -> StyleEncoderConfig:
        return cls(CAMPPlusConfig.debug())


class StyleEncoder(nn.Module):
    """16 kHz waveform → style vector. Parameters live in ``self.campplus`` (official keys)."""

    def __init__(self, config: StyleEncoderConfig | None = None):
        super().__init__()
        self.config = config or StyleEncoderConfig()
        self.campplus = CAMPPlus(self.config.campplus)

    @property
    def style_dim(self) -> int:
        return self.config.style_dim

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) or (T,) samples at 16 kHz → (B, frames, n_mels) (mean-normalised) fbank."""
        feats = kaldi_fbank(wave, self.config.fbank)
        if feats.dim() == 2:
            feats = feats.unsqueeze(0)
        return mean_normalize(feats) if self.config.mean_norm else feats

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) samples at 16 kHz → (B, S) style vectors."""
        return self.campplus(self.features(wave))

    @torch.inference_mode()
    def embed(self, audio: Audio) -> torch.Tensor:
        """One clip (any sample rate) → (S,) style vector, in eval mode."""
        sr = self.config.sample_rate
        samples = AudioProcessor.resample(audio.samples, audio.sample_rate, sr)
        n_frames = self.config.fbank.num_frames(len(samples))
        if n_frames < MIN_FRAMES:
            fb = self.config.fbank
            need = (fb.window_size + (MIN_FRAMES - 1) * fb.window_shift) / sr
            raise AudioError(
                f"style reference of {audio.seconds:.3f} s is too short: needs at least {need:.3f} s"
            )
        was_training = self.training
        self.eval()
        try:
            return self(torch.from_numpy(samples).float().unsqueeze(0))[0]
        finally:
            self.train(was_training)

    def save(self, path: str | os.PathLike, dtype: torch.dtype | None = None) -> Path:
        """Write the self-describing ``style`` checkpoint (float32 unless ``dtype``)."""
        return save_safetensors(
            self.campplus.state_dict(), path, kind=KIND, config=self.config.to_dict(), dtype=dtype
        )

    @classmethod
    def from_official(cls, state_dict: Mapping[str, torch.Tensor]) -> StyleEncoder:
        """The official CAMPPlus weights (``campplus_cn_common.bin`` state dict), loaded strictly."""
        enc = cls(StyleEncoderConfig.indextts2())
        strict_load(enc.campplus, state_dict, "official campplus")
        return enc.eval()


def load_style_encoder(path: str | os.PathLike) -> StyleEncoder:
    """Read a ``style`` checkpoint (strict: every key and shape must match its config)."""
    tensors, config, _ = load_safetensors(path, kind=KIND)
    enc = StyleEncoder(StyleEncoderConfig.from_dict(config))
    strict_load(enc.campplus, tensors, f"style encoder {path}")
    return enc.eval()
