"""Kaldi-compatible log-mel filterbank (the style encoder's frontend), in plain torch.

Reproduces Kaldi's ``compute-fbank-feats`` as the official IndexTTS2 calls it through
``torchaudio.compliance.kaldi.fbank(wav_16k, num_mel_bins=80, dither=0, sample_frequency=16000)``
(torchaudio is not installable beside our torch, so the recipe is re-done here):

1. frames of 25 ms every 10 ms, ``snip_edges``: ``1 + (T - 400) // 160`` frames, no padding;
2. per frame: remove the DC offset, pre-emphasis ``x[n] - 0.97 x[n-1]`` (``x[-1] = x[0]``),
   Povey window ``hann(periodic=False) ** 0.85``, zero-pad to 512;
3. power spectrum ``|rfft|²`` → 80 triangular filters, equally spaced on Kaldi's mel scale
   ``1127 ln(1 + f/700)`` between 20 Hz and Nyquist (the Nyquist bin has no weight);
4. ``log(max(energy, float32 eps))``.

No dither and no energy term (the official call uses neither). Samples are taken as given
(float, not int16-scaled): the official style path subtracts the per-utterance mean
afterwards (:func:`mean_normalize`), which removes any gain anyway.

Shapes: waveform ``(T,)`` or ``(B, T)`` → features ``(frames, n_mels)`` / ``(B, frames, n_mels)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from voxsmith.errors import AudioError, ConfigError


@dataclass(frozen=True)
class FbankConfig:
    """Kaldi fbank options (defaults = the official style frontend)."""

    sample_rate: int = 16000  # Hz; the official frontend resamples references to 16 kHz
    n_mels: int = 80  # triangular mel filters
    frame_length_ms: float = 25.0  # analysis window
    frame_shift_ms: float = 10.0  # hop
    preemphasis: float = 0.97  # x[n] - k x[n-1] inside each frame
    low_freq: float = 20.0  # Hz, lower edge of the first filter
    high_freq: float = 0.0  # Hz, upper edge of the last filter; <= 0 means Nyquist + high_freq
    window_power: float = 0.85  # Povey window = Hann ** 0.85 (1.0 = plain Hann)
    remove_dc_offset: bool = True  # subtract each frame's mean before pre-emphasis

    def __post_init__(self) -> None:
        if self.window_size < 2 or self.window_shift < 1:
            raise ConfigError(f"fbank: frame length/shift too small for {self.sample_rate} Hz")
        nyquist = self.sample_rate / 2
        high = self.high_freq if self.high_freq > 0 else nyquist + self.high_freq
        if not 0 <= self.low_freq < high <= nyquist:
            raise ConfigError(
                f"fbank: need 0 <= low_freq < high_freq <= {nyquist:g}, got {self.low_freq}, {high}"
            )

    @property
    def window_size(self) -> int:
        """Samples per frame (400 at 16 kHz)."""
        return int(self.sample_rate * self.frame_length_ms * 0.001)

    @property
    def window_shift(self) -> int:
        """Samples between frames (160 at 16 kHz)."""
        return int(self.sample_rate * self.frame_shift_ms * 0.001)

    @property
    def padded_size(self) -> int:
        """FFT size: the window length rounded up to a power of two (512)."""
        return 1 << (self.window_size - 1).bit_length()

    def num_frames(self, n_samples: int) -> int:
        return 0 if n_samples < self.window_size else 1 + (n_samples - self.window_size) // self.window_shift

    def to_dict(self) -> dict:
        return asdict(self)


def _mel(freq: torch.Tensor | float) -> torch.Tensor | float:
    """Kaldi's mel scale."""
    if isinstance(freq, torch.Tensor):
        return 1127.0 * (1.0 + freq / 700.0).log()
    return 1127.0 * math.log(1.0 + freq / 700.0)


@lru_cache(maxsize=8)
def mel_filters(cfg: FbankConfig) -> torch.Tensor:
    """(n_mels, padded_size // 2 + 1) float32 triangular filters on the power spectrum."""
    n_fft_bins = cfg.padded_size // 2
    nyquist = 0.5 * cfg.sample_rate
    high = cfg.high_freq if cfg.high_freq > 0 else cfg.high_freq + nyquist
    mel_low, mel_high = _mel(cfg.low_freq), _mel(high)
    delta = (mel_high - mel_low) / (cfg.n_mels + 1)
    k = torch.arange(cfg.n_mels).unsqueeze(1)  # (n_mels, 1)
    left = mel_low + k * delta
    center = mel_low + (k + 1.0) * delta
    right = mel_low + (k + 2.0) * delta
    bin_width = cfg.sample_rate / cfg.padded_size
    mel = _mel(bin_width * torch.arange(float(n_fft_bins))).unsqueeze(0)  # (1, n_fft_bins)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return F.pad(banks, (0, 1))  # the Nyquist bin gets no weight in Kaldi


@lru_cache(maxsize=8)
def _window(cfg: FbankConfig) -> torch.Tensor:
    return torch.hann_window(cfg.window_size, periodic=False).pow(cfg.window_power)


def kaldi_fbank(wave: torch.Tensor, cfg: FbankConfig = FbankConfig()) -> torch.Tensor:
    """Log-mel filterbank energies.

    wave: (T,) or (B, T) float samples at ``cfg.sample_rate``.
    returns: (frames, n_mels) or (B, frames, n_mels) float32, frames = 1 + (T - 400) // 160.
    """
    x = torch.as_tensor(wave, dtype=torch.float32)
    squeeze = x.dim() == 1
    if squeeze:
        x = x.unsqueeze(0)
    if x.dim() != 2:
        raise AudioError(f"fbank: expected (T,) or (B, T) samples, got shape {tuple(x.shape)}")
    if x.shape[-1] < cfg.window_size:
        raise AudioError(
            f"fbank: {x.shape[-1]} samples is shorter than one {cfg.frame_length_ms:g} ms frame "
            f"({cfg.window_size} samples at {cfg.sample_rate} Hz)"
        )
    frames = x.unfold(-1, cfg.window_size, cfg.window_shift)  # (B, F, W)
    if cfg.remove_dc_offset:
        frames = frames - frames.mean(dim=-1, keepdim=True)
    if cfg.preemphasis != 0.0:
        prev = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)  # x[-1] := x[0]
        frames = frames - cfg.preemphasis * prev
    frames = frames * _window(cfg).to(x.device)
    frames = F.pad(frames, (0, cfg.padded_size - cfg.window_size))
    power = torch.fft.rfft(frames).abs().pow(2.0)  # (B, F, padded/2 + 1)
    energies = torch.matmul(power, mel_filters(cfg).to(x.device).T)  # (B, F, n_mels)
    eps = torch.tensor(torch.finfo(torch.float32).eps, device=x.device)
    feats = torch.maximum(energies, eps).log()
    return feats[0] if squeeze else feats


def mean_normalize(feats: torch.Tensor) -> torch.Tensor:
    """Subtract the per-utterance mean over frames: (…, frames, n_mels) → same shape."""
    return feats - feats.mean(dim=-2, keepdim=True)
