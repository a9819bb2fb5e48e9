"""Configuration of the RepCodec semantic codec (w2v-BERT features ↔ discrete semantic codes).

:meth:`RepCodecConfig.indextts2` is MaskGCT's semantic codec as IndexTTS2 uses it (config.yaml
``semantic_codec``: codebook 8192 × 8, Vocos backbones 384-d × 12, on 1024-d features),
:meth:`RepCodecConfig.tiny` a small size of the same code, :meth:`RepCodecConfig.from_official`
reads the official ``semantic_codec`` section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from voxsmith.errors import ConfigError


@dataclass
class RepCodecConfig:
    """Sizes of the codec; field names follow the official ``semantic_codec`` section."""

    codebook_size: int = 8192  # K: codes per quantizer
    hidden_size: int = 1024  # H: feature width (w2v-BERT 2.0 hidden state)
    codebook_dim: int = 8  # D: factorized code space the features are projected into
    vocos_dim: int = 384  # width of the encoder/decoder ConvNeXt backbones
    vocos_intermediate_dim: int = 2048  # ConvNeXt pointwise expansion
    vocos_num_layers: int = 12  # ConvNeXt blocks per backbone
    num_quantizers: int = 1  # residual quantizer stages (IndexTTS2: 1)
    use_l2_normalize: bool = True  # nearest codeword by cosine (both sides L2-normalised)

    def __post_init__(self) -> None:
        for name in ("codebook_size", "hidden_size", "codebook_dim", "vocos_dim", "vocos_intermediate_dim"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"repcodec: {name} must be >= 1, got {getattr(self, name)}")
        if self.vocos_num_layers < 1 or self.num_quantizers < 1:
            raise ConfigError(
                f"repcodec: vocos_num_layers ({self.vocos_num_layers}) and num_quantizers "
                f"({self.num_quantizers}) must be >= 1"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in voxsmith checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RepCodecConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"repcodec config: unknown keys {unknown}")
        return cls(**d)

    @classmethod
    def indextts2(cls) -> RepCodecConfig:
        """MaskGCT's semantic codec as IndexTTS2 ships it (44.3 M parameters, decoder included)."""
        return cls()

    @classmethod
    def tiny(cls, hidden_size: int = 256, codebook_size: int = 512) -> RepCodecConfig:
        """A small size of the same code (~0.34 M parameters at the defaults) for CPU tests."""
        return cls(
            codebook_size=codebook_size,
            hidden_size=hidden_size,
            codebook_dim=8,
            vocos_dim=64,
            vocos_intermediate_dim=128,
            vocos_num_layers=2,
        )

    @classmethod
    def from_official(cls, cfg: Mapping[str, Any]) -> RepCodecConfig:
        """From the official ``semantic_codec`` section (MaskGCT ``RepCodec(cfg=...)`` keys).

        Options IndexTTS2 never uses are rejected rather than silently mis-built: temporal
        down-sampling (``downsample_scale`` > 1) and quantizers other than the factorized VQ.
        """
        try:
            out = cls(
                codebook_size=int(cfg["codebook_size"]),
                hidden_size=int(cfg["hidden_size"]),
                codebook_dim=int(cfg["codebook_dim"]),
                vocos_dim=int(cfg["vocos_dim"]),
                vocos_intermediate_dim=int(cfg["vocos_intermediate_dim"]),
                vocos_num_layers=int(cfg["vocos_num_layers"]),
                num_quantizers=int(cfg.get("num_quantizers", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"semantic_codec config: missing or malformed key {exc}") from exc
        scale = cfg.get("downsample_scale")
        if scale is not None and int(scale) > 1:
            raise ConfigError(f"semantic_codec config: downsample_scale {scale} unsupported (1)")
        qtype = cfg.get("quantizer_type", "fvq")
        if qtype != "fvq":
            raise ConfigError(f"semantic_codec config: quantizer_type {qtype!r} unsupported ('fvq')")
        return out
