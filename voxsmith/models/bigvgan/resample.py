"""Anti-aliased 2× resampling with windowed-sinc (Kaiser) low-pass filters.

BigVGAN evaluates its periodic activations at twice the sample rate so the harmonics they
create above Nyquist are filtered out instead of folding back (alias-free GAN recipe):
upsample 2× → activation → low-pass + decimate 2×. The filter taps are persistent buffers
(``upsample.filter``, ``downsample.lowpass.filter``), so an official checkpoint carries them;
freshly built modules compute the same taps.

Shapes: B batch, C channels, T samples.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.errors import ConfigError


def kaiser_sinc_filter1d(cutoff: float, half_width: float, kernel_size: int) -> torch.Tensor:
    """Low-pass taps ``(1, 1, K)``: sinc at ``cutoff`` (cycles/sample) under a Kaiser window, sum 1.

    The Kaiser β follows Kaiser's design formula for the attenuation a transition band of
    ``2·half_width`` allows with this many taps; taps sum to 1 so DC passes unchanged.
    Created on the current default device (e.g. ``meta`` for size checks).
    """
    return torch.tensor(_kaiser_sinc_taps(cutoff, half_width, kernel_size)).view(1, 1, kernel_size)


@functools.lru_cache(maxsize=32)
def _kaiser_sinc_taps(cutoff: float, half_width: float, kernel_size: int) -> tuple[float, ...]:
    # computed once per design on the CPU (a generator holds hundreds of identical filters)
    if cutoff == 0:
        return (0.0,) * kernel_size
    half = kernel_size // 2
    attenuation = 2.285 * (half - 1) * math.pi * (4 * half_width) + 7.95  # dB
    if attenuation > 50.0:
        beta = 0.1102 * (attenuation - 8.7)
    elif attenuation >= 21.0:
        beta = 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21.0)
    else:
        beta = 0.0
    cpu = torch.device("cpu")
    window = torch.kaiser_window(kernel_size, periodic=False, beta=beta, device=cpu)
    # even kernels are centred between two taps
    if kernel_size % 2 == 0:
        time = torch.arange(-half, half, device=cpu) + 0.5
    else:
        time = torch.arange(kernel_size, device=cpu) - half
    taps = 2 * cutoff * window * torch.sinc(2 * cutoff * time)
    return tuple((taps / taps.sum()).tolist())


class LowPassFilter1d(nn.Module):
    """Depthwise low-pass with replicate padding, optionally decimating. x: (B, C, T) → (B, C, ⌈T/stride⌉)."""

    def __init__(self, cutoff: float = 0.5, half_width: float = 0.6, stride: int = 1, kernel_size: int = 12):
        super().__init__()
        if not 0.0 <= cutoff <= 0.5:
            raise ConfigError(f"low-pass cutoff must be in [0, 0.5] cycles/sample, got {cutoff}")
        self.stride = stride
        self.pad_left = kernel_size // 2 - int(kernel_size % 2 == 0)
        self.pad_right = kernel_size // 2
        self.register_buffer("filter", kaiser_sinc_filter1d(cutoff, half_width, kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        x = F.pad(x, (self.pad_left, self.pad_right), mode="replicate")
        return F.conv1d(x, self.filter.expand(channels, -1, -1), stride=self.stride, groups=channels)


class UpSample1d(nn.Module):
    """Zero-stuffing upsampler with a Kaiser-sinc interpolation filter. x: (B, C, T) → (B, C, T·ratio)."""

    def __init__(self, ratio: int = 2, kernel_size: int | None = None):
        super().__init__()
        self.ratio = ratio
        self.kernel_size = int(6 * ratio // 2) * 2 if kernel_size is None else kernel_size
        # replicate-pad the input, then trim the transposed conv's edges back to exactly T·ratio
        self.pad = self.kernel_size // ratio - 1
        self.pad_left = self.pad * ratio + (self.kernel_size - ratio) // 2
        self.pad_right = self.pad * ratio + (self.kernel_size - ratio + 1) // 2
        self.register_buffer("filter", kaiser_sinc_filter1d(0.5 / ratio, 0.6 / ratio, self.kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        x = F.pad(x, (self.pad, self.pad), mode="replicate")
        # × ratio restores the amplitude the zero-stuffing divides out
        x = self.ratio * F.conv_transpose1d(
            x, self.filter.expand(channels, -1, -1), stride=self.ratio, groups=channels
        )
        return x[..., self.pad_left : -self.pad_right]


class DownSample1d(nn.Module):
    """Anti-aliasing low-pass then decimation. x: (B, C, T) → (B, C, T/ratio)."""

    def __init__(self, ratio: int = 2, kernel_size: int | None = None):
        super().__init__()
        self.ratio = ratio
        self.kernel_size = int(6 * ratio // 2) * 2 if kernel_size is None else kernel_size
        self.lowpass = LowPassFilter1d(0.5 / ratio, 0.6 / ratio, stride=ratio, kernel_size=self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lowpass(x)
