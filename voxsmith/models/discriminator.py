"""Discriminators for vocoder training (training only; never shipped).

``MultiResolutionDiscriminator``: one small 2-D conv net per STFT resolution over the
log-magnitude spectrogram, as in UnivNet/Vocos; ``MultiPeriodDiscriminator``: waveform
reshaped to (T/p, p) for a few prime periods, as in HiFi-GAN. Both return, per
sub-discriminator, the logits and the intermediate feature maps for feature matching.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm


class _SpecDisc(nn.Module):
    def __init__(self, n_fft: int, hop: int, channels: int):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        c = channels
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, c, (3, 9), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 3), padding=(1, 1))),
            ]
        )
        self.out = weight_norm(nn.Conv2d(c, 1, (3, 3), padding=(1, 1)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        window = torch.hann_window(self.n_fft, device=wav.device)
        spec = torch.stft(wav, self.n_fft, self.hop, self.n_fft, window, return_complex=True).abs()
        x = torch.log(spec.clamp(min=1e-5)).transpose(1, 2).unsqueeze(1)  # (B, 1, frames, bins)
        feats = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            feats.append(x)
        return self.out(x).flatten(1), feats


class _PeriodDisc(nn.Module):
    def __init__(self, period: int, channels: int):
        super().__init__()
        self.period = period
        c = channels
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, c, (5, 1), (3, 1), padding=(2, 0))),
                weight_norm(nn.Conv2d(c, 2 * c, (5, 1), (3, 1), padding=(2, 0))),
                weight_norm(nn.Conv2d(2 * c, 2 * c, (5, 1), (3, 1), padding=(2, 0))),
                weight_norm(nn.Conv2d(2 * c, 2 * c, (5, 1), 1, padding=(2, 0))),
            ]
        )
        self.out = weight_norm(nn.Conv2d(2 * c, 1, (3, 1), padding=(1, 0)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, t = wav.shape
        if t % self.period:
            wav = F.pad(wav, (0, self.period - t % self.period), mode="reflect")
        x = wav.view(b, 1, -1, self.period)
        feats = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            feats.append(x)
        return self.out(x).flatten(1), feats


class VocoderDiscriminator(nn.Module):
    """All sub-discriminators; ``forward(wav (B, T))`` → list of (logits, feature maps)."""

    def __init__(self, channels: int = 32, periods: tuple[int, ...] = (2, 3, 5, 7, 11)):
        super().__init__()
        self.subs = nn.ModuleList(
            [_SpecDisc(n, n // 4, channels) for n in (512, 1024, 2048)]
            + [_PeriodDisc(p, channels // 2) for p in periods]
        )

    def forward(self, wav: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return [d(wav) for d in self.subs]


def discriminator_loss(real: list, fake: list) -> torch.Tensor:
    """Least-squares GAN loss for the discriminator."""
    return sum(((1 - r) ** 2).mean() + (f**2).mean() for (r, _), (f, _) in zip(real, fake, strict=True))


def generator_losses(real: list, fake: list) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial loss, feature-matching loss) for the generator."""
    adv = sum(((1 - f) ** 2).mean() for f, _ in fake)
    fm = sum(
        F.l1_loss(ff, rf.detach())
        for (_, rfs), (_, ffs) in zip(real, fake, strict=True)
        for rf, ff in zip(rfs, ffs, strict=True)
    )
    return adv, fm
