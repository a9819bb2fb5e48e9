"""Adapters at inference: several named voices on one loaded base model, switched in place.

Switching merges: the active adapter's weights are merged into the model (peft's own merge for
lora / ia3, a copy for partial / full), after the originals of every weight it touches were
put aside. Inference then runs at the speed of the plain model (no adapter branches, the fast
GPT kernels still apply), and ``voxsmith merge`` writes exactly these weights. Switching to
another adapter or back to the base copies the originals back first, so the base outputs are
bit-identical after any number of switches. Memory: the adapters' own tensors plus one copy of
the weights they touch.
"""

from __future__ import annotations

import logging
import os

import torch

from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.finetune import adapters
from voxsmith.finetune.artifact import Adapter, load

log = logging.getLogger(__name__)


class AdapterRuntime:
    """The adapters loaded into one ``IndexTTSModel`` and which of them is merged."""

    def __init__(self, model) -> None:
        self.model = model
        self.loaded: dict[str, Adapter] = {}
        self.active: str | None = None
        self._base: dict[str, torch.Tensor] = {}  # originals of the weights the active adapter changed

    def load(self, path: str | os.PathLike, name: str | None = None) -> str:
        """Read and check an adapter directory (not activated); returns its name."""
        adapter = load(path)
        if adapter.spec.base_model_id != self.model.model_id:
            raise CheckpointError(
                f"{path}: adapter was trained on model {adapter.spec.base_model_id!r}, this is "
                f"{self.model.model_id!r}; load the base model it was made for (--model)"
            )
        name = name or adapter.name
        if name in self.loaded and self.active == name:
            raise ConfigError(
                f"adapter {name!r} is active; set_adapter(None) before loading another under its name"
            )
        if adapter.speaker is not None:
            adapter.speaker.check_model(self.model.model_id)
        # merge once into the base now, so a broken file fails here rather than at set_adapter
        previous = self.active
        self.activate(None)
        base: dict[str, torch.Tensor] = {}
        try:
            adapters.merge_into(self.model.parts, adapter.spec.stages, adapter.tensors, base, what=str(path))
        finally:
            adapters.restore(self.model.parts, base)
        self.loaded[name] = adapter
        self.activate(previous)
        log.info("adapter %s: %s from %s", name, adapter.spec.method, path)
        return name

    def activate(self, name: str | None) -> None:
        """Merge adapter ``name`` (None: the base model)."""
        if name is not None and name not in self.loaded:
            known = ", ".join(sorted(self.loaded)) or "none loaded"
            raise ConfigError(f"unknown adapter {name!r} ({known}); load it with load_adapter(DIR, name=...)")
        if name == self.active:
            return
        adapters.restore(self.model.parts, self._base)
        self._base = {}
        self.active = None
        if name is not None:
            a = self.loaded[name]
            adapters.merge_into(self.model.parts, a.spec.stages, a.tensors, self._base, what=str(a.path))
            self.active = name

    def current(self) -> Adapter | None:
        return self.loaded[self.active] if self.active is not None else None


def bundled_voice(root, card: dict, model_id: str):
    """The stored voice and glossary a merged model directory carries (``voxsmith merge``).

    The voice was made for exactly these weights, so it is stamped with the loaded model's id.
    Returns ``(SpeakerEmbedding | None, Glossary | None)``.
    """
    from pathlib import Path

    from voxsmith.embeddings import SpeakerEmbedding
    from voxsmith.text.glossary import Glossary

    root = Path(root)
    speaker = glossary = None
    for key in ("speaker", "glossary"):
        if card.get(key) and not (root / card[key]).is_file():
            raise CheckpointError(f"{root}: model.json names {key} file {card[key]}, which is missing")
    if card.get("speaker"):
        speaker = SpeakerEmbedding.load(root / card["speaker"])
        speaker.model_id = model_id
    if card.get("glossary"):
        glossary = Glossary.load(root / card["glossary"])
    return speaker, glossary
