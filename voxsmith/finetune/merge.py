"""``merge_adapter``: base model + adapter → a plain model directory (the explicit export step).

The merged weights are exactly what inference with the adapter active runs on (the same peft
merge), written at full precision by default so the merged model's outputs equal base + adapter.
The adapter's stored voice and glossary travel along (``model.json`` names them), so the merged
model speaks in the tuned voice without a reference clip, as the adapter does.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.fileio import atomic_copy


def merge_adapter(model, adapter_dir: str | os.PathLike, out: str | os.PathLike,
                  dtype: torch.dtype = torch.float32) -> Path:  # fmt: skip
    """Write ``out`` (loadable by ``IndexTTSModel.from_pretrained``); ``model`` is left as it was."""
    from voxsmith.models.parts import ModelParts, save_parts

    out = Path(out)
    if (out / "model.json").exists():
        raise ConfigError(f"{out}: already holds a model; choose another --out")
    if not isinstance(model.parts, ModelParts):
        raise CheckpointError(
            f"merge writes voxsmith's own model format; {type(model.parts).__name__} models are not supported "
            "(use the adapter with --adapter instead)"
        )
    previous = model.active_adapter
    name = model.load_adapter(adapter_dir, name=f"merge:{Path(adapter_dir).resolve()}")
    adapter = model._adapters.loaded[name]
    out.mkdir(parents=True, exist_ok=True)
    card: dict[str, object] = {
        "merged_adapter": {"path": str(Path(adapter_dir).resolve()), "method": adapter.spec.method,
                           "base_model_id": adapter.spec.base_model_id},
    }  # fmt: skip
    # the voice and glossary first: model.json (written last by save_parts) marks a complete directory
    for key, fname in (("speaker", adapter.spec.speaker), ("glossary", adapter.spec.glossary)):
        card[key] = None  # not the base card's, if the base was itself a merged model
        if fname:
            atomic_copy(adapter.path / fname, out / fname)
            card[key] = fname
    try:
        model.set_adapter(name)
        save_parts(model.parts, out, dtype=dtype, **card)
    finally:
        model.set_adapter(previous)
        model._adapters.loaded.pop(name, None)
    return out
