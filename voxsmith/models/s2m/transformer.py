"""The DiT's transformer trunk: RoPE attention, SwiGLU, adaptive RMSNorm, U-ViT skips.

Same math and state-dict names as the official ``gpt_fast`` Transformer in the non-causal,
no-KV-cache configuration IndexTTS2's DiT uses:

- every norm is an adaptive RMSNorm: ``(w, b) = project_layer(c)``, ``w · rmsnorm(x) + b``,
  where ``c`` is the timestep embedding and ``rmsnorm`` has its own learned weight;
- rotary embeddings rotate adjacent pairs ``(x[2i], x[2i+1])`` of each head by position·θ_i,
  θ_i = base^(-2i/d), computed in fp32 (positions come from the DiT's ``input_pos`` buffer);
- attention masks are key-padding masks only;
- U-ViT skips: blocks ``i < depth // 2`` push their output, blocks ``i > depth // 2`` pop the
  most recent one (LIFO) and merge it through ``skip_in_linear(cat[x, skip])``.

Speed: the RoPE table is computed once per device and cached; ``q_start`` lets the last
block compute queries, output projection and feed-forward only for the frames the caller
needs (the keys and values still cover every frame, so the result is unchanged).

Shapes: B batch, T frames, D width, H heads, d = D / H head size, F SwiGLU width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.models.s2m.config import DiTConfig


class RMSNorm(nn.Module):
    """RMS normalisation over the last dimension with a learned gain: ``(..., D) → (..., D)``."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x.float(), (x.shape[-1],), self.weight.float(), self.eps).to(x.dtype)


class AdaptiveRMSNorm(nn.Module):
    """``w(c) · RMSNorm(x) + b(c)``: x ``(B, T, D)``, c ``(B, 1, D)`` → ``(B, T, D)``."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.project_layer = nn.Linear(dim, 2 * dim)
        self.norm = RMSNorm(dim, eps)

    def modulation(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(w, b)``, each ``(B, 1, D)``: depends on the timestep only, so callers may reuse it."""
        w, b = self.project_layer(c).chunk(2, dim=-1)
        return w, b

    def forward(self, x: torch.Tensor, mod: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        w, b = mod
        return torch.addcmul(b, w, self.norm(x))


class RotaryTable:
    """Cached rotations ``exp(i·p·θ)`` ``(P, d/2)`` (complex64) for positions 0..P-1, one per device.

    Not in the state dict (the official computes it at ``setup_caches``); built once, in fp32.
    """

    def __init__(self, head_dim: int, base: float) -> None:
        self.head_dim = head_dim
        self.base = base
        self._cache: dict[torch.device, torch.Tensor] = {}

    def __call__(self, positions: torch.Tensor) -> torch.Tensor:
        """Complex rotations ``(T, 1, d/2)`` at integer ``positions`` ``(T,)``."""
        need = int(positions.max()) + 1 if positions.numel() else 1
        table = self._cache.get(positions.device)
        if table is None or table.shape[0] < need:
            n = (max(need, 1024) + 1023) // 1024 * 1024
            dev = positions.device
            # ordinary tensors even when first built under inference_mode, so training can reuse them
            with torch.inference_mode(False):
                half = torch.arange(0, self.head_dim, 2, device=dev)[: self.head_dim // 2].float()
                inv_freq = 1.0 / (self.base ** (half / self.head_dim))
                angles = torch.outer(torch.arange(n, device=dev).float(), inv_freq)
                table = torch.polar(torch.ones_like(angles), angles)
            self._cache[dev] = table
        return table[positions][:, None, :]


def apply_rotary(x: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """Rotate adjacent pairs ``(x[2i], x[2i+1])`` as complex numbers: x ``(B, T, H, d)``, rot ``(T, 1, d/2)``."""
    xc = torch.view_as_complex(x.float().unflatten(-1, (-1, 2)))
    return torch.view_as_real(xc * rot).flatten(-2).to(x.dtype)


class Attention(nn.Module):
    """Multi-head self-attention with RoPE; ``(B, T, D) → (B, T - q_start, D)``."""

    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        self.heads = cfg.num_heads
        self.head_dim = cfg.head_dim
        inner = cfg.num_heads * cfg.head_dim
        self.wqkv = nn.Linear(cfg.hidden_dim, 3 * inner, bias=False)
        self.wo = nn.Linear(inner, cfg.hidden_dim, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        rot: torch.Tensor,
        mask: torch.Tensor | None,
        q_start: int = 0,
    ) -> torch.Tensor:
        """x ``(B, T, D)``; rot ``(T, 1, d/2)``; mask ``(B|1, 1, 1, T)`` bool (True = attend) or None."""
        b, t, _ = x.shape
        inner = self.heads * self.head_dim
        if q_start == 0:
            qkv = self.wqkv(x).view(b, t, 3 * self.heads, self.head_dim)
            qk = apply_rotary(qkv[:, :, : 2 * self.heads], rot)  # q and k in one pass
            q, k = qk[:, :, : self.heads], qk[:, :, self.heads :]
            v = qkv[:, :, 2 * self.heads :]
        else:  # queries only for frames >= q_start; keys/values for all frames
            # (the projection runs as a module call on every frame, so fine-tuning adapters apply)
            qkv = self.wqkv(x)
            q = qkv[:, q_start:, :inner].reshape(b, t - q_start, self.heads, self.head_dim)
            kv = qkv[:, :, inner:].view(b, t, 2 * self.heads, self.head_dim)
            q = apply_rotary(q, rot[q_start:])
            k = apply_rotary(kv[:, :, : self.heads], rot)
            v = kv[:, :, self.heads :]
        y = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask
        )
        return self.wo(y.transpose(1, 2).reshape(b, t - q_start, inner))


class FeedForward(nn.Module):
    """SwiGLU: ``w2(silu(w1 x) · w3 x)``, ``(..., D) → (..., D)``."""

    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        self.w1 = nn.Linear(cfg.hidden_dim, cfg.intermediate_size, bias=False)
        self.w3 = nn.Linear(cfg.hidden_dim, cfg.intermediate_size, bias=False)
        self.w2 = nn.Linear(cfg.intermediate_size, cfg.hidden_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.w1(x)
        if torch.is_grad_enabled():
            return self.w2(F.silu(h) * self.w3(x))
        # sampling: gate in place, saving two (B, T, F) temporaries per block
        return self.w2(F.silu(h, inplace=True).mul_(self.w3(x)))


class TransformerBlock(nn.Module):
    """Pre-norm block with adaptive norms and an optional U-ViT skip input."""

    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        self.attention = Attention(cfg)
        self.feed_forward = FeedForward(cfg)
        self.ffn_norm = AdaptiveRMSNorm(cfg.hidden_dim, cfg.norm_eps)
        self.attention_norm = AdaptiveRMSNorm(cfg.hidden_dim, cfg.norm_eps)
        self.skip_in_linear = (
            nn.Linear(2 * cfg.hidden_dim, cfg.hidden_dim) if cfg.uvit_skip_connection else None
        )

    def forward(
        self,
        x: torch.Tensor,
        c: torch.Tensor,
        rot: torch.Tensor,
        mask: torch.Tensor | None,
        skip: torch.Tensor | None = None,
        q_start: int = 0,
    ) -> torch.Tensor:
        """x ``(B, T, D)``, c ``(B, 1, D)`` → ``(B, T - q_start, D)``."""
        if skip is not None and self.skip_in_linear is not None:
            x = self.skip_in_linear(torch.cat((x, skip), dim=-1))
        h = x[:, q_start:] + self.attention(
            self.attention_norm(x, self.attention_norm.modulation(c)), rot, mask, q_start
        )
        return h + self.feed_forward(self.ffn_norm(h, self.ffn_norm.modulation(c)))


class Transformer(nn.Module):
    """``depth`` blocks and a final adaptive norm: x ``(B, T, D)``, c ``(B, 1, D)`` → ``(B, T - q_start, D)``."""

    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(TransformerBlock(cfg) for _ in range(cfg.depth))
        self.norm = AdaptiveRMSNorm(cfg.hidden_dim, cfg.norm_eps)
        self.uvit = cfg.uvit_skip_connection
        self.rotary = RotaryTable(cfg.head_dim, cfg.rope_base)

    def forward(
        self,
        x: torch.Tensor,
        c: torch.Tensor,
        positions: torch.Tensor,
        mask: torch.Tensor | None,
        q_start: int = 0,
    ) -> torch.Tensor:
        """positions ``(T,)`` int; mask ``(B|1, 1, 1, T)`` bool or None; q_start: first frame returned."""
        rot = self.rotary(positions)
        depth = len(self.layers)
        skips: list[torch.Tensor] = []
        for i, layer in enumerate(self.layers):
            skip = skips.pop() if self.uvit and i > depth // 2 else None
            last = i == depth - 1
            x = layer(x, c, rot, mask, skip, q_start if last else 0)
            if self.uvit and i < depth // 2:
                skips.append(x)
        return self.norm(x, self.norm.modulation(c))
