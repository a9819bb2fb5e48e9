"""Small building blocks of the S2M stage: length masks and weight-normalised layers.

The official modules use ``torch.nn.utils.weight_norm``, whose state dict stores each
weight as ``weight_g`` (magnitude, one per output row) and ``weight_v`` (direction). These
layers keep that parametrisation and those names so official weights load as they are:
``weight = g · v / ‖v‖`` with the norm over every dimension but the first.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sequence_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """Lengths ``(B,)`` → boolean mask ``(B, T)``, True on valid frames (T = max_length or max length)."""
    t = int(lengths.max()) if max_length is None else max_length
    return torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]


def _weight_norm(v: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    dims = tuple(range(1, v.dim()))
    return v * (g / v.norm(dim=dims, keepdim=True))


class _WeightNormMixin:
    """``weight`` from ``(weight_g, weight_v)``, cached while gradients are off.

    Sampling evaluates the estimator many times with fixed weights, so the normalised weight
    is computed once; the cache is keyed on both parameters' version counters (optimizer
    steps and ``load_state_dict`` bump them) and never used when autograd is recording.
    """

    weight_g: nn.Parameter
    weight_v: nn.Parameter

    @property
    def weight(self) -> torch.Tensor:
        if torch.is_grad_enabled():
            return _weight_norm(self.weight_v, self.weight_g)
        key = (
            self.weight_v._version,
            self.weight_g._version,
            self.weight_v.data_ptr(),
            self.weight_g.data_ptr(),
        )
        cached = self.__dict__.get("_wn_cache")
        if cached is None or cached[0] != key:
            with torch.inference_mode(False), torch.no_grad():
                cached = (key, _weight_norm(self.weight_v, self.weight_g))
            self.__dict__["_wn_cache"] = cached
        return cached[1]


class WeightNormLinear(_WeightNormMixin, nn.Module):
    """``nn.Linear`` under weight normalisation: ``(..., in) → (..., out)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.weight_g = nn.Parameter(torch.empty(out_features, 1))
        self.weight_v = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight_v.is_meta:
            return
        nn.init.kaiming_uniform_(self.weight_v, a=math.sqrt(5))
        with torch.no_grad():
            self.weight_g.copy_(self.weight_v.norm(dim=1, keepdim=True))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight_v.shape[1])
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


class WeightNormConv1d(_WeightNormMixin, nn.Module):
    """Unpadded ``nn.Conv1d`` under weight normalisation: ``(B, Cin, T) → (B, Cout, T')``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1) -> None:
        super().__init__()
        self.dilation = dilation
        self.weight_g = nn.Parameter(torch.empty(out_channels, 1, 1))
        self.weight_v = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight_v.is_meta:
            return
        nn.init.kaiming_uniform_(self.weight_v, a=math.sqrt(5))
        with torch.no_grad():
            self.weight_g.copy_(self.weight_v.norm(dim=(1, 2), keepdim=True))
        bound = 1 / math.sqrt(self.weight_v.shape[1] * self.weight_v.shape[2])
        nn.init.uniform_(self.bias, -bound, bound)

    @property
    def kernel_size(self) -> int:
        return self.weight_v.shape[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        if w.shape[-1] == 1:  # 1×1: a plain matrix product is faster than the convolution kernels
            return torch.matmul(w[:, :, 0], x) + self.bias[:, None]
        return F.conv1d(x, w, self.bias, dilation=self.dilation)


class _NormConvHolder(nn.Module):
    """One level of nesting, so keys read ``<layer>.conv.conv.weight_g`` as in the official SConv1d."""

    def __init__(self, conv: WeightNormConv1d) -> None:
        super().__init__()
        self.conv = conv


class ReflectConv1d(nn.Module):
    """Length-preserving weight-normalised Conv1d that pads by reflection: ``(B, Cin, T) → (B, Cout, T)``.

    Mirrors the official ``SConv1d(norm='weight_norm')`` (stride 1, non-causal): total padding
    ``(k - 1)·d``, the larger half on the left; inputs shorter than the padding get zeros on
    the right before reflecting (as ``pad1d`` does), and those extra frames are cut again.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv = _NormConvHolder(WeightNormConv1d(in_channels, out_channels, kernel_size, dilation))
        total = (kernel_size - 1) * dilation
        self.pad_right = total // 2
        self.pad_left = total - self.pad_right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = self.pad_left, self.pad_right
        if left or right:
            extra = max(left, right) - x.shape[-1] + 1
            if extra > 0:  # reflection needs more frames than the padding; official pads zeros first
                x = F.pad(x, (0, extra))
                x = F.pad(x, (left, right), mode="reflect")[..., : x.shape[-1] + left + right - extra]
            else:
                x = F.pad(x, (left, right), mode="reflect")
        return self.conv.conv(x)
