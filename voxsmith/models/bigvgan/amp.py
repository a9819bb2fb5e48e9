"""Anti-aliased multi-periodicity (AMP) residual blocks of BigVGAN.

Each block stacks dilated convolutions with anti-aliased Snake activations in residual
branches; a generator stage runs several blocks with different kernels in parallel and
averages them (multi-receptive-field fusion, as HiFi-GAN).

Shapes: B batch, C channels, T samples (unchanged by a block).
"""

from __future__ import annotations

import torch
from torch import nn

from voxsmith.models.bigvgan.activations import Activation1d, make_snake
from voxsmith.models.weight_norm import WNConv1d


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the length of a stride-1 dilated convolution."""
    return (kernel_size * dilation - dilation) // 2


class AMPBlock1(nn.Module):
    """Per dilation d: x += conv_k(act(conv_{k,d}(act(x)))). x: (B, C, T) → (B, C, T).

    ``activations`` interleaves the two activations of each branch (even: before ``convs1``,
    odd: before ``convs2``), the official order of the state dict.
    """

    def __init__(
        self, channels: int, kernel_size: int, dilations: tuple[int, ...], activation: str, logscale: bool
    ):
        super().__init__()
        self.convs1 = nn.ModuleList(
            WNConv1d(channels, channels, kernel_size, 1, same_padding(kernel_size, d), d) for d in dilations
        )
        self.convs2 = nn.ModuleList(
            WNConv1d(channels, channels, kernel_size, 1, same_padding(kernel_size)) for _ in dilations
        )
        self.activations = nn.ModuleList(
            Activation1d(make_snake(activation, channels, logscale)) for _ in range(2 * len(dilations))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acts1, acts2 = self.activations[::2], self.activations[1::2]
        for c1, c2, a1, a2 in zip(self.convs1, self.convs2, acts1, acts2, strict=True):
            x = c2(a2(c1(a1(x)))) + x
        return x


class AMPBlock2(nn.Module):
    """Per dilation d: x += conv_{k,d}(act(x)) (the lighter block type "2"). x: (B, C, T) → (B, C, T)."""

    def __init__(
        self, channels: int, kernel_size: int, dilations: tuple[int, ...], activation: str, logscale: bool
    ):
        super().__init__()
        self.convs = nn.ModuleList(
            WNConv1d(channels, channels, kernel_size, 1, same_padding(kernel_size, d), d) for d in dilations
        )
        self.activations = nn.ModuleList(
            Activation1d(make_snake(activation, channels, logscale)) for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, act in zip(self.convs, self.activations, strict=True):
            x = conv(act(x)) + x
        return x
