"""The DiT velocity estimator of S2M's conditional flow matching.

Per frame the input is ``[x_t, prompt mel, projected content, style]`` merged to D channels
(``cond_x_merge_linear``); the transformer trunk runs with the timestep embedding as the
adaptive-norm condition; a long skip concatenates ``x_t`` again (``skip_linear``); a WaveNet
head conditioned on a second timestep embedding, a residual projection and an adaLN final
layer lead to a 1×1 convolution back to mel bins. Names and math follow the official
``indextts.s2mel.modules.diffusion_transformer.DiT``; the official parameters that its
forward never reads (``x_embedder``, ``cond_embedder``, ``content_mask_embedder``) are kept
so that its state dicts load strictly.

Speed: :meth:`DiT.prepare` does once per sampling run what does not depend on ``x_t`` or
``t`` (content projection, the prompt/content/style part of the merge, the masks);
:meth:`DiT.velocity` then only adds ``x_t``'s part, and with ``out_start > 0`` it computes the
last block's queries and everything after the trunk only for frames ``>= out_start`` (minus
the WaveNet's context), because the solver discards the prompt region anyway.

Shapes: B batch, M mel bins, T frames, C content width, S style width, D width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from voxsmith.errors import ConfigError
from voxsmith.models.s2m.config import DiTConfig, WaveNetConfig
from voxsmith.models.s2m.layers import WeightNormLinear, sequence_mask
from voxsmith.models.s2m.transformer import Transformer
from voxsmith.models.s2m.wavenet import WaveNet


class TimestepEmbedder(nn.Module):
    """t ``(B,)`` in [0, 1] → ``(B, D)``: sinusoids of 1000·t, then a 2-layer SiLU MLP."""

    def __init__(
        self, hidden: int, freq_dim: int = 256, max_period: float = 10000.0, scale: float = 1000.0
    ) -> None:
        super().__init__()
        self.scale = scale
        self.mlp = nn.Sequential(nn.Linear(freq_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        half = freq_dim // 2
        # persistent buffer: the official state dict carries it
        self.register_buffer(
            "freqs", torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        )

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        args = self.scale * t[:, None].float() * self.freqs[None]
        emb = torch.cat((torch.cos(args), torch.sin(args)), dim=-1)
        if self.mlp[0].in_features % 2:
            emb = torch.cat((emb, torch.zeros_like(emb[:, :1])), dim=-1)
        return self.mlp(emb)


class FinalLayer(nn.Module):
    """adaLN-modulated LayerNorm + weight-normalised linear: x ``(B, T, W)``, c ``(B, W)`` → ``(B, T, W)``."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.linear = WeightNormLinear(hidden, hidden)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(self.norm_final(x) * (1 + scale[:, None]) + shift[:, None])


def _plain_linear(module: nn.Module) -> bool:
    """True for an unwrapped ``nn.Linear``: its weight may be applied in column blocks.

    A fine-tuning adapter (e.g. a LoRA wrapper) is not, and must be called as a module.
    """
    return type(module) is nn.Linear


@dataclass
class DiTContext:
    """What a sampling run computes once: see :meth:`DiT.prepare`."""

    # (B, T, D) merge-linear output of prompt, content and style (bias included), for a plain merge layer
    static: torch.Tensor | None
    # (B, T, M + D + S) [prompt, projected content, style], when the merge layer is adapted instead
    rest: torch.Tensor | None
    key_mask: torch.Tensor | None  # (B, 1, 1, T) bool, None when every frame of every item is valid
    frame_mask: torch.Tensor  # (B, 1, T) float
    out_start: int  # first frame :meth:`DiT.velocity` returns (the requested start minus the WaveNet context)

    @property
    def batch(self) -> int:
        """B: stacked conditions (the estimator's batch)."""
        return (self.static if self.static is not None else self.rest).shape[0]  # type: ignore[union-attr]


class DiT(nn.Module):
    """``velocity(x_t, prompt_x, x_lens, t, style, cond)``: ``(B, M, T)`` → ``(B, M, T)``."""

    def __init__(self, cfg: DiTConfig, wavenet: WaveNetConfig) -> None:
        super().__init__()
        if wavenet.hidden_dim != cfg.hidden_dim:
            raise ConfigError("DiT: wavenet.hidden_dim must equal hidden_dim")
        self.cfg = cfg
        d, m, w = cfg.hidden_dim, cfg.in_channels, wavenet.hidden_dim
        self.transformer = Transformer(cfg)
        self.x_embedder = WeightNormLinear(m, d)  # official, unused
        self.cond_embedder = nn.Embedding(cfg.content_codebook_size, d)  # official (discrete content), unused
        self.cond_projection = nn.Linear(cfg.content_dim, d)
        self.t_embedder = TimestepEmbedder(d, cfg.time_embed_dim)
        self.register_buffer("input_pos", torch.arange(cfg.max_positions))  # persistent, as in the official
        self.t_embedder2 = TimestepEmbedder(w, cfg.time_embed_dim)
        self.conv1 = nn.Linear(d, w)
        self.conv2 = nn.Conv1d(w, m, 1)
        self.wavenet = WaveNet(wavenet, gin_channels=w)
        self.final_layer = FinalLayer(w)
        self.res_projection = nn.Linear(d, w)
        self.content_mask_embedder = nn.Embedding(1, d)  # official, unused
        self.skip_linear = nn.Linear(d + m, d)  # exists even without the long skip (state dict)
        self.cond_x_merge_linear = nn.Linear(d + 2 * m + cfg.style_dim, d)

    def forward(
        self,
        x: torch.Tensor,
        prompt_x: torch.Tensor,
        x_lens: torch.Tensor,
        t: torch.Tensor,
        style: torch.Tensor,
        cond: torch.Tensor,
    ) -> torch.Tensor:
        """x, prompt_x ``(B, M, T)``; x_lens ``(B,)`` or ``(1,)``; t ``(B,)``; style ``(B, S)``; cond ``(B, T, C)``."""
        return self.velocity(x, t, self.prepare(prompt_x, x_lens, style, cond))

    def prepare(
        self,
        prompt_x: torch.Tensor,
        x_lens: torch.Tensor,
        style: torch.Tensor,
        cond: torch.Tensor,
        out_start: int = 0,
    ) -> DiTContext:
        """Everything independent of ``x_t`` and ``t``; ``out_start``: frames before it may be skipped."""
        b, m, t = prompt_x.shape
        if m != self.cfg.in_channels or cond.shape[:2] != (b, t) or style.shape != (b, self.cfg.style_dim):
            raise ConfigError(
                f"DiT: inconsistent inputs prompt_x {tuple(prompt_x.shape)}, cond {tuple(cond.shape)}, "
                f"style {tuple(style.shape)} (expected (B, {self.cfg.in_channels}, T), (B, T, "
                f"{self.cfg.content_dim}), (B, {self.cfg.style_dim}))"
            )
        if t > self.input_pos.shape[0]:
            raise ConfigError(f"DiT: {t} frames exceed the {self.input_pos.shape[0]} positions of this model")
        content = self.cond_projection(cond)
        merge = self.cond_x_merge_linear
        static = rest = None
        if _plain_linear(merge):  # columns: [x (M) | prompt (M) | content (D) | style (S)]
            d = self.cfg.hidden_dim
            w_prompt, w_cond, w_style = (
                merge.weight[:, m : 2 * m],
                merge.weight[:, 2 * m : 2 * m + d],
                merge.weight[:, 2 * m + d :],
            )
            static = content @ w_cond.T + prompt_x.transpose(1, 2) @ w_prompt.T
            static = static + (style @ w_style.T + merge.bias)[:, None, :]
        else:
            rest = torch.cat((prompt_x.transpose(1, 2), content, style[:, None, :].expand(b, t, -1)), dim=-1)
        valid = sequence_mask(x_lens, t)  # (B|1, T)
        key_mask = None if bool(valid.all()) else valid[:, None, None, :]
        start = max(0, out_start - self.wavenet.context) if out_start > 0 else 0
        return DiTContext(static, rest, key_mask, valid[:, None, :].to(content.dtype), start)

    def velocity(self, x: torch.Tensor, t: torch.Tensor, ctx: DiTContext) -> torch.Tensor:
        """x ``(Bx, M, T)`` shared by ``k = ctx.batch / Bx`` stacked conditions; t ``(ctx.batch,)``.

        Returns ``(k·Bx, M, T - ctx.out_start)``: the velocity from frame ``ctx.out_start`` on, exact for
        every frame at or after the ``out_start`` given to :meth:`prepare`.
        """
        m = self.cfg.in_channels
        rep = ctx.batch // x.shape[0]
        xt = x.transpose(1, 2)  # (Bx, T, M)
        if ctx.static is not None:  # only x's columns of the merge are left to apply
            h = ctx.static + (xt @ self.cond_x_merge_linear.weight[:, :m].T).repeat(rep, 1, 1)
        else:
            h = self.cond_x_merge_linear(torch.cat((xt.repeat(rep, 1, 1), ctx.rest), dim=-1))
        t1 = self.t_embedder(t)  # (B, D)
        s = ctx.out_start
        h = self.transformer(h, t1[:, None, :], self.input_pos[: h.shape[1]], ctx.key_mask, q_start=s)
        if self.cfg.long_skip_connection:
            skip = self.skip_linear
            if _plain_linear(skip):  # columns: [transformer output (D) | x (M)]; x's part once for k
                d = self.cfg.hidden_dim
                x_part = (xt[:, s:] @ skip.weight[:, d:].T).repeat(rep, 1, 1)
                h = h @ skip.weight[:, :d].T + x_part + skip.bias
            else:
                h = skip(torch.cat((h, xt[:, s:].repeat(rep, 1, 1)), dim=-1))
        y = self.conv1(h).transpose(1, 2)  # (B, W, T - s)
        mask = ctx.frame_mask[..., s:]
        y = self.wavenet(y, mask, self.t_embedder2(t)[:, :, None]).transpose(1, 2) + self.res_projection(h)
        return self.conv2(self.final_layer(y, t1).transpose(1, 2))
