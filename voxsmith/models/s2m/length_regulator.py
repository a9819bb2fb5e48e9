"""Length regulator: content features at code rate → conditioning at mel-frame rate.

Reproduces the official ``InterpolateRegulator`` as IndexTTS2 uses it (continuous input,
one codebook, no f0): project the features to C channels, stretch them to the target frame
count by nearest-neighbour interpolation, refine with [Conv1d k3, GroupNorm, Mish] blocks
and a 1×1 convolution, and zero the frames past each item's length.

Shapes: B batch, N input frames (codes), T output frames (mel), Cin input width, C channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.errors import ConfigError
from voxsmith.models.s2m.config import LengthRegulatorConfig
from voxsmith.models.s2m.layers import sequence_mask


class LengthRegulator(nn.Module):
    """``(B, N, Cin)`` features (or ``(B, N)`` code ids) + target lengths ``(B,)`` → ``(B, T, C)``."""

    def __init__(self, cfg: LengthRegulatorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        layers: list[nn.Module] = []
        for _ in range(cfg.blocks):
            layers += [nn.Conv1d(c, c, 3, 1, 1), nn.GroupNorm(cfg.groups, c), nn.Mish()]
        layers.append(nn.Conv1d(c, c, 1, 1))
        # state-dict names follow the official module: model.{0,1,3,4,...}, embedding, mask_token
        self.model = nn.Sequential(*layers)
        self.embedding = nn.Embedding(cfg.codebook_size, c)  # discrete input only
        self.mask_token = nn.Parameter(torch.zeros(1, c))  # official parameter, unused by its forward
        self.content_in_proj = None if cfg.is_discrete else nn.Linear(cfg.in_channels, c)

    def forward(self, x: torch.Tensor, ylens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(out (B, T, C), ylens)`` with ``T = ylens.max()``; frames past ``ylens`` are zero."""
        if ylens.dim() != 1 or ylens.shape[0] != x.shape[0]:
            raise ConfigError(
                f"length regulator: ylens must be (B,) = ({x.shape[0]},), got {tuple(ylens.shape)}"
            )
        if int(ylens.min()) < 1:
            raise ConfigError(f"length regulator: target lengths must be >= 1, got {ylens.tolist()}")
        if self.content_in_proj is None:
            h = self.embedding(x if x.dim() == 2 else x[:, 0])
        else:
            if x.dim() != 3 or x.shape[-1] != self.cfg.in_channels:
                raise ConfigError(
                    f"length regulator: expected features (B, N, {self.cfg.in_channels}), got {tuple(x.shape)}"
                )
            h = self.content_in_proj(x)
        t = int(ylens.max())
        h = F.interpolate(h.transpose(1, 2), size=t, mode="nearest")  # (B, C, T)
        out = self.model(h).transpose(1, 2)  # (B, T, C)
        mask = sequence_mask(ylens, t).unsqueeze(-1).to(out.dtype)
        return out * mask, ylens
