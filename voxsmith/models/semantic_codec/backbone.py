"""The Vocos ConvNeXt backbone RepCodec uses as encoder and decoder body.

embed (Conv1d k7, Cin → C) → LayerNorm → N ConvNeXt blocks → final LayerNorm, under the
official key names (``embed``, ``norm``, ``convnext.<i>``, ``final_layer_norm``). The
ConvNeXt block is the one of voxsmith's Vocos-type vocoder (same keys and math).

Shapes: B batch, Cin input channels, C backbone width, T frames.
"""

from __future__ import annotations

import torch
from torch import nn

from voxsmith.models.vocoder import ConvNeXtBlock


class VocosBackbone(nn.Module):
    """x (B, Cin, T) → (B, T, C): note the channels-last output, as the official backbone."""

    def __init__(self, input_channels: int, dim: int, intermediate_dim: int, num_layers: int):
        super().__init__()
        self.embed = nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        # layer scale 1/N keeps the residual stack near identity at init
        self.convnext = nn.ModuleList(
            ConvNeXtBlock(dim, intermediate_dim, kernel_size=7, layer_scale=1.0 / num_layers)
            for _ in range(num_layers)
        )
        self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.convnext:
            x = block(x)
        return self.final_layer_norm(x.transpose(1, 2))
