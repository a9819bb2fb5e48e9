"""The code reader: what a sequence of semantic codes says, read with its context.

The GPT draws several code sequences per segment and the best-read one is kept
(``code_candidates``). The content encoder's CTC head reads each code alone (a linear map of
its k-means centre), and on voices it never heard that per-frame reading loses a third of
the units. Read with context (a bidirectional GRU over code embeddings, trained with CTC on
the corpus's codes and units), the same codes say far more of what was spoken: the reader
is a sharper judge of which candidate says the text.

Shapes: B batch, N codes (21.5 Hz at the tiny size), D width, U unit vocabulary
(``voxsmith.models.units``: 0 is the CTC blank, 1 silence).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from voxsmith.train.unit_error import greedy_ctc

BLANK = 0


@dataclass
class CodeReaderConfig:
    """Size of the code reader."""

    codebook_size: int = 1024  # codes it reads (the codec's codebook)
    vocab_size: int = 0  # pronunciation units, blank included (len(units.UNITS))
    dim: int = 192  # embedding and GRU width per direction
    layers: int = 2  # bidirectional GRU layers
    dropout: float = 0.1  # between layers and on the embeddings, training only

    @classmethod
    def tiny(cls, vocab_size: int, codebook_size: int = 1024) -> CodeReaderConfig:
        return cls(codebook_size=codebook_size, vocab_size=vocab_size)

    @classmethod
    def debug(cls, vocab_size: int, codebook_size: int = 64) -> CodeReaderConfig:
        return cls(codebook_size=codebook_size, vocab_size=vocab_size, dim=16, layers=1)

    def to_dict(self) -> dict:
        return asdict(self)


class CodeReader(nn.Module):
    """codes (B, N) → unit log-probabilities (B, N, U)."""

    def __init__(self, cfg: CodeReaderConfig):
        super().__init__()
        if cfg.vocab_size < 2:
            raise ValueError(f"code reader: vocab_size must be >= 2 (blank + units), got {cfg.vocab_size}")
        self.cfg = cfg
        self.embedding = nn.Embedding(cfg.codebook_size, cfg.dim)
        self.rnn = nn.GRU(
            cfg.dim, cfg.dim, cfg.layers, batch_first=True, bidirectional=True,
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        )  # fmt: skip
        self.head = nn.Linear(2 * cfg.dim, cfg.vocab_size)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, codes: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """codes (B, N) long, lengths (B,) → (B, N, U) log-probs. Padding past a row's length
        never reaches its frames (packed sequences: the backward pass starts at each row's end)."""
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.cfg.codebook_size):
            raise ValueError(f"code reader: codes must be in [0, {self.cfg.codebook_size}), got "
                             f"[{int(codes.min())}, {int(codes.max())}]")  # fmt: skip
        x = self.drop(self.embedding(codes))
        if lengths is None:
            h, _ = self.rnn(x)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            h, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=codes.shape[1])
        return self.head(self.drop(h)).float().log_softmax(-1)

    def ctc_loss(
        self,
        codes: torch.Tensor,
        lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """CTC loss of the concatenated ``targets`` (S,) read from ``codes`` (B, N); ``mean``:
        per target unit, averaged over rows (rows too short for their units count zero);
        ``none``: the summed loss of each row (B,), infinite where the units cannot fit."""
        logp = self(codes, lengths)
        return F.ctc_loss(
            logp.transpose(0, 1), targets, lengths, target_lengths, blank=BLANK,
            reduction=reduction, zero_infinity=reduction != "none",
        )  # fmt: skip

    @torch.inference_mode()
    def score(self, candidates: list[torch.Tensor], units: list[int]) -> list[float]:
        """Per candidate (N_i,), the summed CTC loss of ``units`` (lower reads closer); an
        empty candidate, or one with fewer codes than units, scores infinity."""
        keep = [i for i, c in enumerate(candidates) if c.numel()]
        out = [float("inf")] * len(candidates)
        if not keep:
            return out
        rows = [candidates[i].long().reshape(-1) for i in keep]
        lengths = torch.tensor([len(r) for r in rows])
        codes = pad_sequence(rows, batch_first=True)
        targets = torch.tensor(units, dtype=torch.long).repeat(len(keep))
        losses = self.ctc_loss(codes, lengths, targets, torch.full((len(keep),), len(units)), "none")
        for row, i in enumerate(keep):
            out[i] = float(losses[row])
        return out

    @torch.inference_mode()
    def read(self, codes: torch.Tensor) -> list[int]:
        """(N,) codes → greedy CTC unit ids (repeats merged, blanks dropped)."""
        return greedy_ctc(self(codes.long().reshape(1, -1))[0], BLANK)
