"""BigVGAN's periodic activations and their anti-aliased wrapper.

Snake ``x + 1/α · sin²(αx)`` and SnakeBeta ``x + 1/β · sin²(αx)`` with one learned α (and β)
per channel give the generator a periodic inductive bias for waveforms. With
``logscale`` the parameters are stored as logs (init 0, i.e. scale 1) as in BigVGAN v2.

Shapes: B batch, C channels, T samples.
"""

from __future__ import annotations

import torch
from torch import nn

from voxsmith.models.bigvgan.resample import DownSample1d, UpSample1d

_NO_DIV_BY_ZERO = 1e-9  # keeps 1/α finite when a learned scale reaches 0


class Snake(nn.Module):
    """``x + 1/α · sin²(αx)`` per channel. x: (B, C, T) → (B, C, T)."""

    def __init__(self, channels: int, logscale: bool = True):
        super().__init__()
        self.logscale = logscale
        self.alpha = nn.Parameter(torch.zeros(channels) if logscale else torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha[None, :, None]
        if self.logscale:
            alpha = torch.exp(alpha)
        return x + (1.0 / (alpha + _NO_DIV_BY_ZERO)) * torch.sin(x * alpha).pow(2)


class SnakeBeta(nn.Module):
    """``x + 1/β · sin²(αx)``: frequency α and magnitude β learned apart. x: (B, C, T) → (B, C, T)."""

    def __init__(self, channels: int, logscale: bool = True):
        super().__init__()
        self.logscale = logscale
        init = torch.zeros(channels) if logscale else torch.ones(channels)
        self.alpha = nn.Parameter(init.clone())
        self.beta = nn.Parameter(init.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha, beta = self.alpha[None, :, None], self.beta[None, :, None]
        if self.logscale:
            alpha, beta = torch.exp(alpha), torch.exp(beta)
        return x + (1.0 / (beta + _NO_DIV_BY_ZERO)) * torch.sin(x * alpha).pow(2)


def make_snake(kind: str, channels: int, logscale: bool) -> nn.Module:
    """The configured periodic activation (``"snake"`` or ``"snakebeta"``)."""
    return SnakeBeta(channels, logscale) if kind == "snakebeta" else Snake(channels, logscale)


class Activation1d(nn.Module):
    """An activation evaluated at 2× rate: upsample → act → low-pass and decimate. (B, C, T) → (B, C, T)."""

    def __init__(self, act: nn.Module, ratio: int = 2, kernel_size: int = 12):
        super().__init__()
        self.act = act
        self.upsample = UpSample1d(ratio, kernel_size)
        self.downsample = DownSample1d(ratio, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(self.act(self.upsample(x)))
