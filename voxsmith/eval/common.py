"""What every judge shares: optional packages imported on first use (with an error that says
what to install), the user cache directory, audio loading at a judge's sample rate, and
atomic text output."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import numpy as np

from voxsmith.audio import Audio, AudioProcessor, resample
from voxsmith.errors import EngineError

AudioInput = Audio | str | os.PathLike  # a clip: a file path or samples in memory


def require(module: str, package: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise ``EngineError`` naming the pip ``package`` that provides it.

    Any import failure counts (not only ``ImportError``): webrtcvad, for example, fails
    with a missing ``pkg_resources`` when setuptools is too new.
    """
    try:
        return importlib.import_module(module)
    except Exception as exc:
        raise EngineError(
            f"{purpose} needs the Python package '{package}' (import of '{module}' failed: "
            f"{exc.__class__.__name__}: {exc}); install it with: pip install {package}"
        ) from exc


def cache_dir() -> Path:
    """voxsmith's user cache: ``$VOXSMITH_CACHE_DIR``, else ``$XDG_CACHE_HOME/voxsmith``, else
    ``~/.cache/voxsmith`` (the same rule as the text lexicon cache)."""
    root = os.environ.get("VOXSMITH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "voxsmith"
    )
    return Path(root)


def load_audio(src: AudioInput, sample_rate: int) -> np.ndarray:
    """(T,) float32 mono samples at ``sample_rate`` from a path (``AudioProcessor.load``, which
    raises ``AudioError`` for missing, corrupt or silent files) or from an ``Audio``."""
    if isinstance(src, Audio):
        return resample(src.samples, src.sample_rate, sample_rate)
    return AudioProcessor.load(src, sr=sample_rate).samples
