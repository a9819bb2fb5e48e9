"""WaveNet head of the DiT: gated dilated convolutions conditioned on the timestep.

Reproduces the official ``WN`` (VITS-style) as the DiT uses it: every convolution is a
weight-normalised, length-preserving Conv1d that pads by reflection (the official
``SConv1d`` ignores the zero ``padding=`` it is given and reflect-pads instead). Layer i:
``a = tanh(h[:W] + g_i[:W]) · sigmoid(h[W:] + g_i[W:])`` with ``h = in_layer_i(x)`` and
``g_i`` the i-th slice of ``cond_layer(g)``; its 1×1 ``res_skip`` output adds a residual to
``x`` (masked) and a skip to the output (the last layer has skip channels only).

Shapes: B batch, W channels, T frames, G conditioning channels (= W in the DiT).
"""

from __future__ import annotations

import torch
from torch import nn

from voxsmith.models.s2m.config import WaveNetConfig
from voxsmith.models.s2m.layers import ReflectConv1d


class WaveNet(nn.Module):
    """x ``(B, W, T)``, mask ``(B|1, 1, T)``, g ``(B, G, 1)`` → ``(B, W, T)`` (masked)."""

    def __init__(self, cfg: WaveNetConfig, gin_channels: int) -> None:
        super().__init__()
        w = cfg.hidden_dim
        self.hidden = w
        self.n_layers = cfg.num_layers
        self.cond_layer = ReflectConv1d(gin_channels, 2 * w * cfg.num_layers, 1)
        self.in_layers = nn.ModuleList(
            ReflectConv1d(w, 2 * w, cfg.kernel_size, dilation=cfg.dilation_rate**i)
            for i in range(cfg.num_layers)
        )
        self.res_skip_layers = nn.ModuleList(
            ReflectConv1d(w, 2 * w if i < cfg.num_layers - 1 else w, 1) for i in range(cfg.num_layers)
        )
        self.drop = nn.Dropout(cfg.p_dropout)

    @property
    def context(self) -> int:
        """Frames of left context an output frame depends on (the sum of the layers' left paddings)."""
        return sum(layer.pad_left for layer in self.in_layers)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        w = self.hidden
        g = self.cond_layer(g)  # (B, 2·W·L, 1): one gate bias per layer, broadcast over time
        out = torch.zeros_like(x)
        for i, (conv, res_skip) in enumerate(zip(self.in_layers, self.res_skip_layers, strict=True)):
            h = conv(x) + g[:, 2 * w * i : 2 * w * (i + 1)]
            acts = self.drop(torch.tanh(h[:, :w]) * torch.sigmoid(h[:, w:]))
            rs = res_skip(acts)
            if i < self.n_layers - 1:
                x = (x + rs[:, :w]) * mask
                out = out + rs[:, w:]
            else:
                out = out + rs
        return out * mask
