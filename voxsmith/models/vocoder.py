"""Vocoder slot (mel → waveform) and the built-in model's Vocos-type vocoder.

Contract of the slot: ``vocoder(mel)`` with mel ``(B, 80, frames)`` (voxsmith's log-mel,
``voxsmith.audio.MelConfig``) returns ``(B, frames * 256)`` float samples at 22050 Hz.
The official size fills it with BigVGAN (``voxsmith.models.bigvgan``); the tiny size with
``VocosVocoder``: ConvNeXt blocks at frame rate and an inverse-STFT head that predicts
log-magnitude and phase, which trains and runs fast on a CPU because nothing is upsampled
by convolution.

``VocosConfig.phase`` says where the output's phase comes from. ``"predicted"``: the head's
phase output, as in Vocos. The first built-in vocoder (trained briefly, without its
discriminators) learned a phase that hardly moves from frame to frame, so every frame's
waveform repeated at the hop: 20–55% of its output's energy below 4 kHz sat in lines at
multiples of 22050 / 256 = 86 Hz, and pitch trackers heard 86 Hz for every voice (a network
that sees a stationary mel the same way at every frame cannot rotate the phase of a steady
harmonic from frame to frame). ``"griffin-lim"``: the head's magnitude, trained on the real
STFT magnitude, with ``gl_iters`` rounds of fast Griffin–Lim (Perraudin et al. 2013) started
from the predicted phase: the phase is then whatever is consistent across overlapping frames,
and a voice keeps its own pitch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from voxsmith.errors import ConfigError

PHASES = ("predicted", "griffin-lim")
GL_MOMENTUM = 0.99  # fast Griffin–Lim's alpha


@dataclass
class VocosConfig:
    """Size of the Vocos-type vocoder."""

    n_mels: int = 80  # input mel bins
    dim: int = 256  # ConvNeXt channel width
    intermediate_dim: int = 768  # ConvNeXt pointwise expansion
    num_layers: int = 8  # ConvNeXt blocks
    n_fft: int = 1024  # iSTFT size
    hop_length: int = 256  # must equal the mel hop
    kernel_size: int = 7  # depthwise conv kernel
    phase: str = "predicted"  # "predicted" (the head's) or "griffin-lim" (from the magnitude)
    gl_iters: int = 32  # fast Griffin–Lim rounds when phase is "griffin-lim"

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ConfigError(f"vocoder: phase must be one of {PHASES}, got {self.phase!r}")
        if self.gl_iters < 0:
            raise ConfigError(f"vocoder: gl_iters must be >= 0, got {self.gl_iters}")

    @classmethod
    def tiny(cls) -> VocosConfig:
        return cls(phase="griffin-lim")

    @classmethod
    def debug(cls) -> VocosConfig:
        return cls(dim=32, intermediate_dim=64, num_layers=2, phase="griffin-lim", gl_iters=4)

    def to_dict(self) -> dict:
        return asdict(self)


class ConvNeXtBlock(nn.Module):
    """Depthwise conv → LayerNorm → pointwise MLP, with a learnable residual scale. x: (B, C, T)."""

    def __init__(self, dim: int, intermediate_dim: int, kernel_size: int, layer_scale: float):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).transpose(1, 2)  # (B, T, C)
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).transpose(1, 2)


class VocosVocoder(nn.Module):
    """mel (B, n_mels, frames) → waveform (B, frames * hop)."""

    def __init__(self, cfg: VocosConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Conv1d(cfg.n_mels, cfg.dim, cfg.kernel_size, padding=cfg.kernel_size // 2)
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        scale = 1.0 / cfg.num_layers
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(cfg.dim, cfg.intermediate_dim, cfg.kernel_size, scale)
            for _ in range(cfg.num_layers)
        )
        self.final_norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.head = nn.Linear(cfg.dim, cfg.n_fft + 2)  # log-magnitude and phase of n_fft//2+1 bins
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def spectrum(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mel ``(B, n_mels, frames)`` → magnitude and phase ``(B, n_fft/2+1, frames)`` of the
        STFT the output is the inverse of (frame t centred on sample t · hop)."""
        x = self.embed(mel)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        x = self.head(self.final_norm(x.transpose(1, 2))).transpose(1, 2)  # (B, n_fft+2, frames)
        log_mag, phase = x.chunk(2, dim=1)
        return torch.exp(log_mag).clamp(max=1e2), phase

    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        """``(B, samples)`` → complex ``(B, n_fft/2+1, samples/hop + 1)``, the frames ``spectrum`` predicts."""
        cfg = self.cfg
        return torch.stft(wav, cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.n_fft,
                          window=self.window, center=True, return_complex=True)  # fmt: skip

    def synthesize(self, mag: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """Inverse STFT of ``spectrum``'s output: ``(B, frames * hop)``."""
        return self._istft(torch.polar(mag, phase))

    def _istft(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex ``(B, n_fft/2+1, frames)`` → ``(B, frames * hop)``."""
        cfg = self.cfg
        return torch.istft(spec, cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.n_fft,
                           window=self.window, center=True, length=spec.shape[-1] * cfg.hop_length)  # fmt: skip

    def griffin_lim(self, mag: torch.Tensor, phase: torch.Tensor, iters: int) -> torch.Tensor:
        """Fast Griffin–Lim: ``iters`` rounds of projecting ``mag · e^{i·phase}`` onto consistent
        spectrograms, with momentum; returns the final phase ``(B, F, frames)``.

        A clip of two frames or fewer (half an STFT window) has no overlapping frames to make
        consistent: its phase is returned as given."""
        if mag.shape[-1] * self.cfg.hop_length <= self.cfg.n_fft // 2:
            return phase
        angle = torch.polar(torch.ones_like(mag), phase)
        previous = torch.zeros_like(angle)
        momentum = GL_MOMENTUM / (1.0 + GL_MOMENTUM)
        for _ in range(iters):
            rebuilt = self.stft(self._istft(mag * angle))[..., : mag.shape[-1]]
            ahead = rebuilt - momentum * previous
            previous = rebuilt
            angle = ahead / ahead.abs().clamp(min=1e-8)
        return angle.angle()

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        mag, phase = self.spectrum(mel)
        if self.cfg.phase == "griffin-lim":
            phase = self.griffin_lim(mag, phase, self.cfg.gl_iters)
        return self.synthesize(mag, phase)
