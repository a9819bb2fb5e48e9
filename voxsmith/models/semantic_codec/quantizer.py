"""Factorized vector quantization (as in DAC / MaskGCT) and its residual stack.

A factorized VQ projects H-d features to a small D-d code space (weight-normalised 1×1
convs), picks the nearest codeword there — by cosine when both sides are L2-normalised —
and projects the codeword back to H. Key names are the official ones:
``quantizers.<i>.{in_project, out_project, codebook}``.

Shapes: B batch, H feature width, D code width, K codebook size, T frames, Q quantizers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.models.weight_norm import WNConv1d


class FactorizedVQ(nn.Module):
    """z (B, H, T) → (quantized (B, H, T), codes (B, T), z_e (B, D, T))."""

    def __init__(self, input_dim: int, codebook_size: int, codebook_dim: int, l2_normalize: bool = True):
        super().__init__()
        self.l2_normalize = l2_normalize
        if input_dim != codebook_dim:
            self.in_project: nn.Module = WNConv1d(input_dim, codebook_dim, kernel_size=1)
            self.out_project: nn.Module = WNConv1d(codebook_dim, input_dim, kernel_size=1)
        else:
            self.in_project = nn.Identity()
            self.out_project = nn.Identity()
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Index of the nearest codeword for each frame. z_e (B, D, T) → codes (B, T)."""
        b, d, t = z_e.shape
        enc = z_e.transpose(1, 2).reshape(b * t, d)
        book = self.codebook.weight
        if self.l2_normalize:
            enc, book = F.normalize(enc), F.normalize(book)
        # squared euclidean distance written out (the official form; equals cosine distance when normalised)
        dist = enc.pow(2).sum(1, keepdim=True) - 2 * enc @ book.t() + book.pow(2).sum(1, keepdim=True).t()
        # max of the negation, not argmin: the official tie-breaking
        return (-dist).max(1)[1].reshape(b, t)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """Codewords in code space. codes (B, T) → (B, D, T)."""
        return F.embedding(codes, self.codebook.weight).transpose(1, 2)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z_e = self.in_project(z)
        codes = self.nearest(z_e)
        z_q = self.embed(codes)
        # straight-through estimator: the forward value is the codeword, the gradient flows to z_e
        z_q = z_e + (z_q - z_e).detach()
        return self.out_project(z_q), codes, z_e

    def vq2emb(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes back to feature space. codes (B, T) → (B, H, T)."""
        return self.out_project(self.embed(codes))


class ResidualVQ(nn.Module):
    """Q factorized VQs, each quantizing what the previous ones left. z (B, H, T) → (B, H, T), codes (Q, B, T)."""

    def __init__(
        self, input_dim: int, num_quantizers: int, codebook_size: int, codebook_dim: int, l2_normalize: bool
    ):
        super().__init__()
        self.quantizers = nn.ModuleList(
            FactorizedVQ(input_dim, codebook_size, codebook_dim, l2_normalize) for _ in range(num_quantizers)
        )

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        quantized = torch.zeros_like(z)
        residual = z
        codes = []
        for vq in self.quantizers:
            z_q, idx, _ = vq(residual)
            quantized = quantized + z_q
            residual = residual - z_q
            codes.append(idx)
        return quantized, torch.stack(codes)

    def vq2emb(self, codes: torch.Tensor) -> torch.Tensor:
        """Sum of every stage's embedding. codes (Q, B, T) → (B, H, T).

        The official caller (``infer_v2``) passes ``codes.unsqueeze(1)``, i.e. (B, 1, T), which this
        indexing reads as Q=B stages of batch 1: identical for B=1, the only case it uses.
        """
        out = self.quantizers[0].vq2emb(codes[0])
        for i in range(1, min(codes.shape[0], len(self.quantizers))):
            out = out + self.quantizers[i].vq2emb(codes[i])
        return out
