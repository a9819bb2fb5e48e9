"""w2v-BERT 2.0 conditioning features: the official IndexTTS-2 audio features (the features slot).

As the official ``infer_v2`` computes them: 16 kHz samples → ``SeamlessM4TFeatureExtractor``
(80-bin fbank, two frames stacked: 160-d at 50 Hz) → ``Wav2Vec2BertModel`` → hidden state 17
(the input of layer 17, i.e. the output of the first 17 layers) → ``(h − mean) / std`` with the
mean and ``std = sqrt(var)`` of ``wav2vec2bert_stats.pt``. Both the GPT conditioners and the
semantic codec read these features.

The transformers model is a submodule, so the state dict reads ``model.*`` (the checkpoint's
own keys under ``model.``) plus the ``mean`` / ``std`` buffers. Only the first ``layer`` layers
run: the later ones do not change the hidden state that is read.

Shapes: N samples at 16 kHz → T ≈ N / 320 frames of H = 1024 (hidden size).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voxsmith.checkpoints import read_torch_pth
from voxsmith.errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)

OFFICIAL_LAYER = 17  # infer_v2: ``hidden_states[17]``
SAMPLE_RATE = 16000
TRAINING_ONLY = {"masked_spec_embed"}  # weights inference never reads (may be absent)


class W2VBertFeatures(nn.Module):
    """16 kHz waveform → normalised w2v-BERT hidden states ``(T, H)``."""

    def __init__(self, model: nn.Module, extractor: Any, mean: torch.Tensor, std: torch.Tensor,
                 layer: int = OFFICIAL_LAYER):  # fmt: skip
        super().__init__()
        n_layers = len(model.encoder.layers)
        if not 1 <= layer <= n_layers:
            raise ConfigError(f"w2v-BERT: feature layer {layer} outside 1..{n_layers} (the model's layers)")
        hidden = int(model.config.hidden_size)
        if mean.shape != (hidden,) or std.shape != (hidden,):
            raise CheckpointError(
                f"w2v-BERT stats: mean {tuple(mean.shape)} / std {tuple(std.shape)} must be ({hidden},)"
            )
        self.model = model.eval()
        self.extractor = extractor
        self.layer = layer
        self.register_buffer("mean", mean.float().clone())
        self.register_buffer("std", std.float().clone())

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def config(self) -> dict[str, Any]:
        """JSON-able description (stored in converted checkpoints): model config, extractor, layer."""
        return {
            "model": json.loads(self.model.config.to_json_string(use_diff=False)),
            "extractor": json.loads(self.extractor.to_json_string()),
            "layer": self.layer,
        }

    @torch.inference_mode()
    def forward(self, wave: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Mono samples ``(N,)`` at 16 kHz → ``(T, H)`` features."""
        x = np.asarray(wave.detach().cpu() if isinstance(wave, torch.Tensor) else wave, dtype=np.float32)
        if x.ndim != 1:
            raise ConfigError(f"w2v-BERT: expected mono samples (N,), got shape {x.shape}")
        inputs = self.extractor(x, sampling_rate=SAMPLE_RATE, return_tensors="pt")
        encoder = self.model.encoder
        layers = encoder.layers
        # hidden_states[layer] is the input of that layer: the layers after it cannot change it
        encoder.layers = layers[: self.layer]
        try:
            out = self.model(
                input_features=inputs["input_features"].to(self.mean.dtype),
                attention_mask=inputs["attention_mask"],
                output_hidden_states=True,
            )
        finally:
            encoder.layers = layers
        h = out.hidden_states[self.layer][0]
        return (h - self.mean) / self.std

    # ----- construction ------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> W2VBertFeatures:
        """An untrained instance from :meth:`config` (weights come from a strict load after)."""
        from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

        try:
            model_cfg = Wav2Vec2BertConfig.from_dict(dict(cfg["model"]))
            extractor = SeamlessM4TFeatureExtractor.from_dict(dict(cfg["extractor"]))
            layer = int(cfg["layer"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"w2v-BERT config: missing or malformed entry {exc}") from exc
        hidden = int(model_cfg.hidden_size)
        return cls(Wav2Vec2BertModel(model_cfg), extractor, torch.zeros(hidden), torch.ones(hidden), layer)

    @classmethod
    def from_official(
        cls, model_dir: str | os.PathLike, stats: str | os.PathLike, layer: int = OFFICIAL_LAYER
    ) -> W2VBertFeatures:
        """A local ``facebook/w2v-bert-2.0`` directory and the official ``wav2vec2bert_stats.pt``.

        Every weight the model defines must be in the checkpoint (transformers would otherwise
        initialise the missing ones at random, silently).
        """
        from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertModel

        path = Path(model_dir)
        try:
            extractor = SeamlessM4TFeatureExtractor.from_pretrained(path, local_files_only=True)
            model, info = Wav2Vec2BertModel.from_pretrained(
                path, local_files_only=True, output_loading_info=True, torch_dtype=torch.float32
            )
        except (OSError, ValueError) as exc:
            raise CheckpointError(
                f"{path}: cannot load w2v-BERT 2.0 ({exc.__class__.__name__}: {exc})"
            ) from exc
        missing = set(info.get("missing_keys", []))
        if TRAINING_ONLY & missing:
            # SpecAugment's mask vector is only read when training masks time steps; a checkpoint
            # may leave it out. Zero it so the weights (and the model id) do not depend on chance.
            with torch.no_grad():
                for name in TRAINING_ONLY & missing:
                    getattr(model, name).zero_()
            missing -= TRAINING_ONLY
        bad = sorted(missing) + [str(k) for k in info.get("mismatched_keys", [])]
        if bad:
            shown = ", ".join(bad[:10]) + (f" ... (+{len(bad) - 10})" if len(bad) > 10 else "")
            raise CheckpointError(
                f"{path}: w2v-BERT checkpoint lacks or mis-shapes {len(bad)} weights: {shown}"
            )
        if info.get("unexpected_keys"):
            log.info("%s: %d unused w2v-BERT weights ignored", path, len(info["unexpected_keys"]))
        mean, std = read_stats(stats)
        return cls(model, extractor, mean, std, layer)


def read_stats(path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
    """``wav2vec2bert_stats.pt`` (``{"mean", "var"}``) → ``(mean, std)``, std = sqrt(var) as the official."""
    stats = read_torch_pth(path)
    if not isinstance(stats, Mapping) or not {"mean", "var"} <= set(stats):
        raise CheckpointError(f"{path}: expected a dict with 'mean' and 'var' tensors")
    return torch.as_tensor(stats["mean"]).float(), torch.sqrt(torch.as_tensor(stats["var"]).float())
