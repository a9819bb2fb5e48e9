"""Vocoder slot (mel → waveform) and the built-in model's Vocos-type vocoder.

Contract of the slot: ``vocoder(mel)`` with mel ``(B, 80, frames)`` (voxsmith's log-mel,
``voxsmith.audio.MelConfig``) returns ``(B, frames * 256)`` float samples at 22050 Hz.
The official size fills it with BigVGAN (``voxsmith.models.bigvgan``); the tiny size with
``VocosVocoder``: ConvNeXt blocks at frame rate and an inverse-STFT head that predicts
log-magnitude and phase, which trains and runs fast on a CPU because nothing is upsampled
by convolution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class VocosConfig:
    """Size of the Vocos-type vocoder."""

    n_mels: int = 80  # input mel bins
    dim: int = 256  # ConvNeXt channel width
    intermediate_dim: int = 768  # ConvNeXt pointwise expansion
    num_layers: int = 8  # ConvNeXt blocks
    n_fft: int = 1024  # iSTFT size
    hop_length: int = 256  # must equal the mel hop
    kernel_size: int = 7  # depthwise conv kernel

    @classmethod
    def tiny(cls) -> VocosConfig:
        return cls()

    @classmethod
    def debug(cls) -> VocosConfig:
        return cls(dim=32, intermediate_dim=64, num_layers=2)

    def to_dict(self) -> dict:
        return asdict(self)


class ConvNeXtBlock(nn.Module):
    """Depthwise conv → LayerNorm → pointwise MLP, with a learnable residual scale. x: (B, C, T)."""

    def __init__(self, dim: int, intermediate_dim: int, kernel_size: int, layer_scale: float):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).transpose(1, 2)  # (B, T, C)
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).transpose(1, 2)


class VocosVocoder(nn.Module):
    """mel (B, n_mels, frames) → waveform (B, frames * hop)."""

    def __init__(self, cfg: VocosConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Conv1d(cfg.n_mels, cfg.dim, cfg.kernel_size, padding=cfg.kernel_size // 2)
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        scale = 1.0 / cfg.num_layers
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(cfg.dim, cfg.intermediate_dim, cfg.kernel_size, scale)
            for _ in range(cfg.num_layers)
        )
        self.final_norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.head = nn.Linear(cfg.dim, cfg.n_fft + 2)  # log-magnitude and phase of n_fft//2+1 bins
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.embed(mel)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        x = self.head(self.final_norm(x.transpose(1, 2))).transpose(1, 2)  # (B, n_fft+2, frames)
        log_mag, phase = x.chunk(2, dim=1)
        mag = torch.exp(log_mag).clamp(max=1e2)
        spec = torch.polar(mag, phase)
        frames = mel.shape[-1]
        return torch.istft(
            spec,
            self.cfg.n_fft,
            hop_length=self.cfg.hop_length,
            win_length=self.cfg.n_fft,
            window=self.window,
            center=True,
            length=frames * self.cfg.hop_length,
        )
