"""voxsmith: controllable zero-shot voice cloning (the IndexTTS 2.0 design, rebuilt).

Public names are imported lazily (PEP 562) so that light commands such as
``voxsmith frontend`` do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AudioProcessor": "voxsmith.audio",
    "Audio": "voxsmith.audio",
    "AudioError": "voxsmith.errors",
    "CheckpointError": "voxsmith.errors",
    "ConfigError": "voxsmith.errors",
    "DataError": "voxsmith.errors",
    "EngineError": "voxsmith.errors",
    "TextError": "voxsmith.errors",
    "VoxsmithError": "voxsmith.errors",
    "IndexTTSModel": "voxsmith.pipeline",
    "SynthesisResult": "voxsmith.pipeline",
    "SpeakerEmbedding": "voxsmith.embeddings",
    "EmotionEmbedding": "voxsmith.embeddings",
}

__all__ = [
    "Audio",
    "AudioError",
    "AudioProcessor",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "EmotionEmbedding",
    "EngineError",
    "IndexTTSModel",
    "SpeakerEmbedding",
    "SynthesisResult",
    "TextError",
    "VoxsmithError",
    "__version__",
]

if TYPE_CHECKING:
    from voxsmith.audio import Audio, AudioProcessor
    from voxsmith.embeddings import EmotionEmbedding, SpeakerEmbedding
    from voxsmith.errors import (
        AudioError,
        CheckpointError,
        ConfigError,
        DataError,
        EngineError,
        TextError,
        VoxsmithError,
    )
    from voxsmith.pipeline import IndexTTSModel, SynthesisResult


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voxsmith' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
