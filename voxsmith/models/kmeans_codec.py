"""The tiny semantic codec: k-means over content-encoder features.

Same interface as the official RepCodec slot: ``quantize(features) -> codes`` and
``vq2emb(codes) -> embeddings``. Codes run at the content encoder's 21.5 Hz (four mel
frames per code), so one code maps to exactly 4 × 256 = 1024 output samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn


@dataclass
class KMeansCodecConfig:
    """Size of the k-means codec."""

    dim: int = 256  # feature dimension (content encoder width)
    codebook_size: int = 512  # number of codes

    def to_dict(self) -> dict:
        return asdict(self)


class KMeansCodec(nn.Module):
    """features (B, T, dim) → codes (B, T); codes (B, T) → embeddings (B, T, dim)."""

    def __init__(self, cfg: KMeansCodecConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("centroids", torch.zeros(cfg.codebook_size, cfg.dim))

    @torch.no_grad()
    def quantize(self, features: torch.Tensor) -> torch.Tensor:
        flat = features.reshape(-1, features.shape[-1]).float()
        # ||x - c||^2 = ||x||^2 - 2 x·c + ||c||^2; ||x||^2 does not change the argmin
        d = -2 * flat @ self.centroids.T + self.centroids.pow(2).sum(-1)[None]
        return d.argmin(-1).reshape(features.shape[:-1])

    def vq2emb(self, codes: torch.Tensor) -> torch.Tensor:
        return self.centroids[codes]

    @torch.no_grad()
    def fit(self, features: torch.Tensor, iters: int = 30, seed: int = 0, sample: int = 20000) -> float:
        """Lloyd's k-means with k-means++ seeding; features (N, dim). Returns the mean squared error."""
        g = torch.Generator().manual_seed(seed)
        x = features.float()
        k = self.cfg.codebook_size
        if x.shape[0] < k:
            raise ValueError(f"need at least {k} feature vectors to fit {k} codes, got {x.shape[0]}")
        pool = x[torch.randperm(x.shape[0], generator=g)[: max(sample, k)]]
        cent = pool[torch.randint(pool.shape[0], (1,), generator=g)]
        d2 = (pool - cent).pow(2).sum(-1)
        for _ in range(1, k):  # k-means++: next centre drawn proportionally to squared distance
            nxt = pool[torch.multinomial(d2 / d2.sum(), 1, generator=g)]
            cent = torch.cat([cent, nxt])
            d2 = torch.minimum(d2, (pool - nxt).pow(2).sum(-1))
        err = float("nan")
        for _ in range(iters):
            self.centroids.copy_(cent)
            assign = self.quantize(x)
            err = float((x - cent[assign]).pow(2).sum(-1).mean())
            sums = torch.zeros_like(cent).index_add_(0, assign, x)
            counts = torch.bincount(assign, minlength=k).float()
            empty = counts == 0
            cent = sums / counts.clamp(min=1)[:, None]
            if empty.any():  # re-seed empty clusters at random points
                cent[empty] = x[torch.randint(x.shape[0], (int(empty.sum()),), generator=g)]
        self.centroids.copy_(cent)
        return err
