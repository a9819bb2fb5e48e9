"""Configuration of the S2M stage (semantic codes + GPT latents → mel) and its named sizes.

:meth:`S2MConfig.indextts2` is the official architecture (config.yaml v2.0 ``s2mel``
section), :meth:`S2MConfig.tiny` the built-in CPU model, :meth:`S2MConfig.from_official`
reads an official ``s2mel`` section (the vocabulary of ``spec.json``'s ``s2mel_cfg``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from voxsmith.errors import ConfigError


def find_multiple(n: int, k: int) -> int:
    """Smallest multiple of ``k`` that is ``>= n``."""
    return n if n % k == 0 else n + k - n % k


def swiglu_width(dim: int) -> int:
    """The official SwiGLU hidden width for a model width: ``2/3 · 4 · dim`` rounded up to 256."""
    return find_multiple(int(2 * 4 * dim / 3), 256)


@dataclass
class LengthRegulatorConfig:
    """Content features at code rate → conditioning at mel rate (official ``InterpolateRegulator``)."""

    in_channels: int = 1024  # Cin: width of the content features (codec embedding)
    channels: int = 512  # C: regulator width, also the DiT's ``content_dim``
    blocks: int = 4  # [Conv1d k3, GroupNorm, Mish] blocks (official: len(sampling_ratios))
    groups: int = 1  # GroupNorm groups
    codebook_size: int = 2048  # rows of the code embedding table (unused for continuous input; in state dict)
    is_discrete: bool = False  # inputs are code ids (embedding) instead of features (content_in_proj)

    def __post_init__(self) -> None:
        if self.blocks < 1:
            raise ConfigError(f"length regulator: blocks must be >= 1 (interpolating), got {self.blocks}")
        if self.channels % self.groups:
            raise ConfigError(
                f"length regulator: channels {self.channels} not divisible by groups {self.groups}"
            )


@dataclass
class DiTConfig:
    """The diffusion transformer that estimates the flow-matching velocity."""

    in_channels: int = 80  # M: mel bins
    hidden_dim: int = 512  # D: transformer width
    num_heads: int = 8  # H: attention heads (head size D / H)
    depth: int = 13  # transformer blocks
    content_dim: int = 512  # C: width of the conditioning from the length regulator
    content_codebook_size: int = 1024  # rows of the unused discrete-content table (in the state dict)
    style_dim: int = 192  # S: style vector width (CAMPPlus embedding)
    intermediate_size: int = 1536  # SwiGLU hidden width (official: swiglu_width(hidden_dim))
    max_positions: int = 16384  # length of the ``input_pos`` buffer and the RoPE table (official: 16384)
    rope_base: float = 10000.0  # RoPE frequency base
    norm_eps: float = 1e-5  # RMSNorm epsilon
    time_embed_dim: int = 256  # width of the sinusoidal timestep features
    class_dropout_prob: float = 0.1  # training: share of items trained unconditionally (for CFG)
    long_skip_connection: bool = True  # concatenate the noisy mel to the transformer output
    uvit_skip_connection: bool = True  # U-ViT skips from the first half of the blocks to the second

    def __post_init__(self) -> None:
        if self.hidden_dim % self.num_heads or (self.hidden_dim // self.num_heads) % 2:
            raise ConfigError(
                f"DiT: hidden_dim {self.hidden_dim} must split into {self.num_heads} heads of even size (RoPE)"
            )
        if self.depth < 1:
            raise ConfigError(f"DiT: depth must be >= 1, got {self.depth}")
        if not 0.0 <= self.class_dropout_prob <= 1.0:
            raise ConfigError(f"DiT: class_dropout_prob must be in [0, 1], got {self.class_dropout_prob}")

    @property
    def head_dim(self) -> int:
        return self.hidden_dim // self.num_heads


@dataclass
class WaveNetConfig:
    """The WaveNet head after the transformer (official ``WN`` with reflect-padded convolutions)."""

    hidden_dim: int = 512  # W: channels (= DiT width: the final layer reads the DiT time embedding)
    num_layers: int = 8  # gated dilated convolution layers
    kernel_size: int = 5  # convolution kernel (odd)
    dilation_rate: int = 1  # layer i uses dilation dilation_rate ** i
    p_dropout: float = 0.2  # dropout on the gated activations (training only)

    def __post_init__(self) -> None:
        if self.kernel_size % 2 != 1:
            raise ConfigError(f"wavenet: kernel_size must be odd, got {self.kernel_size}")
        if self.num_layers < 1 or self.dilation_rate < 1:
            raise ConfigError("wavenet: num_layers and dilation_rate must be >= 1")


@dataclass
class S2MConfig:
    """The whole S2M stage: GPT-latent projection, length regulator, flow matching with a DiT."""

    length_regulator: LengthRegulatorConfig = field(default_factory=LengthRegulatorConfig)  # codes → mel rate
    dit: DiTConfig = field(default_factory=DiTConfig)  # velocity estimator
    wavenet: WaveNetConfig = field(default_factory=WaveNetConfig)  # estimator head
    # gpt_layer widths, GPT width first and content width last (official: hard-coded 1280→256→128→1024);
    # empty = no GPT-latent input
    gpt_layer_dims: tuple[int, ...] = (1280, 256, 128, 1024)
    frames_per_code: float = 1.72  # mel frames per semantic code (official 22050/256/50; tiny 4.0)
    sigma_min: float = 1e-6  # flow-matching path ``x_t = (1 - (1 - σ) t) z + t x1``
    loss: str = "l1"  # regression loss on the velocity: "l1" or "l2" (official reg_loss_type)
    default_steps: int = 25  # Euler steps used when the caller gives none
    default_cfg_rate: float = 0.7  # classifier-free guidance rate used when the caller gives none
    # K: utterance prosody offsets (target minus prompt, voxsmith.models.prosody) added to the
    # content through a linear layer; 0 = none (official). The tiny size's CTC codes are
    # pitch-blind, so without it the emotion's pitch and loudness reach S2M only weakly.
    prosody_dim: int = 0
    # Kc: per-code prosody contour (speaker-relative f0 and energy, voxsmith.models.prosody)
    # added to the content through a linear layer; 0 = none (official). Utterance offsets alone
    # move pitch by a tenth of what they ask: a contour the target follows code by code is
    # an input S2M cannot ignore.
    contour_dim: int = 0

    def __post_init__(self) -> None:
        if self.prosody_dim < 0:
            raise ConfigError(f"s2m: prosody_dim must be >= 0, got {self.prosody_dim}")
        if self.contour_dim < 0:
            raise ConfigError(f"s2m: contour_dim must be >= 0, got {self.contour_dim}")
        if self.wavenet.hidden_dim != self.dit.hidden_dim:
            raise ConfigError(
                f"s2m: wavenet.hidden_dim {self.wavenet.hidden_dim} must equal DiT.hidden_dim "
                f"{self.dit.hidden_dim} (the final layer is modulated by the DiT time embedding)"
            )
        if self.length_regulator.channels != self.dit.content_dim:
            raise ConfigError(
                f"s2m: length_regulator.channels {self.length_regulator.channels} must equal "
                f"DiT.content_dim {self.dit.content_dim}"
            )
        if self.gpt_layer_dims:
            if len(self.gpt_layer_dims) < 2:
                raise ConfigError(f"s2m: gpt_layer_dims needs at least two widths, got {self.gpt_layer_dims}")
            if self.gpt_layer_dims[-1] != self.length_regulator.in_channels:
                raise ConfigError(
                    f"s2m: gpt_layer output {self.gpt_layer_dims[-1]} must equal the content width "
                    f"{self.length_regulator.in_channels} (it is added to the codec embedding)"
                )
        if self.loss not in ("l1", "l2"):
            raise ConfigError(f"s2m: loss must be 'l1' or 'l2', got {self.loss!r}")
        if self.frames_per_code <= 0:
            raise ConfigError(f"s2m: frames_per_code must be > 0, got {self.frames_per_code}")

    @property
    def n_mels(self) -> int:
        return self.dit.in_channels

    @property
    def content_dim(self) -> int:
        """Cin: width of the content features the stage reads (codec embedding + projected latents)."""
        return self.length_regulator.in_channels

    @property
    def gpt_dim(self) -> int | None:
        """Width of the GPT latents the stage reads, or None without a gpt_layer."""
        return self.gpt_layer_dims[0] if self.gpt_layer_dims else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in voxsmith checkpoints)."""
        d = asdict(self)
        d["gpt_layer_dims"] = list(self.gpt_layer_dims)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> S2MConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"s2m config: unknown keys {unknown}")
        kw = dict(d)
        for key, sub in (
            ("length_regulator", LengthRegulatorConfig),
            ("dit", DiTConfig),
            ("wavenet", WaveNetConfig),
        ):
            if isinstance(kw.get(key), Mapping):
                kw[key] = sub(**kw[key])
        if "gpt_layer_dims" in kw:
            kw["gpt_layer_dims"] = tuple(int(v) for v in kw["gpt_layer_dims"])
        return cls(**kw)

    @classmethod
    def indextts2(cls) -> S2MConfig:
        """The official S2M (config.yaml v2.0): DiT 13×512, 8 heads, WaveNet 8×512, regulator 1024→512."""
        return cls()

    @classmethod
    def tiny(
        cls,
        content_dim: int = 256,
        gpt_dim: int | None = 256,
        style_dim: int = 192,
        frames_per_code: float = 4.0,
    ) -> S2MConfig:
        """The built-in CPU model (~3.7 M parameters): DiT 6×128, 4 heads, WaveNet 4×128.

        ``content_dim`` is the tiny codec's embedding width, ``gpt_dim`` the tiny GPT's width
        (None: no GPT-latent input), ``frames_per_code`` the mel frames per code (21.5 Hz codes).
        """
        hidden = 128
        return cls(
            length_regulator=LengthRegulatorConfig(in_channels=content_dim, channels=128, codebook_size=16),
            dit=DiTConfig(
                hidden_dim=hidden,
                num_heads=4,
                depth=6,
                content_dim=128,
                content_codebook_size=16,
                style_dim=style_dim,
                intermediate_size=swiglu_width(hidden),
                max_positions=8192,  # prompt + target frames: ~95 s at 86 Hz
            ),
            wavenet=WaveNetConfig(hidden_dim=hidden, num_layers=4, kernel_size=5, p_dropout=0.1),
            gpt_layer_dims=(gpt_dim, 128, 64, content_dim) if gpt_dim else (),
            frames_per_code=frames_per_code,
            default_steps=10,
        )

    @classmethod
    def from_official(cls, s2mel: Mapping[str, Any], use_gpt_latent: bool = True) -> S2MConfig:
        """From the ``s2mel:`` section of an official config.yaml.

        Options the official IndexTTS2 code never exercises (f0 conditioning, vector
        quantisation, several codebooks, causal/time-as-token/style-as-token DiTs, an MLP
        final layer) are rejected with a ConfigError rather than silently mis-built.
        """
        try:
            lr, dit, wn = s2mel["length_regulator"], s2mel["DiT"], s2mel["wavenet"]
            style_dim = int(s2mel["style_encoder"]["dim"])
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"s2mel config: missing section {exc}") from exc
        if s2mel.get("dit_type", "DiT") != "DiT":
            raise ConfigError(f"s2mel config: dit_type {s2mel.get('dit_type')!r} unsupported (DiT)")
        unsupported = {
            "length_regulator.vector_quantize": bool(lr.get("vector_quantize", False)),
            "length_regulator.f0_condition": bool(lr.get("f0_condition", False)),
            "length_regulator.n_codebooks != 1": int(lr.get("n_codebooks", 1)) != 1,
            "DiT.f0_condition": bool(dit.get("f0_condition", False)),
            "DiT.is_causal": bool(dit.get("is_causal", False)),
            "DiT.time_as_token": bool(dit.get("time_as_token", False)),
            "DiT.style_as_token": bool(dit.get("style_as_token", False)),
            "DiT.zero_prompt_speech_token": bool(dit.get("zero_prompt_speech_token", False)),
            "DiT.add_resblock_in_transformer": bool(dit.get("add_resblock_in_transformer", False)),
            "DiT.style_condition false": not bool(dit.get("style_condition", True)),
            "wavenet.style_condition false": not bool(wn.get("style_condition", True)),
            "DiT.final_layer_type != wavenet": dit.get("final_layer_type", "wavenet") != "wavenet",
        }
        bad = [name for name, on in unsupported.items() if on]
        if bad:
            raise ConfigError(f"s2mel config: unsupported options {bad}")
        hidden = int(dit["hidden_dim"])
        content_in = int(lr["in_channels"])
        return cls(
            length_regulator=LengthRegulatorConfig(
                in_channels=content_in,
                channels=int(lr["channels"]),
                blocks=len(lr.get("sampling_ratios", [1, 1, 1, 1])),
                codebook_size=int(lr.get("content_codebook_size", 1024)),
                is_discrete=bool(lr.get("is_discrete", False)),
            ),
            dit=DiTConfig(
                in_channels=int(dit.get("in_channels", 80)),
                hidden_dim=hidden,
                num_heads=int(dit["num_heads"]),
                depth=int(dit["depth"]),
                content_dim=int(dit["content_dim"]),
                content_codebook_size=int(dit.get("content_codebook_size", 1024)),
                style_dim=style_dim,
                intermediate_size=swiglu_width(hidden),
                max_positions=16384,  # official: hard-coded, DiT.block_size is ignored
                class_dropout_prob=float(dit.get("class_dropout_prob", 0.1)),
                long_skip_connection=bool(dit.get("long_skip_connection", True)),
                uvit_skip_connection=bool(dit.get("uvit_skip_connection", False)),
            ),
            wavenet=WaveNetConfig(
                hidden_dim=int(wn["hidden_dim"]),
                num_layers=int(wn["num_layers"]),
                kernel_size=int(wn["kernel_size"]),
                dilation_rate=int(wn.get("dilation_rate", 1)),
                p_dropout=float(wn.get("p_dropout", 0.0)),
            ),
            # official: hard-coded Linear(1280, 256) → (256, 128) → (128, 1024)
            gpt_layer_dims=(1280, 256, 128, 1024) if use_gpt_latent else (),
            frames_per_code=1.72,
            loss=str(s2mel.get("reg_loss_type", "l1")),
        )
