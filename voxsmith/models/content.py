"""Content encoder of the tiny size: the stand-in for w2v-BERT, trained here with CTC.

The official size reads 1024-d w2v-BERT 2.0 features (layer 17) at 50 Hz and quantises
them with RepCodec. The tiny size has no pretrained speech model, so it learns its own:
log-mel (86.13 Hz) → two stride-2 convolutions (21.5 Hz) → a transformer encoder →
a CTC head over pronunciation units (pinyin initials/finals with tone, ARPAbet phones).
Its hidden states are content features that carry little speaker identity; the tiny
semantic codec (``voxsmith.models.kmeans_codec``) quantises them into the tokens the GPT
predicts, and the pronunciation checker reuses the CTC head to hear toned pinyin.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ContentEncoderConfig:
    """Size of the CTC content encoder."""

    n_mels: int = 80  # input log-mel bins
    dim: int = 256  # model width
    layers: int = 6  # transformer encoder layers
    heads: int = 4  # attention heads
    ffn: int = 1024  # feed-forward width
    n_units: int = 256  # CTC output units including blank (id 0)
    dropout: float = 0.1  # dropout in training
    max_frames: int = 2048  # learned position table length (at 21.5 Hz: ~95 s)

    @classmethod
    def tiny(cls, n_units: int) -> ContentEncoderConfig:
        return cls(n_units=n_units)

    @classmethod
    def debug(cls, n_units: int = 16) -> ContentEncoderConfig:
        return cls(dim=32, layers=1, heads=2, ffn=64, n_units=n_units, max_frames=256)

    def to_dict(self) -> dict:
        return asdict(self)


class ContentEncoder(nn.Module):
    """mel (B, n_mels, T) → content features (B, T//4, dim) and CTC logits (B, T//4, n_units)."""

    downsample = 4

    def __init__(self, cfg: ContentEncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.conv1 = nn.Conv1d(cfg.n_mels, cfg.dim, 5, stride=2, padding=2)
        self.conv2 = nn.Conv1d(cfg.dim, cfg.dim, 5, stride=2, padding=2)
        self.pos = nn.Embedding(cfg.max_frames, cfg.dim)
        layer = nn.TransformerEncoderLayer(
            cfg.dim, cfg.heads, cfg.ffn, cfg.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.dim)
        self.ctc_head = nn.Linear(cfg.dim, cfg.n_units)

    @staticmethod
    def normalize(mel: torch.Tensor, mel_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Per-utterance mean/variance normalisation per mel bin (removes channel and level)."""
        if mel_lens is None:
            mu = mel.mean(-1, keepdim=True)
            sd = mel.std(-1, keepdim=True)
        else:
            mask = (torch.arange(mel.shape[-1], device=mel.device)[None] < mel_lens[:, None]).unsqueeze(1)
            n = mask.sum(-1, keepdim=True).clamp(min=1)
            mu = (mel * mask).sum(-1, keepdim=True) / n
            sd = (((mel - mu) * mask).pow(2).sum(-1, keepdim=True) / n).sqrt()
        return (mel - mu) / (sd + 1e-3)

    @staticmethod
    def _valid(t: int, lens: torch.Tensor) -> torch.Tensor:
        return (torch.arange(t, device=lens.device)[None] < lens[:, None]).unsqueeze(1)

    def out_lengths(self, mel_lens: torch.Tensor) -> torch.Tensor:
        return torch.div(mel_lens + self.downsample - 1, self.downsample, rounding_mode="floor")

    def forward(
        self, mel: torch.Tensor, mel_lens: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(features (B, T', dim), logits (B, T', n_units), lengths (B,))``."""
        if mel_lens is None:
            mel_lens = torch.full((mel.shape[0],), mel.shape[-1], dtype=torch.long, device=mel.device)
        # zero the padding before each conv so a padded clip sees exactly what an unpadded one does
        x = self.normalize(mel, mel_lens) * self._valid(mel.shape[-1], mel_lens)
        lens1 = torch.div(mel_lens + 1, 2, rounding_mode="floor")
        x = F.gelu(self.conv1(x)) * self._valid(x.shape[-1] // 2 + x.shape[-1] % 2, lens1)
        x = F.gelu(self.conv2(x)).transpose(1, 2)  # (B, T', dim)
        t = x.shape[1]
        if t > self.cfg.max_frames:
            raise ValueError(f"{t} content frames exceed max_frames={self.cfg.max_frames}")
        x = x + self.pos.weight[:t] / math.sqrt(self.cfg.dim)
        lens = self.out_lengths(mel_lens).clamp(max=t)
        pad = torch.arange(t, device=x.device)[None] >= lens[:, None]
        h = self.norm(self.encoder(x, src_key_padding_mask=pad))
        return h, self.ctc_head(h), lens

    def ctc_loss(
        self, mel: torch.Tensor, mel_lens: torch.Tensor, targets: torch.Tensor, target_lens: torch.Tensor
    ) -> torch.Tensor:
        """CTC loss (blank = 0), mean over the batch of per-target-token losses."""
        _, logits, lens = self(mel, mel_lens)
        logp = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T', B, U)
        return F.ctc_loss(logp, targets, lens, target_lens, blank=0, reduction="mean", zero_infinity=True)
