"""Small helpers shared by tests."""

from __future__ import annotations

import numpy as np


def make_tone(seconds: float = 2.0, sr: int = 22050, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    """A harmonic tone with a slow amplitude envelope: speech-like enough for I/O tests."""
    t = np.arange(int(seconds * sr)) / sr
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    return (amp * env * x / np.max(np.abs(x))).astype(np.float32)
