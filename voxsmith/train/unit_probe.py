"""A CTC probe on the GPT's latents: which pronunciation unit each code is saying.

The GPT's latents are what S2M reads, and nothing in the code loss asks them to say *which*
unit of the text is being spoken: a small GPT drifts, repeats and skips words when it samples.
A linear head reading the text's spoken units off the latents with CTC (the text's phones and
toned finals, in order; boundaries and pauses left to the blank) asks the latents to track the
alignment monotonically. Training only: the head is not part of the exported model.

Shapes: B batch, N codes, D model width, V phone vocabulary, L text ids.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.text.tokenizer import PAUSES, SPECIALS
from voxsmith.train.unit_error import edit_distance, greedy_ctc

BLANK = 0  # "<pad>": never a target
FIRST_SPOKEN = len(SPECIALS) + len(PAUSES)  # ids below it are tags, boundaries and pauses


def spoken_units(text_ids: torch.Tensor, text_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, L)`` text ids + lengths → (concatenated spoken ids ``(S,)``, per-row counts ``(B,)``)."""
    valid = torch.arange(text_ids.shape[1], device=text_ids.device)[None] < text_lengths[:, None]
    keep = valid & (text_ids >= FIRST_SPOKEN)
    return text_ids[keep], keep.sum(1)


class UnitProbe(nn.Module):
    """Linear head on GPT latents ``(B, N, D)`` → unit log-probabilities ``(B, N, V)``."""

    def __init__(self, dim: int, vocab_size: int):
        super().__init__()
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.head(latents).float().log_softmax(-1)

    def loss(
        self,
        latents: torch.Tensor,
        code_lengths: torch.Tensor,
        text_ids: torch.Tensor,
        text_lengths: torch.Tensor,
    ) -> torch.Tensor:
        """CTC loss per target unit, averaged over rows; rows whose units cannot fit their codes
        (more units than frames) contribute zero."""
        logp = self(latents)  # (B, N, V)
        targets, counts = spoken_units(text_ids, text_lengths)
        lengths = code_lengths.clamp(max=logp.shape[1])
        return F.ctc_loss(
            logp.transpose(0, 1),
            targets,
            lengths,
            counts,
            blank=BLANK,
            reduction="mean",
            zero_infinity=True,
        )

    @torch.no_grad()
    def unit_error(
        self,
        latents: torch.Tensor,
        code_lengths: torch.Tensor,
        text_ids: torch.Tensor,
        text_lengths: torch.Tensor,
    ) -> float:
        """Greedy CTC reading of the latents against the spoken units: edit distance / units."""
        logp = self(latents)  # (B, N, V)
        targets, counts = spoken_units(text_ids, text_lengths)
        errors = total = start = 0
        for b in range(logp.shape[0]):
            ref = targets[start : start + int(counts[b])].tolist()
            start += int(counts[b])
            errors += edit_distance(greedy_ctc(logp[b, : int(code_lengths[b])], BLANK), ref)
            total += len(ref)
        return errors / max(1, total)
