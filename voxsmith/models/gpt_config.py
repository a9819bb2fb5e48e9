"""Configuration of the semantic GPT: sizes, ids, conditioners, and the official config mapping.

:meth:`GPTConfig.indextts2` is the official architecture (config.yaml v2.0),
:meth:`GPTConfig.tiny` the built-in CPU model, :meth:`GPTConfig.from_official` reads the
``gpt:`` section of an official config.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from voxsmith.errors import ConfigError
from voxsmith.models.conformer import ConformerConfig


@dataclass
class GPTConfig:
    """Architecture of the semantic GPT and its conditioners."""

    model_dim: int = 1280  # D: GPT width
    layers: int = 24  # GPT-2 blocks
    heads: int = 20  # GPT-2 attention heads
    max_text_tokens: int = 600  # text positions (table has +2 for start/stop)
    max_mel_tokens: int = 1815  # code positions (table has +3); also the longest duration target
    max_conditioning_inputs: int = 1  # official sizing term of the code position table
    number_text_tokens: int = 12000  # BPE vocabulary (table has +1 row)
    text_types: int = 1  # official ``types``: text table rows = number_text_tokens·types + 1
    number_mel_codes: int = 8194  # codec codebook + start + stop
    start_text_token: int = 0  # text start id
    stop_text_token: int = 1  # text stop / padding id
    start_mel_token: int = 8192  # code start id
    stop_mel_token: int = 8193  # code stop / padding id
    condition_num_latent: int = 32  # N: speaker latents
    speaker: ConformerConfig = field(default_factory=ConformerConfig.speaker_indextts2)  # speaker conformer
    speaker_perceiver_mult: float = 2.0  # speaker perceiver feed-forward multiplier
    emotion: ConformerConfig = field(default_factory=ConformerConfig.emotion_indextts2)  # emotion conformer
    emotion_perceiver_mult: float = 2.0  # emotion perceiver feed-forward multiplier
    emo_dim: int = 1024  # emotion perceiver width (official: hard-coded 1024)
    perceiver_depth: int = 2  # perceiver layers (both conditioners)
    perceiver_dim_head: int = 64  # perceiver head size (heads = the conformer's heads)
    dropout: float = 0.1  # GPT-2 residual / embedding / attention dropout (training only)
    duration_drop_prob: float = 0.3  # training rows that get the free-length slot instead of W_sem[n]
    # official inference quirks: the k-th generated code is fed with code position k+1 (position 1
    # unused) and the repetition penalty also counts the prompt's placeholder ids (all 1)
    official_decode_quirks: bool = True

    def __post_init__(self) -> None:
        if self.model_dim % self.heads:
            raise ConfigError(f"gpt: model_dim {self.model_dim} not divisible by heads {self.heads}")
        ids = (self.start_mel_token, self.stop_mel_token)
        if not all(0 <= i < self.number_mel_codes for i in ids) or ids[0] == ids[1]:
            raise ConfigError(
                f"gpt: start/stop codes {ids} must be distinct ids below {self.number_mel_codes}"
            )
        if self.speaker.input_size != self.emotion.input_size:
            raise ConfigError("gpt: speaker and emotion conformers must read the same features")
        if not 0.0 <= self.duration_drop_prob <= 1.0:
            raise ConfigError(f"gpt: duration_drop_prob must be in [0, 1], got {self.duration_drop_prob}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (voxsmith checkpoints store it; peft reads ``model.config`` this way)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GPTConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"gpt config: unknown keys {unknown}")
        kw = dict(d)
        for key in ("speaker", "emotion"):
            if isinstance(kw.get(key), Mapping):
                kw[key] = ConformerConfig(**kw[key])
        return cls(**kw)

    @property
    def feature_size(self) -> int:
        """F: size of the conditioning features both conformers read."""
        return self.speaker.input_size

    @property
    def mel_positions(self) -> int:
        """Rows of the code position table (= the duration table W_num)."""
        return self.max_mel_tokens + 2 + self.max_conditioning_inputs

    @classmethod
    def indextts2(cls) -> GPTConfig:
        """The official IndexTTS2 GPT (config.yaml v2.0): 1280-d, 24 layers, 20 heads."""
        return cls()

    @classmethod
    def tiny(
        cls, number_text_tokens: int = 1000, codebook_size: int = 1024, feature_size: int = 80
    ) -> GPTConfig:
        """The built-in CPU model: 256-d, 4 layers; ids past the codebook are start and stop."""
        return cls(
            model_dim=256,
            layers=4,
            heads=4,
            max_text_tokens=300,
            max_mel_tokens=800,
            number_text_tokens=number_text_tokens,
            number_mel_codes=codebook_size + 2,
            start_mel_token=codebook_size,
            stop_mel_token=codebook_size + 1,
            speaker=ConformerConfig(
                input_size=feature_size, output_size=128, attention_heads=2, linear_units=256, num_blocks=2
            ),
            speaker_perceiver_mult=2.0,
            emotion=ConformerConfig(
                input_size=feature_size, output_size=64, attention_heads=2, linear_units=128, num_blocks=1
            ),
            emotion_perceiver_mult=2.0,
            emo_dim=128,
            perceiver_dim_head=32,
            official_decode_quirks=False,
        )

    @classmethod
    def from_official(cls, gpt: Mapping[str, Any]) -> GPTConfig:
        """From the ``gpt:`` section of an official config.yaml (missing keys: the official defaults)."""
        known = {
            "model_dim", "layers", "heads", "max_text_tokens", "max_mel_tokens", "max_conditioning_inputs",
            "number_text_tokens", "types", "number_mel_codes", "start_text_token", "stop_text_token",
            "start_mel_token", "stop_mel_token", "condition_num_latent", "condition_type", "condition_module",
            "emo_condition_module", "use_mel_codes_as_input", "train_solo_embeddings",
            "mel_length_compression", "checkpointing", "use_accel",
        }  # fmt: skip
        unknown = sorted(set(gpt) - known)
        if unknown:
            raise ConfigError(f"gpt config: unknown keys {unknown}")
        if gpt.get("condition_type", "perceiver") != "conformer_perceiver":
            raise ConfigError(f"gpt config: condition_type {gpt.get('condition_type')!r} unsupported")
        if not gpt.get("use_mel_codes_as_input", True) or gpt.get("train_solo_embeddings", False):
            raise ConfigError("gpt config: only use_mel_codes_as_input=true, train_solo_embeddings=false")
        # mel_length_compression / checkpointing / use_accel do not change the weights or the math

        def conformer(section: str) -> tuple[ConformerConfig, float]:
            m = gpt.get(section)
            needed = (
                "output_size",
                "linear_units",
                "attention_heads",
                "num_blocks",
                "input_layer",
                "perceiver_mult",
            )
            if not isinstance(m, Mapping) or any(k not in m for k in needed):
                raise ConfigError(f"gpt config: {section} must give {', '.join(needed)}")
            enc = ConformerConfig(
                input_size=1024,  # official: hard-coded w2v-BERT width
                output_size=int(m["output_size"]),
                attention_heads=int(m["attention_heads"]),
                linear_units=int(m["linear_units"]),
                num_blocks=int(m["num_blocks"]),
                input_layer=str(m["input_layer"]),
            )
            return enc, float(m["perceiver_mult"])

        speaker, spk_mult = conformer("condition_module")
        emotion, emo_mult = conformer("emo_condition_module")
        return cls(
            model_dim=int(gpt.get("model_dim", 512)),
            layers=int(gpt.get("layers", 8)),
            heads=int(gpt.get("heads", 8)),
            max_text_tokens=int(gpt.get("max_text_tokens", 120)),
            max_mel_tokens=int(gpt.get("max_mel_tokens", 250)),
            max_conditioning_inputs=int(gpt.get("max_conditioning_inputs", 1)),
            number_text_tokens=int(gpt.get("number_text_tokens", 256)),
            text_types=int(gpt.get("types", 1)),
            number_mel_codes=int(gpt.get("number_mel_codes", 8194)),
            start_text_token=int(gpt.get("start_text_token", 0)),
            stop_text_token=int(gpt.get("stop_text_token", 1)),
            start_mel_token=int(gpt.get("start_mel_token", 8192)),
            stop_mel_token=int(gpt.get("stop_mel_token", 8193)),
            condition_num_latent=int(gpt.get("condition_num_latent", 32)),
            speaker=speaker,
            speaker_perceiver_mult=spk_mult,
            emotion=emotion,
            emotion_perceiver_mult=emo_mult,
            emo_dim=1024,  # official: hard-coded
            official_decode_quirks=True,
        )
