"""Settings of a few-shot fine-tuning run: the method, its adapter shape and the training schedule.

Methods (what trains; everything else stays frozen):

* ``lora``: low-rank updates ``W + (alpha/r)·B·A`` (peft) on the GPT's attention and MLP
  projections (GPT-2 ``c_attn``, ``c_proj``, ``c_fc``) and on the S2M DiT estimator's linear
  layers (``wqkv``, ``wo``, SwiGLU ``w1``/``w2``/``w3``): S2M is where timbre is made. At the
  tiny size the default is the S2M layers only (the GPT's are opt-in through ``targets``).
* ``ia3``: learned rescaling vectors (peft IA³) on the same layers: keys, values and outputs
  scaled per channel, the down-projections (``mlp.c_proj``, ``w2``) on their input, i.e. the
  FFN activations, as in the IA³ paper.
* ``partial``: the GPT's emotion projections (``emovec_layer``, ``emo_layer``) and output heads
  (``mel_head``, ``text_head``), and the S2M estimator's output head (``final_layer``, ``conv2``).
* ``full``: every GPT and S2M weight (for comparison; the artifact is as large as the two stages).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from voxsmith.errors import ConfigError

METHODS = ("lora", "ia3", "partial", "full")
STAGES = ("gpt", "s2m")
# module names peft adapts, matched as peft does (the full path or its last dotted parts)
GPT_TARGETS = ("c_attn", "c_proj", "c_fc")
S2M_TARGETS = ("wqkv", "wo", "w1", "w2", "w3")
# IA³ scales the input of these (the FFN activations) instead of the output
IA3_FEEDFORWARD = ("mlp.c_proj", "feed_forward.w2")
# partial: trainable submodules per stage, as paths inside UnifiedVoice / S2M
PARTIAL_MODULES = {
    "gpt": ("emovec_layer", "emo_layer", "mel_head", "text_head"),
    "s2m": ("models.cfm.estimator.final_layer", "models.cfm.estimator.conv2"),
}
# default learning rates: adapters start at identity and tolerate larger steps than full weights
LEARNING_RATES = {"lora": 2e-3, "ia3": 3e-3, "partial": 5e-4, "full": 1e-4}


@dataclass
class FinetuneConfig:
    """One fine-tuning run. ``FinetuneConfig.for_model(parts, method)`` picks the size defaults."""

    method: str = "lora"
    rank: int = 2  # LoRA rank (2 keeps the tiny model's adapter under 1% of GPT + S2M)
    alpha: float = 4.0  # LoRA scale numerator: updates are scaled by alpha / rank
    dropout: float = 0.0  # LoRA dropout (few clips, few steps: none)
    # lora / ia3: module names to adapt (tiny() defaults to S2M_TARGETS only)
    targets: tuple[str, ...] = GPT_TARGETS + S2M_TARGETS
    epochs: int = 40  # passes over the training codes (one epoch = codes / gpt_batch_codes steps)
    steps: int | None = None  # total optimiser steps; overrides epochs when set
    lr: float | None = None  # peak learning rate; None: LEARNING_RATES[method]
    warmup: int = 10  # linear warm-up steps
    weight_decay: float = 0.0  # AdamW weight decay (adapters start at identity; keep them free)
    patience: int = 3  # validations without improvement before stopping early
    val_every: int | None = None  # steps between validations; None: one epoch (at least 5 steps)
    min_delta: float = 1e-4  # a validation loss must drop by this much to count as better
    gpt_batch_codes: int = 600  # semantic codes per GPT batch (~28 s of speech at 21.5 codes/s)
    max_ref_frames: int = 500  # speaker/emotion reference crop, mel frames (~5.8 s)
    text_loss_weight: float = 0.01  # official weighting of the GPT's text loss
    s2m_batch: int = 4  # S2M crops per step
    s2m_crop_codes: int = 64  # codes per S2M crop (× 4 mel frames ≈ 3 s)
    prompt_share: tuple[float, float] = (0.15, 0.45)  # S2M in-context prompt share of a crop
    medoid_clips: int = 200  # at most this many clips are compared for the stored speaker
    min_speaker_seconds: float = 3.0  # the stored speaker prefers clips at least this long (a usable prompt)
    seed: int = 0
    threads: int | None = None  # torch threads; None: torch's choice

    def __post_init__(self) -> None:
        self.targets = tuple(self.targets)
        self.prompt_share = tuple(self.prompt_share)  # type: ignore[assignment]
        self.check()

    # ----- named sizes ---------------------------------------------------------------------
    @classmethod
    def tiny(cls, method: str = "lora", **overrides: object) -> FinetuneConfig:
        """The built-in CPU model (GPT 256-d × 4, DiT 128-d × 6). LoRA / IA³ adapt the S2M
        estimator only (rank 2: 0.33% of GPT + S2M): on 3 minutes of a held-out speaker, adding
        the GPT's projections gave the same similarity gain and a worse CER/WER on 6 of 7
        speakers (BENCHMARKS.md, issue 6); pass ``targets`` to adapt the GPT as well."""
        return cls(method=method, **{"targets": S2M_TARGETS, **overrides})  # type: ignore[arg-type]

    @classmethod
    def indextts2(cls, method: str = "lora", **overrides: object) -> FinetuneConfig:
        """Official size (GPT 1280-d × 24, DiT 512-d × 13): rank 8 is ~0.7% of GPT + S2M."""
        base = {"rank": 8, "alpha": 16.0, "gpt_batch_codes": 1500, "lr": None, "epochs": 20}
        return cls(method=method, **{**base, **overrides})  # type: ignore[arg-type]

    @classmethod
    def for_model(cls, gpt_width: int, method: str = "lora", **overrides: object) -> FinetuneConfig:
        """The size defaults for a GPT of ``gpt_width`` channels (official size from 1024 up)."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        builder = cls.indextts2 if gpt_width >= 1024 else cls.tiny
        return builder(method, **overrides)

    # ----- derived ---------------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else LEARNING_RATES[self.method]

    @property
    def uses_peft(self) -> bool:
        return self.method in ("lora", "ia3")

    def replace(self, **changes: object) -> FinetuneConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def check(self) -> None:
        """Raise ``ConfigError`` naming the first value out of range."""
        if self.method not in METHODS:
            raise ConfigError(
                f"unknown fine-tuning method {self.method!r}; choose one of {', '.join(METHODS)}"
            )
        positive = {
            "rank": self.rank, "epochs": self.epochs, "patience": self.patience, "gpt_batch_codes": self.gpt_batch_codes,
            "max_ref_frames": self.max_ref_frames, "s2m_batch": self.s2m_batch, "s2m_crop_codes": self.s2m_crop_codes,
            "medoid_clips": self.medoid_clips,
        }  # fmt: skip
        for name, value in positive.items():
            if int(value) < 1:
                raise ConfigError(f"finetune: {name} must be >= 1, got {value}")
        for name, value in (("steps", self.steps), ("val_every", self.val_every), ("threads", self.threads)):
            if value is not None and value < 1:
                raise ConfigError(f"finetune: {name} must be >= 1, got {value}")
        if self.alpha <= 0:
            raise ConfigError(f"finetune: alpha must be > 0, got {self.alpha}")
        if self.lr is not None and not 0 < self.lr < 1:
            raise ConfigError(f"finetune: lr must be in (0, 1), got {self.lr}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"finetune: dropout must be in [0, 1), got {self.dropout}")
        lo, hi = self.prompt_share
        if not 0 < lo <= hi < 1:
            raise ConfigError(
                f"finetune: prompt_share must satisfy 0 < lo <= hi < 1, got {self.prompt_share}"
            )
        if self.uses_peft and not self.targets:
            raise ConfigError(f"finetune: method {self.method} needs at least one target module name")


def parse_targets(text: str) -> tuple[str, ...]:
    """``"c_attn,c_proj, wqkv"`` → ``("c_attn", "c_proj", "wqkv")``; an empty list is an error."""
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise ConfigError(f"--targets {text!r}: give comma-separated module names, e.g. c_attn,c_fc,wqkv")
    return names
