"""What a user extracts once and reuses: speaker and emotion embeddings.

Both are plain tensors plus a little metadata, saved as one safetensors file each, so a
voice recorded once can be cached on disk and reused across calls, processes and
machines. A ``SpeakerEmbedding`` is tied to the model that made it (``model_id``): its
latents live in that model's space, and loading it into another model is an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from voxsmith.checkpoints import load_safetensors, save_safetensors
from voxsmith.errors import CheckpointError, ConfigError

EMOTIONS = ("happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm")
EMOTIONS_ZH = ("高兴", "愤怒", "悲伤", "恐惧", "反感", "低落", "惊讶", "自然")


@dataclass
class SpeakerEmbedding:
    """Everything the model needs from a reference clip, computed once.

    ``cond_feats``: (T, F) conditioning features (GPT conformer input);
    ``spk_latents``: (N, D) speaker latents; ``emo_vec``: (D,) the clip's own emotion
    vector (the default emotion); ``style``: (S,) style vector for S2M;
    ``prompt_mel``: (80, P) log-mel of the reference; ``prompt_codes``: (P/4,) its codes.
    """

    cond_feats: torch.Tensor
    spk_latents: torch.Tensor
    emo_vec: torch.Tensor
    style: torch.Tensor
    prompt_mel: torch.Tensor
    prompt_codes: torch.Tensor
    model_id: str
    meta: dict = field(default_factory=dict)  # e.g. source file, seconds, name

    def tensors(self) -> dict[str, torch.Tensor]:
        return {
            "cond_feats": self.cond_feats,
            "spk_latents": self.spk_latents,
            "emo_vec": self.emo_vec,
            "style": self.style,
            "prompt_mel": self.prompt_mel,
            "prompt_codes": self.prompt_codes,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically as safetensors (fp32, so a cached voice is bit-identical)."""
        return save_safetensors(
            self.tensors(),
            path,
            kind="speaker_embedding",
            config={"model_id": self.model_id, "meta": self.meta},
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> SpeakerEmbedding:
        tensors, config, _ = load_safetensors(path, kind="speaker_embedding")
        missing = {"cond_feats", "spk_latents", "emo_vec", "style", "prompt_mel", "prompt_codes"} - set(
            tensors
        )
        if missing:
            raise CheckpointError(f"{path}: speaker embedding lacks {sorted(missing)}")
        return cls(**tensors, model_id=config.get("model_id", ""), meta=config.get("meta", {}))

    def check_model(self, model_id: str) -> None:
        if self.model_id != model_id:
            raise ConfigError(
                f"speaker embedding was made by model {self.model_id!r}, not {model_id!r}; "
                "extract it again with this model"
            )


@dataclass
class EmotionEmbedding:
    """An emotion to apply: a vector in the GPT's space, or 8 weights to mix with the speaker's own.

    Exactly one of ``emo_vec`` (D,) — from a reference clip — or ``weights`` (8,) — from
    text, a preset or a user vector, in the order of ``EMOTIONS`` — is set.
    ``alpha`` blends with the speaker's own emotion (official ``emo_alpha``).
    """

    emo_vec: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    alpha: float = 1.0
    source: str = ""
    model_id: str = ""

    def __post_init__(self) -> None:
        if (self.emo_vec is None) == (self.weights is None):
            raise ConfigError("an emotion embedding holds either emo_vec or weights, not both or neither")
        if self.weights is not None and self.weights.shape != (len(EMOTIONS),):
            raise ConfigError(
                f"emotion weights must have {len(EMOTIONS)} values, got {tuple(self.weights.shape)}"
            )
        if not 0.0 <= self.alpha <= 2.0:
            raise ConfigError(f"emotion alpha must be in [0, 2], got {self.alpha}")

    def named(self) -> dict[str, float]:
        if self.weights is None:
            return {}
        return {k: round(float(v), 4) for k, v in zip(EMOTIONS, self.weights.tolist(), strict=True)}

    def save(self, path: str | os.PathLike) -> Path:
        tensors = {"emo_vec": self.emo_vec} if self.emo_vec is not None else {"weights": self.weights}
        return save_safetensors(
            tensors, path, kind="emotion_embedding",
            config={"alpha": self.alpha, "source": self.source, "model_id": self.model_id},
        )  # fmt: skip

    @classmethod
    def load(cls, path: str | os.PathLike) -> EmotionEmbedding:
        tensors, config, _ = load_safetensors(path, kind="emotion_embedding")
        return cls(
            emo_vec=tensors.get("emo_vec"),
            weights=tensors.get("weights"),
            alpha=float(config.get("alpha", 1.0)),
            source=str(config.get("source", "")),
            model_id=str(config.get("model_id", "")),
        )


def parse_emotion_vector(values: str | list[float] | torch.Tensor) -> torch.Tensor:
    """Eight weights from ``"v1,...,v8"`` or a sequence; each in [0, 1.2] (official clamp)."""
    if isinstance(values, str):
        try:
            values = [float(v) for v in values.replace(" ", "").split(",") if v != ""]
        except ValueError as exc:
            raise ConfigError(f"emotion vector {values!r}: not a comma-separated list of numbers") from exc
    t = torch.as_tensor(values, dtype=torch.float32).flatten()
    if t.numel() != len(EMOTIONS):
        raise ConfigError(
            f"emotion vector needs {len(EMOTIONS)} values ({', '.join(EMOTIONS)}), got {t.numel()}"
        )
    if not torch.isfinite(t).all() or (t < 0).any():
        raise ConfigError(f"emotion vector values must be finite and >= 0, got {t.tolist()}")
    return t.clamp(max=1.2)


def preset_weights(name: str) -> torch.Tensor:
    """One-hot weights for a preset name (English or Chinese), e.g. ``"happy"`` or ``"愤怒"``."""
    key = name.strip().lower()
    names = {**{e: i for i, e in enumerate(EMOTIONS)}, **{z: i for i, z in enumerate(EMOTIONS_ZH)}}
    names.update({"neutral": EMOTIONS.index("calm"), "fear": 3, "fearful": 3, "disgust": 4, "surprise": 6})
    if key not in names:
        raise ConfigError(f"unknown emotion preset {name!r}; choose one of: {', '.join(EMOTIONS)}")
    w = torch.zeros(len(EMOTIONS))
    w[names[key]] = 1.0
    return w


def dumps_named(weights: torch.Tensor) -> str:
    return json.dumps({k: round(float(v), 4) for k, v in zip(EMOTIONS, weights.tolist(), strict=True)})
