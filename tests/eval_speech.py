"""Tiny real speech for the judge tests, made with flite / espeak-ng (apt: requirements-apt.txt)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SENTENCE_A = "The quick brown fox jumps over the lazy dog near the river bank."
SENTENCE_B = "She sells shells by the shore every summer morning."
SENTENCE_NUM = "I have 5 apples and twenty two oranges in my basket today."


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (apt-get install {name}; see requirements-apt.txt)")
    return path


def flite(out: Path, text: str, voice: str = "slt") -> Path:
    """A flite clip (16 kHz) of ``text`` in ``voice`` (kal16, awb, rms, slt)."""
    subprocess.run([_binary("flite"), "-voice", voice, "-t", text, "-o", str(out)], check=True)
    return out


def espeak(out: Path, text: str, voice: str = "en-us", pitch: int = 50, speed: int = 175) -> Path:
    """An espeak-ng clip (22.05 kHz); ``pitch`` 0-99, ``speed`` words per minute."""
    cmd = [_binary("espeak-ng"), "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(out), text]
    subprocess.run(cmd, check=True)
    return out


def add_noise(src: Path, out: Path, snr_db: float, seed: int = 0) -> Path:
    """``src`` plus white noise at ``snr_db`` (relative to the clip's mean power)."""
    x, sr = sf.read(src, dtype="float32")
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(x)).astype(np.float32)
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    y = x + noise
    sf.write(out, y / max(1.0, float(np.max(np.abs(y)))), sr, subtype="PCM_16")
    return out
