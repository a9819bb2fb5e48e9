"""voxsmith: controllable zero-shot voice cloning (the IndexTTS 2.0 design, rebuilt)."""

from __future__ import annotations

from voxsmith.audio import AudioProcessor
from voxsmith.errors import (
    AudioError,
    CheckpointError,
    ConfigError,
    DataError,
    EngineError,
    TextError,
    VoxsmithError,
)

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "AudioProcessor",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "EngineError",
    "TextError",
    "VoxsmithError",
    "__version__",
]
