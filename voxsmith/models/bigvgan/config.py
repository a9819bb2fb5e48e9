"""Configuration of the BigVGAN v2 generator (mel → waveform) and its named sizes.

:meth:`BigVGANConfig.indextts2` is the vocoder IndexTTS2 uses (nvidia/bigvgan_v2_22khz_80band_256x:
22050 Hz, 80 mels, 256× upsampling, 1536 channels, SnakeBeta), :meth:`BigVGANConfig.tiny` a
small debug size of the same code, :meth:`BigVGANConfig.from_official` reads an official
``config.json`` (the ``h`` of ``spec.json``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from voxsmith.errors import ConfigError


@dataclass
class BigVGANConfig:
    """Sizes of the generator; field names follow the official ``config.json``."""

    num_mels: int = 80  # M: mel bins read by conv_pre
    upsample_rates: tuple[int, ...] = (4, 4, 2, 2, 2, 2)  # stride of each transposed conv; product = hop
    upsample_kernel_sizes: tuple[int, ...] = (8, 8, 4, 4, 4, 4)  # kernel of each transposed conv
    upsample_initial_channel: int = 1536  # C0: width after conv_pre, halved at every upsampling
    resblock: str = "1"  # AMP block type: "1" (two convs per dilation) or "2" (one conv per dilation)
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)  # kernels of the parallel AMP blocks per stage
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))  # per block
    activation: str = "snakebeta"  # periodic activation: "snake" or "snakebeta"
    snake_logscale: bool = True  # alpha/beta stored as logs (init 0 = scale 1)
    use_tanh_at_final: bool = False  # tanh on the output; False = clamp to [-1, 1] (v2 22 kHz)
    use_bias_at_final: bool = False  # bias on conv_post (v2 22 kHz: none)
    sampling_rate: int = 22050  # output sample rate (informational: the mel front-end must match)

    def __post_init__(self) -> None:
        self.upsample_rates = tuple(int(v) for v in self.upsample_rates)
        self.upsample_kernel_sizes = tuple(int(v) for v in self.upsample_kernel_sizes)
        self.resblock_kernel_sizes = tuple(int(v) for v in self.resblock_kernel_sizes)
        self.resblock_dilation_sizes = tuple(tuple(int(d) for d in ds) for ds in self.resblock_dilation_sizes)
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes) or not self.upsample_rates:
            raise ConfigError(
                f"bigvgan: upsample_rates {self.upsample_rates} and upsample_kernel_sizes "
                f"{self.upsample_kernel_sizes} must be non-empty and of equal length"
            )
        for u, k in zip(self.upsample_rates, self.upsample_kernel_sizes, strict=True):
            # padding (k - u) / 2 makes every transposed conv output exactly T·u samples
            if u < 1 or k < u or (k - u) % 2:
                raise ConfigError(f"bigvgan: upsample kernel {k} with rate {u} needs k >= u and k - u even")
        if self.upsample_initial_channel >> len(self.upsample_rates) < 1:
            raise ConfigError(
                f"bigvgan: upsample_initial_channel {self.upsample_initial_channel} cannot be halved "
                f"{len(self.upsample_rates)} times"
            )
        if (
            len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes)
            or not self.resblock_kernel_sizes
        ):
            raise ConfigError(
                f"bigvgan: resblock_kernel_sizes {self.resblock_kernel_sizes} and resblock_dilation_sizes "
                f"{self.resblock_dilation_sizes} must be non-empty and of equal length"
            )
        if any(k % 2 == 0 for k in self.resblock_kernel_sizes):
            raise ConfigError(f"bigvgan: resblock kernels must be odd, got {self.resblock_kernel_sizes}")
        if self.resblock not in ("1", "2"):
            raise ConfigError(f"bigvgan: resblock must be '1' or '2', got {self.resblock!r}")
        if self.activation not in ("snake", "snakebeta"):
            raise ConfigError(f"bigvgan: activation must be 'snake' or 'snakebeta', got {self.activation!r}")

    @property
    def hop_length(self) -> int:
        """Output samples per mel frame (product of the upsampling rates)."""
        return math.prod(self.upsample_rates)

    @property
    def out_channels(self) -> int:
        """Width of the last stage (read by activation_post and conv_post)."""
        return self.upsample_initial_channel // 2 ** len(self.upsample_rates)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in voxsmith checkpoints)."""
        d = asdict(self)
        d["resblock_dilation_sizes"] = [list(ds) for ds in self.resblock_dilation_sizes]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BigVGANConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"bigvgan config: unknown keys {unknown}")
        return cls(**d)

    @classmethod
    def indextts2(cls) -> BigVGANConfig:
        """bigvgan_v2_22khz_80band_256x, the vocoder of IndexTTS2 (112 M parameters with weight norm)."""
        return cls()

    @classmethod
    def tiny(cls) -> BigVGANConfig:
        """A debug size of the same code (~0.13 M parameters): still 80 mels and 256× upsampling."""
        return cls(
            upsample_rates=(8, 8, 4),
            upsample_kernel_sizes=(16, 16, 8),
            upsample_initial_channel=64,
            resblock_kernel_sizes=(3, 7),
            resblock_dilation_sizes=((1, 3), (1, 3)),
        )

    @classmethod
    def from_official(cls, h: Mapping[str, Any]) -> BigVGANConfig:
        """From an official BigVGAN ``config.json``; training-only keys (discriminators, losses) are ignored.

        Defaults of absent keys are the official ones (``use_tanh_at_final`` and ``use_bias_at_final``
        default to True there, as in BigVGAN v1 checkpoints).
        """
        try:
            cfg = cls(
                num_mels=int(h["num_mels"]),
                upsample_rates=tuple(h["upsample_rates"]),
                upsample_kernel_sizes=tuple(h["upsample_kernel_sizes"]),
                upsample_initial_channel=int(h["upsample_initial_channel"]),
                resblock=str(h["resblock"]),
                resblock_kernel_sizes=tuple(h["resblock_kernel_sizes"]),
                resblock_dilation_sizes=tuple(tuple(d) for d in h["resblock_dilation_sizes"]),
                activation=str(h["activation"]),
                snake_logscale=bool(h.get("snake_logscale", True)),
                use_tanh_at_final=bool(h.get("use_tanh_at_final", True)),
                use_bias_at_final=bool(h.get("use_bias_at_final", True)),
                sampling_rate=int(h.get("sampling_rate", 22050)),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"bigvgan config: missing or malformed key {exc}") from exc
        hop = h.get("hop_size")
        if hop is not None and int(hop) != cfg.hop_length:
            raise ConfigError(
                f"bigvgan config: hop_size {hop} != product of upsample_rates {cfg.upsample_rates} "
                f"({cfg.hop_length})"
            )
        return cfg
