"""Conformer encoder of the GPT's speaker and emotion conditioners.

The official conditioners are WeNet-style Conformers (``input_layer: conv2d2``, relative
position attention, convolution module, no macaron FFN); this module reproduces their math
and their state-dict names (``embed.conv.0``, ``encoders.N.self_attn.linear_pos``, ...), so
the official weights load as they are.

Shapes: B batch, T input frames, T' = (T - 1) // 2 frames after subsampling, F input
feature size, D ``output_size``, H heads, d = D / H.

Two facts of the official math worth knowing:
- the "relative" attention adds ``(q + pos_bias_v) · linear_pos(pe[:T'])`` without the
  Transformer-XL shift, i.e. an absolute sinusoidal term, and ``pe`` is a persistent buffer;
- masks are key-padding masks only; padded frames are zeroed before and after the
  convolution module so they never leak into real frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.errors import AudioError, ConfigError


@dataclass
class ConformerConfig:
    """Sizes of one Conformer encoder (official config.yaml names where they exist)."""

    input_size: int = 1024  # F: feature size of the conditioning input (w2v-BERT 2.0 hidden size)
    output_size: int = 512  # D: model width of the encoder
    attention_heads: int = 8  # H: attention heads
    linear_units: int = 2048  # hidden width of the position-wise feed-forward
    num_blocks: int = 6  # number of Conformer blocks
    input_layer: str = "conv2d2"  # subsampling front end: "conv2d2" (x1/2) or "linear" (none)
    cnn_module_kernel: int = 15  # depthwise convolution kernel (odd)
    dropout: float = 0.0  # dropout inside the blocks (official: 0.0)
    max_positions: int = 5000  # rows of the sinusoidal table ``embed.pos_enc.pe``

    def __post_init__(self) -> None:
        if self.output_size % self.attention_heads:
            raise ConfigError(
                f"conformer: output_size {self.output_size} not divisible by attention_heads {self.attention_heads}"
            )
        if self.input_layer not in ("conv2d2", "linear"):
            raise ConfigError(f"conformer: input_layer {self.input_layer!r} unsupported (conv2d2 or linear)")
        if self.cnn_module_kernel % 2 != 1:
            raise ConfigError(f"conformer: cnn_module_kernel must be odd, got {self.cnn_module_kernel}")

    @classmethod
    def speaker_indextts2(cls) -> ConformerConfig:
        """The official speaker conditioner: 6 blocks, 512-d, FFN 2048, 8 heads."""
        return cls(input_size=1024, output_size=512, attention_heads=8, linear_units=2048, num_blocks=6)

    @classmethod
    def emotion_indextts2(cls) -> ConformerConfig:
        """The official emotion conditioner: 4 blocks, 512-d, FFN 1024, 4 heads."""
        return cls(input_size=1024, output_size=512, attention_heads=4, linear_units=1024, num_blocks=4)

    @classmethod
    def tiny(cls, input_size: int = 80) -> ConformerConfig:
        """A small encoder for the built-in model and unit tests."""
        return cls(input_size=input_size, output_size=64, attention_heads=2, linear_units=128, num_blocks=2)


def sinusoid_table(rows: int, dim: int) -> torch.Tensor:
    """``(1, rows, dim)`` table: even columns sin(pos·f_i), odd columns cos(pos·f_i)."""
    pe = torch.zeros(rows, dim)
    position = torch.arange(rows, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * -(math.log(10000.0) / dim))
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq)
    return pe.unsqueeze(0)


class RelPositionalEncoding(nn.Module):
    """Scales the input by sqrt(D) and returns the first T' rows of the sinusoid table."""

    def __init__(self, dim: int, max_positions: int):
        super().__init__()
        self.scale = math.sqrt(dim)
        # persistent: the official state dict carries it (``embed.pos_enc.pe``)
        self.register_buffer("pe", sinusoid_table(max_positions, dim), persistent=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T', D)`` → ``(x·sqrt(D), pos (1, T', D))``."""
        if x.size(1) >= self.pe.size(1):
            raise AudioError(
                f"conformer: {x.size(1)} frames after subsampling exceed the position table ({self.pe.size(1)})"
            )
        return x * self.scale, self.pe[:, : x.size(1)]


class Conv2dSubsampling2(nn.Module):
    """Conv2d(1→D, 3, stride 2) + ReLU over (time, feature), then Linear(D·((F-1)//2) → D)."""

    def __init__(self, idim: int, odim: int, pos_enc: RelPositionalEncoding):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, odim, 3, 2), nn.ReLU())
        self.out = nn.Sequential(nn.Linear(odim * ((idim - 1) // 2), odim))
        self.pos_enc = pos_enc

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x (B, T, F)``, ``mask (B, 1, T)`` → ``(B, T', D)``, pos ``(1, T', D)``, mask ``(B, 1, T')``."""
        if x.size(1) < 3:
            raise AudioError(f"conformer: conditioning input has {x.size(1)} frames; at least 3 are needed")
        x = self.conv(x.unsqueeze(1))  # (B, D, T', F')
        b, c, t, f = x.shape
        x = self.out(x.transpose(1, 2).reshape(b, t, c * f))
        x, pos = self.pos_enc(x)
        return x, pos, mask[:, :, 2::2]


class LinearNoSubsampling(nn.Module):
    """Linear(F → D) + LayerNorm, no change of frame rate (small sizes with few features)."""

    def __init__(self, idim: int, odim: int, pos_enc: RelPositionalEncoding):
        super().__init__()
        self.out = nn.Sequential(nn.Linear(idim, odim), nn.LayerNorm(odim, eps=1e-5))
        self.pos_enc = pos_enc

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, pos = self.pos_enc(self.out(x))
        return x, pos, mask


class RelPositionAttention(nn.Module):
    """Multi-head self-attention with the official positional term (no relative shift)."""

    def __init__(self, heads: int, dim: int, dropout: float):
        super().__init__()
        self.h = heads
        self.d_k = dim // heads
        self.dropout = dropout
        self.linear_q = nn.Linear(dim, dim)
        self.linear_k = nn.Linear(dim, dim)
        self.linear_v = nn.Linear(dim, dim)
        self.linear_out = nn.Linear(dim, dim)
        self.linear_pos = nn.Linear(dim, dim, bias=False)
        self.pos_bias_u = nn.Parameter(torch.empty(heads, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.empty(heads, self.d_k))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        """``x (B, T, D)``, ``pos (1, T, D)``, ``key_mask (B, 1, 1, T)`` bool (True = real frame)."""
        b, t, _ = x.shape
        q = self.linear_q(x).view(b, t, self.h, self.d_k)
        k = self.linear_k(x).view(b, t, self.h, self.d_k).transpose(1, 2)  # (B, H, T, d)
        v = self.linear_v(x).view(b, t, self.h, self.d_k).transpose(1, 2)
        p = self.linear_pos(pos).view(1, t, self.h, self.d_k).transpose(1, 2).expand(b, -1, -1, -1)
        # scores = ((q+u)·k + (q+v)·p) / sqrt(d): one attention over concatenated features
        q2 = torch.cat([(q + self.pos_bias_u).transpose(1, 2), (q + self.pos_bias_v).transpose(1, 2)], dim=-1)
        k2 = torch.cat([k, p], dim=-1)  # (B, H, T, 2d)
        out = F.scaled_dot_product_attention(
            q2,
            k2,
            v,
            attn_mask=key_mask,
            dropout_p=self.dropout if self.training else 0.0,
            scale=1.0 / math.sqrt(self.d_k),
        )
        return self.linear_out(out.transpose(1, 2).reshape(b, t, self.h * self.d_k))


class FeedForward(nn.Module):
    """w_2(dropout(SiLU(w_1(x))))."""

    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.w_1 = nn.Linear(dim, hidden)
        self.w_2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_2(self.dropout(F.silu(self.w_1(x))))


class ConvolutionModule(nn.Module):
    """Pointwise conv → GLU → depthwise conv → LayerNorm → SiLU → pointwise conv, pads zeroed."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        self.pointwise_conv1 = nn.Conv1d(channels, 2 * channels, 1)
        self.depthwise_conv = nn.Conv1d(
            channels, channels, kernel_size, padding=(kernel_size - 1) // 2, groups=channels
        )
        self.norm = nn.LayerNorm(channels)
        self.pointwise_conv2 = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        """``x (B, T, C)``, ``pad (B, 1, T)`` bool (True = padding) or None."""
        x = x.transpose(1, 2)  # (B, C, T)
        if pad is not None:
            x = x.masked_fill(pad, 0.0)
        x = F.glu(self.pointwise_conv1(x), dim=1)
        x = self.depthwise_conv(x)
        x = F.silu(self.norm(x.transpose(1, 2))).transpose(1, 2)
        x = self.pointwise_conv2(x)
        if pad is not None:
            x = x.masked_fill(pad, 0.0)
        return x.transpose(1, 2)


class ConformerBlock(nn.Module):
    """Pre-norm block: x + MHA, x + Conv, x + FFN, then ``norm_final``."""

    def __init__(self, cfg: ConformerConfig):
        super().__init__()
        d = cfg.output_size
        self.self_attn = RelPositionAttention(cfg.attention_heads, d, cfg.dropout)
        self.feed_forward = FeedForward(d, cfg.linear_units, cfg.dropout)
        self.conv_module = ConvolutionModule(d, cfg.cnn_module_kernel)
        self.norm_ff = nn.LayerNorm(d, eps=1e-5)
        self.norm_mha = nn.LayerNorm(d, eps=1e-5)
        self.norm_conv = nn.LayerNorm(d, eps=1e-5)
        self.norm_final = nn.LayerNorm(d, eps=1e-5)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(
        self, x: torch.Tensor, pos: torch.Tensor, key_mask: torch.Tensor | None, pad: torch.Tensor | None
    ) -> torch.Tensor:
        x = x + self.dropout(self.self_attn(self.norm_mha(x), pos, key_mask))
        x = x + self.dropout(self.conv_module(self.norm_conv(x), pad))
        x = x + self.dropout(self.feed_forward(self.norm_ff(x)))
        return self.norm_final(x)


class ConformerEncoder(nn.Module):
    """Subsampling front end, ``num_blocks`` Conformer blocks and ``after_norm``."""

    def __init__(self, cfg: ConformerConfig):
        super().__init__()
        self.config = cfg
        pos_enc = RelPositionalEncoding(cfg.output_size, cfg.max_positions)
        front = Conv2dSubsampling2 if cfg.input_layer == "conv2d2" else LinearNoSubsampling
        self.embed = front(cfg.input_size, cfg.output_size, pos_enc)
        self.encoders = nn.ModuleList(ConformerBlock(cfg) for _ in range(cfg.num_blocks))
        self.after_norm = nn.LayerNorm(cfg.output_size, eps=1e-5)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, F)``, ``lengths (B,)`` frames (values ≥ T mean "all valid").

        Returns ``(B, T', D)`` and the valid-frame mask ``(B, 1, T')`` (True = real frame).
        """
        if x.dim() != 3 or x.size(-1) != self.config.input_size:
            raise AudioError(
                f"conformer: expected features (B, T, {self.config.input_size}), got {tuple(x.shape)}"
            )
        b, t, _ = x.shape
        if lengths is None:
            valid = torch.ones(b, 1, t, dtype=torch.bool, device=x.device)
        else:
            valid = (torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None]).unsqueeze(1)
        x, pos, valid = self.embed(x, valid)
        all_valid = bool(valid.all())
        key_mask = None if all_valid else valid.unsqueeze(1)  # (B, 1, 1, T')
        pad = None if all_valid else ~valid
        for block in self.encoders:
            x = block(x, pos, key_mask, pad)
        return self.after_norm(x), valid
