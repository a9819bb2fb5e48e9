"""Content loss for S2M: the content encoder should read from S2M's mel what it reads from the real one.

Flow matching trains S2M's velocity frame by frame in L1, which weighs every mel bin's error
alike; nothing in it says which errors cost intelligibility. The tiny size has a judge of exactly
that at hand: the content encoder, the CTC model whose features the codes are k-means centres of.
Frozen, it reads two mels per crop: the real one, and the clean mel S2M's predicted velocity
implies (``FlowEstimate.mel``: past the prompt; the real prompt before it, as S2M saw it). The
loss is the KL divergence from its unit posteriors on the real mel to those on the estimate, per
code frame past the prompt — aligned frame by frame, so a crop needs no transcript of its own.

Weighted by the flow time t of each item: near t = 0 the estimate is the blurred mean of every
mel the conditions allow, and asking that to read clearly would fight the flow; near t = 1 it is
nearly the output. Items whose conditions were dropped for classifier-free guidance carry no
content loss (they cannot know what is said).

Shapes: B batch, M mel bins, T frames, T' = T/4 content frames, U units.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from voxsmith.models.content import ContentEncoder
from voxsmith.models.s2m.cfm import FlowEstimate


class ContentLoss:
    """``loss(real (B, M, T), estimate, mel_lens (B,))`` → scalar KL (nats per weighted content frame)."""

    def __init__(self, encoder: ContentEncoder) -> None:
        self.encoder = encoder.eval()
        for p in self.encoder.parameters():
            p.requires_grad_(False)

    def posteriors(self, mel: torch.Tensor, mel_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log unit posteriors ``(B, T', U)`` of ``mel (B, M, T)`` and their lengths ``(B,)``."""
        _, logits, lens = self.encoder(mel, mel_lens)
        return F.log_softmax(logits.float(), dim=-1), lens

    def __call__(self, real: torch.Tensor, est: FlowEstimate, mel_lens: torch.Tensor) -> torch.Tensor:
        region = est.region  # (B, 1, T)
        mel = torch.where(region > 0, est.mel, real)
        with torch.no_grad():
            target, lens = self.posteriors(real, mel_lens)
        logp, _ = self.posteriors(mel, mel_lens)
        kl = (target.exp() * (target - logp)).sum(dim=-1)  # (B, T')
        # a content frame counts when all the mel frames it reads lie past the prompt
        t_out = kl.shape[1]
        frames = F.pad(region[:, 0], (0, t_out * self.encoder.downsample - region.shape[-1]))
        mask = frames.view(len(frames), t_out, -1).amin(dim=-1)
        mask = mask * (torch.arange(t_out, device=kl.device)[None] < lens[:, None])
        weight = (est.t * est.conditioned)[:, None] * mask
        return (kl * weight).sum() / mask.sum().clamp(min=1.0)
