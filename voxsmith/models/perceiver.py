"""Perceiver resampler: a fixed number of learned latents cross-attend to a variable-length context.

The speaker conditioner resamples Conformer frames to 32 latents of the GPT width; the emotion
conditioner to a single latent. Key names follow the official module (``latents``,
``proj_context``, ``layers.N.0.to_q/to_kv/to_out``, ``layers.N.1.0/.2``, ``norm.gamma``).

Shapes: B batch, N latents, T context frames, C context width, D latent width,
H heads of ``dim_head`` each.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GEGLU(nn.Module):
    """``x, gate = split(x)``; ``gelu(gate) · x`` (exact gelu)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = x.chunk(2, dim=-1)
        return F.gelu(gate) * x


def feed_forward(dim: int, mult: float) -> nn.Sequential:
    """Linear(D → 2·inner) → GEGLU → Linear(inner → D) with ``inner = int(D·mult·2/3)``."""
    inner = int(dim * mult * 2 / 3)
    return nn.Sequential(nn.Linear(dim, inner * 2), GEGLU(), nn.Linear(inner, dim))


class RMSNorm(nn.Module):
    """``normalize(x) · sqrt(D) · gamma``."""

    def __init__(self, dim: int):
        super().__init__()
        self.scale = dim**0.5
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1) * self.scale * self.gamma


class LatentAttention(nn.Module):
    """Latents attend to ``[latents; context]`` (the queries are part of the keys)."""

    def __init__(self, dim: int, dim_head: int, heads: int):
        super().__init__()
        self.heads = heads
        inner = dim_head * heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(
        self, latents: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """``latents (B, N, D)``, ``context (B, T, D)``, ``mask (B, N+T)`` bool (True = attend)."""
        b, n, _ = latents.shape
        kv_in = torch.cat([latents, context], dim=1)
        q = self.to_q(latents).view(b, n, self.heads, -1).transpose(1, 2)  # (B, H, N, dh)
        k, v = self.to_kv(kv_in).chunk(2, dim=-1)
        k = k.view(b, kv_in.size(1), self.heads, -1).transpose(1, 2)  # (B, H, N+T, dh)
        v = v.view(b, kv_in.size(1), self.heads, -1).transpose(1, 2)
        attn_mask = None if mask is None else mask[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))


class PerceiverResampler(nn.Module):
    """``depth`` × (latent attention + GEGLU feed-forward), residual, then RMSNorm."""

    def __init__(
        self,
        dim: int,
        *,
        depth: int = 2,
        dim_context: int | None = None,
        num_latents: int = 32,
        dim_head: int = 64,
        heads: int = 8,
        ff_mult: float = 4.0,
    ):
        super().__init__()
        dim_context = dim if dim_context is None else dim_context
        # the official module has no projection (no keys) when the widths already agree
        self.proj_context = nn.Linear(dim_context, dim) if dim_context != dim else nn.Identity()
        self.latents = nn.Parameter(torch.empty(num_latents, dim))
        nn.init.normal_(self.latents, std=0.02)
        self.layers = nn.ModuleList(
            nn.ModuleList([LatentAttention(dim, dim_head, heads), feed_forward(dim, ff_mult)])
            for _ in range(depth)
        )
        self.norm = RMSNorm(dim)

    def forward(self, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``context (B, T, C)``, ``mask (B, N+T)`` bool over [latents; context] → ``(B, N, D)``."""
        context = self.proj_context(context)
        latents = self.latents.unsqueeze(0).expand(context.size(0), -1, -1)
        for attn, ff in self.layers:
            latents = attn(latents, context, mask) + latents
            latents = ff(latents) + latents
        return self.norm(latents)
