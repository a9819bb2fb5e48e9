"""Frame-rate buzz: how much of a clip's energy sits in lines at multiples of a vocoder's frame rate.

A vocoder whose frames repeat (a phase that hardly moves from frame to frame) makes a periodic
waveform with period ``hop`` samples: its spectrum has lines at multiples of ``sr / hop``
(86.13 Hz at 22050 Hz and hop 256), and pitch trackers read that rate as the voice's f0.
Speech has no energy pinned to those frequencies, so in real audio the lines' share of the
energy is about the share of the spectrum they cover (``BuzzResult.expected``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxsmith.errors import AudioError


@dataclass(frozen=True)
class BuzzResult:
    share: float  # energy within ±width_hz of the lines / energy below top_hz
    expected: float  # the lines' share of the bins (the share a flat spectrum would give)

    @property
    def excess_db(self) -> float:
        """How many dB the lines stand above their share of the spectrum (0 ≈ no buzz)."""
        return float(10 * np.log10(max(self.share, 1e-12) / self.expected))


def frame_rate_buzz(
    samples: np.ndarray, sr: int, hop: int = 256, top_hz: float = 4000.0, width_hz: float = 1.0
) -> BuzzResult:
    """Share of the energy of ``samples (T,)`` below ``top_hz`` within ``width_hz`` of k · sr / hop.

    One FFT of the whole clip (its resolution is 1 / seconds Hz), so clips should last a second or more."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    if x.size < sr // 2 or not np.isfinite(x).all():
        raise AudioError(f"buzz: need at least half a second of finite audio, got {x.size} samples")
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sr)
    band = (freqs > width_hz) & (freqs < top_hz)
    rate = sr / hop
    near = np.abs(freqs - rate * np.round(freqs / rate)) < width_hz
    lines = band & near & (np.round(freqs / rate) >= 1)
    total = power[band].sum()
    if total <= 0:
        raise AudioError("buzz: the clip is silent")
    return BuzzResult(float(power[lines].sum() / total), float(lines.sum() / band.sum()))
