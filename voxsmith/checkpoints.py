"""Checkpoint I/O: strict, loud loading and voxsmith's self-describing safetensors format.

A voxsmith checkpoint is one ``.safetensors`` file whose metadata carries
``{"format": "voxsmith", "version": ..., "kind": ..., "config": <json>}`` beside the
weights, so a file alone says what to build. Official ``.pth`` files are read only with
``torch.load(weights_only=True)``. Every key rename between the official layout and ours
lives in this module, with its reason next to it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from voxsmith.errors import CheckpointError
from voxsmith.fileio import atomic_path

log = logging.getLogger(__name__)

FORMAT = "voxsmith"
FORMAT_VERSION = "1"


def strict_load(module: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], what: str) -> None:
    """``load_state_dict(strict=True)`` that reports every missing, unexpected and mis-shaped key.

    Raises ``CheckpointError`` listing the problems (at most 20 of each kind shown).
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    mis_shaped = sorted(
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
        for k in set(own) & set(state_dict)
        if tuple(own[k].shape) != tuple(state_dict[k].shape)
    )
    if missing or unexpected or mis_shaped:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mis_shaped)):
            if items:
                shown = ", ".join(items[:20]) + (f" ... (+{len(items) - 20})" if len(items) > 20 else "")
                parts.append(f"{len(items)} {label}: {shown}")
        raise CheckpointError(f"{what}: state dict does not match the model; " + "; ".join(parts))
    module.load_state_dict(state_dict, strict=True)
    log.info("%s: loaded %d tensors", what, len(state_dict))


def read_torch_pth(path: str | os.PathLike) -> dict[str, Any]:
    """Read an official ``.pth`` safely (``weights_only=True``); a clear error if absent."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file not found")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{p}: cannot read checkpoint ({exc.__class__.__name__}: {exc})") from exc


def save_safetensors(
    tensors: Mapping[str, torch.Tensor],
    path: str | os.PathLike,
    *,
    kind: str,
    config: Mapping[str, Any] | None = None,
    dtype: torch.dtype | None = None,
    extra: Mapping[str, str] | None = None,
) -> Path:
    """Write weights + config atomically; float tensors cast to ``dtype`` when given."""
    out = Path(path)
    data = {}
    for k, v in tensors.items():
        v = v.detach().cpu()
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        data[k] = v.contiguous()
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "kind": kind, "config": json.dumps(config or {})}
    if extra:
        meta.update({k: str(v) for k, v in extra.items()})
    with atomic_path(out) as tmp:
        save_file(data, str(tmp), metadata=meta)
    return out


def read_metadata(
    path: str | os.PathLike, *, kind: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A voxsmith safetensors file's ``(config, metadata)``, checked, without reading its tensors."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file not found")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except Exception as exc:
        raise CheckpointError(f"{p}: not a readable safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a voxsmith checkpoint (metadata format={meta.get('format')!r})")
    if kind is not None and meta.get("kind") != kind:
        raise CheckpointError(f"{p}: holds a {meta.get('kind')!r} checkpoint, expected {kind!r}")
    return json.loads(meta.get("config", "{}")), meta


def load_safetensors(
    path: str | os.PathLike, *, kind: str | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, str]]:
    """Read a voxsmith safetensors file: ``(tensors as fp32, config, metadata)``."""
    config, meta = read_metadata(path, kind=kind)
    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise CheckpointError(f"{Path(path)}: not a readable safetensors file ({exc})") from exc
    tensors = {k: (v.float() if v.is_floating_point() else v) for k, v in tensors.items()}
    return tensors, config, meta


def load_module(
    path: str | os.PathLike, kind: str, build: Callable[[dict], torch.nn.Module]
) -> torch.nn.Module:
    """Exported weights of ``kind`` at ``path`` into ``build(config)``, strictly, in eval mode."""
    tensors, config, _ = load_safetensors(path, kind=kind)
    module = build(config)
    strict_load(module, tensors, f"{kind} {path}")
    return module.eval()
