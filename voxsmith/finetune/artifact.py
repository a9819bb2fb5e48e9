"""The adapter directory: what ``voxsmith finetune`` writes and ``load_adapter`` / ``merge`` read.

    ADAPTER_DIR/
      adapter_model.safetensors   the adapter's tensors (kind "adapter", settings in the metadata)
      adapter_config.json         method, per-stage settings, base model id, files, training facts
      speaker.safetensors         the stored voice (medoid conditioning of the fine-tuning clips)
      glossary.tsv|.yaml          the glossary it was tuned with, applied at inference (optional)
      train/                      run state, loss log and plot (not needed for inference)

``adapter_config.json`` is written last: a directory without it is an unfinished run.
An adapter belongs to the base model it was trained on (``base_model_id``); loading it into
another model is an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from voxsmith.checkpoints import load_safetensors, save_safetensors
from voxsmith.embeddings import SpeakerEmbedding
from voxsmith.errors import CheckpointError
from voxsmith.fileio import atomic_write_text
from voxsmith.finetune.config import METHODS
from voxsmith.text.glossary import Glossary

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
SPEAKER_FILE = "speaker.safetensors"
KIND = "voxsmith_adapter"
FORMAT = "voxsmith-adapter"
VERSION = 1


@dataclass
class AdapterSpec:
    """The contents of ``adapter_config.json``."""

    method: str
    stages: dict[str, dict]  # per-stage settings (see voxsmith.finetune.adapters)
    base_model_id: str
    speaker: str | None = SPEAKER_FILE
    glossary: str | None = None
    info: dict = field(default_factory=dict)  # training facts: steps, losses, data, share, seconds

    def to_json(self) -> str:
        return (
            json.dumps({"format": FORMAT, "version": VERSION, **asdict(self)}, ensure_ascii=False, indent=1)
            + "\n"
        )


@dataclass
class Adapter:
    """A loaded adapter directory."""

    path: Path
    spec: AdapterSpec
    tensors: dict[str, torch.Tensor]
    speaker: SpeakerEmbedding | None
    glossary: Glossary | None

    @property
    def name(self) -> str:
        return self.path.resolve().name


def save_weights(tensors: dict[str, torch.Tensor], out: Path, method: str, stages: dict) -> Path:
    """``adapter_model.safetensors`` (fp32, so merged outputs match the trained adapter)."""
    return save_safetensors(
        tensors, out / WEIGHTS_FILE, kind=KIND, config={"method": method, "stages": stages}
    )


def write_config(spec: AdapterSpec, out: Path) -> Path:
    atomic_write_text(out / CONFIG_FILE, spec.to_json())
    return out / CONFIG_FILE


def read_spec(path: Path) -> AdapterSpec:
    cfg_path = path / CONFIG_FILE
    if not path.is_dir():
        raise CheckpointError(f"{path}: adapter directory not found")
    if not cfg_path.is_file():
        hint = (
            " (a fine-tuning run that has not finished: resume it with --resume)"
            if (path / "train").is_dir()
            else ""
        )
        raise CheckpointError(f"{path}: not an adapter directory, {CONFIG_FILE} is missing{hint}")
    try:
        d = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{cfg_path}: unreadable ({exc})") from exc
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CheckpointError(
            f"{cfg_path}: not a voxsmith adapter config (format {d.get('format') if isinstance(d, dict) else None!r})"
        )
    if d.get("method") not in METHODS or not isinstance(d.get("stages"), dict) or not d.get("base_model_id"):
        raise CheckpointError(
            f"{cfg_path}: needs method (one of {', '.join(METHODS)}), stages and base_model_id"
        )
    return AdapterSpec(
        d["method"], d["stages"], d["base_model_id"], d.get("speaker"), d.get("glossary"), d.get("info", {})
    )


def load(path: str | os.PathLike) -> Adapter:
    """Read and check an adapter directory; every missing file is a ``CheckpointError`` naming it."""
    path = Path(path)
    spec = read_spec(path)
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{path}: adapter directory is missing {WEIGHTS_FILE}")
    tensors, config, _ = load_safetensors(weights, kind=KIND)
    if config.get("method") != spec.method:
        raise CheckpointError(
            f"{weights}: holds a {config.get('method')!r} adapter, {CONFIG_FILE} says {spec.method!r}"
        )
    speaker = None
    if spec.speaker:
        if not (path / spec.speaker).is_file():
            raise CheckpointError(f"{path}: adapter directory is missing {spec.speaker} (the stored voice)")
        speaker = SpeakerEmbedding.load(path / spec.speaker)
    glossary = None
    if spec.glossary:
        if not (path / spec.glossary).is_file():
            raise CheckpointError(f"{path}: adapter directory is missing its glossary {spec.glossary}")
        glossary = Glossary.load(path / spec.glossary)
    return Adapter(path, spec, tensors, speaker, glossary)
