"""A fine-tuning method attached to a loaded model for training, and the two losses it trains on.

``Tuning(parts, cfg)`` freezes every weight of the model, then makes trainable only what the
method owns (peft layers injected for lora / ia3; chosen weights for partial / full), keyed as
in ``adapter_model.safetensors``. ``detach()`` gives the model back as it was loaded.

Losses (the pre-training recipes' losses with the frozen parts precomputed):

- GPT: cross-entropy on the codes (+ 0.01 × on the text) with the conditioning of another clip
  of the same speaker and the duration slot dropped on ``duration_drop_prob`` of the rows;
- S2M: the flow-matching loss on code-aligned crops with an in-context prompt.

Shapes: B rows, L speaker latents, D GPT width, E emotion-feature width.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from voxsmith.audio import SILENCE_LOG_MEL
from voxsmith.errors import CheckpointError
from voxsmith.finetune.adapters import (
    PEFT_ROOTS,
    check_keys,
    count,
    inject,
    owned_parameters,
    resolve_settings,
    stage_modules,
    unload,
)
from voxsmith.finetune.config import STAGES, FinetuneConfig
from voxsmith.finetune.data import FinetuneData, GPTRows, S2MCrops
from voxsmith.models.gpt import IGNORE, UnifiedVoice
from voxsmith.models.parts_base import PartsBase
from voxsmith.train.data import pad

CONDITIONERS = (
    "conditioning_encoder",
    "perceiver_encoder",
    "emo_conditioning_encoder",
    "emo_perceiver_encoder",
)


class Tuning:
    """The trainable tensors of one method on one model (see the module doc)."""

    def __init__(self, parts: PartsBase, cfg: FinetuneConfig):
        self.parts = parts
        self.cfg = cfg
        modules = stage_modules(parts)
        self.base_gpt_s2m = sum(count(m) for m in modules.values())
        self.base_total = sum(count(m) for m in parts.modules().values())
        self.settings = resolve_settings(parts, cfg.method, cfg.targets, cfg.rank, cfg.alpha, cfg.dropout)
        for m in parts.modules().values():
            m.requires_grad_(False)
        self._tuners: dict[str, tuple[object, torch.nn.Module]] = {}
        self._originals: dict[str, torch.Tensor] = {}
        self.params: dict[str, torch.nn.Parameter] = {}
        try:
            for stage, st in self.settings.items():
                if st["kind"] in ("lora", "ia3"):
                    root = modules[stage].get_submodule(PEFT_ROOTS[stage])
                    self._tuners[stage] = (inject(root, st), root)
                owned = owned_parameters(modules[stage], stage, st)
                if st["kind"] not in ("lora", "ia3"):
                    self._originals.update({k: p.detach().clone() for k, p in owned.items()})
                for p in owned.values():
                    p.requires_grad_(True)
                self.params.update(owned)
        except BaseException:
            self.detach()  # never leave a half-adapted model behind
            raise

    # ----- facts ---------------------------------------------------------------------------
    @property
    def trainable(self) -> int:
        return sum(p.numel() for p in self.params.values())

    def share(self) -> dict[str, float | int]:
        """Trainable parameters, and their share of GPT + S2M and of the whole model."""
        n = self.trainable
        return {"trainable": n, "of_gpt_s2m": n / self.base_gpt_s2m, "of_model": n / self.base_total}

    def trains(self, stage: str) -> bool:
        return any(k.startswith(stage + ".") for k in self.params)

    @property
    def conditioners_train(self) -> bool:
        """Whether the speaker / emotion conditioners change (then their outputs cannot be cached)."""
        gpt = self.parts.gpt
        return any(p.requires_grad for name in CONDITIONERS for p in gpt.get_submodule(name).parameters())

    # ----- state (RunDir duck-types modules through these two) ------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: p.detach().clone() for k, p in self.params.items()}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], strict: bool = True) -> None:
        check_keys(self.params, tensors, f"{self.cfg.method} adapter")
        with torch.no_grad():
            for k, p in self.params.items():
                if tuple(tensors[k].shape) != tuple(p.shape):
                    raise CheckpointError(
                        f"adapter: {k} has shape {tuple(tensors[k].shape)}, the model {tuple(p.shape)}"
                    )
                p.copy_(tensors[k].to(p.dtype))

    def train(self, mode: bool = True) -> None:
        for stage in STAGES:
            stage_modules(self.parts)[stage].train(mode and self.trains(stage))

    def detach(self) -> None:
        """Remove the peft layers (the base weights were never changed) and restore partial / full weights."""
        for root_tuner, root in self._tuners.values():
            unload(root_tuner, root, merge=False)
        self._tuners.clear()
        modules = stage_modules(self.parts)
        with torch.no_grad():
            for key, value in self._originals.items():
                stage, name = key.split(".", 1)
                modules[stage].get_parameter(name).copy_(value)
        for m in self.parts.modules().values():
            m.requires_grad_(True)
            m.eval()
        self.params = {}


# ----- losses ----------------------------------------------------------------------------------
def conditioning(gpt: UnifiedVoice, rows: GPTRows, live: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Speaker latents ``(B, L, D)`` and emotion vectors ``(B, D)`` from each row's partner clip."""
    if live:
        refs = [c.ref for c in rows.partners]
        feats, lens = pad(refs, SILENCE_LOG_MEL), torch.tensor([len(r) for r in refs])
        spk, emo = gpt.speaker_latents(feats, lens), gpt.emotion_features(feats, lens)
    else:
        spk = torch.stack([c.spk_latents for c in rows.partners])
        emo = torch.stack([c.emo_feats for c in rows.partners])
    return spk, gpt.emo_layer(gpt.emovec_layer(emo))


def gpt_loss(gpt: UnifiedVoice, rows: GPTRows, *, live: bool, drop: np.ndarray | None,
             text_loss_weight: float) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """``(loss, code cross-entropy)``; ``drop (B,)`` bool: rows given the free-length slot."""
    spk, emo = conditioning(gpt, rows, live)
    duration = rows.code_lengths.clone().long()
    if drop is not None:
        duration[torch.from_numpy(drop)] = -1
    conds = gpt.conditioning(spk, emo, duration)
    tf = gpt.teacher_forced(conds, rows.text_ids, rows.text_lengths, rows.codes, rows.code_lengths)
    text_ce = F.cross_entropy(
        gpt.text_head(tf.text_hidden).transpose(1, 2), tf.text_targets, ignore_index=IGNORE
    )
    mel_ce = F.cross_entropy(gpt.mel_head(tf.mel_hidden).transpose(1, 2), tf.mel_targets, ignore_index=IGNORE)
    return mel_ce + text_loss_weight * text_ce, mel_ce


@torch.no_grad()
def crop_latents(gpt: UnifiedVoice, crops: S2MCrops) -> torch.Tensor:
    """GPT latents ``(B, N, D)`` of the cropped codes, for an S2M that reads them (official size).

    Each clip is teacher-forced whole with its own conditioning and free length, as inference
    runs it, and the crop's codes are cut out; the GPT is not trained through this path.
    """
    rows = []
    for clip, s, n in crops.picks:
        lat = gpt.latents(clip.spk_latents.unsqueeze(0), gpt.emo_layer(gpt.emovec_layer(clip.emo_feats[None])),
                          torch.tensor([clip.text]), clip.codes.unsqueeze(0))  # fmt: skip
        rows.append(lat[0, s : s + n])
    return pad(rows)


def s2m_loss(parts: PartsBase, crops: S2MCrops, generator: torch.Generator) -> torch.Tensor:
    # a S2M trained without style vectors saw zeros only (as ``PartsBase.codes_to_mel`` feeds it)
    style = crops.style if parts.card.get("s2m_style", True) else torch.zeros_like(crops.style)
    latent = crop_latents(parts.gpt, crops) if "gpt_layer" in parts.s2m.models else None
    # an S2M that reads a contour gets the one inference feeds it: the head's, from the latents
    reads = getattr(parts.s2m.cfg, "contour_dim", 0) and parts.contour is not None and latent is not None
    contour = parts.contour(latent) if reads else None
    return parts.s2m.loss(parts.codec.vq2emb(crops.codes), crops.mel, crops.mel_lens, style, gpt_latent=latent,
                          prompt_lens=crops.prompt_lens, generator=generator, prompt_latent=contour is None,
                          contour=contour)  # fmt: skip


@torch.no_grad()
def validate(tuning: Tuning, data: FinetuneData, batches: int = 4) -> dict[str, float]:
    """Validation losses on fixed batches and fixed noise (comparable across steps).

    ``val_gpt``: code cross-entropy over every valid clip; ``val_s2m``: flow-matching loss on
    ``batches`` fixed crops; ``val``: the sum over the stages that train (early stopping's measure).
    """
    parts = tuning.parts
    tuning.train(False)
    out: dict[str, float] = {}
    total = 0.0
    if tuning.trains("gpt"):
        ce, n = 0.0, 0
        for rows in data.valid_gpt_batches():
            _, mel_ce = gpt_loss(
                parts.gpt, rows, live=tuning.conditioners_train, drop=None, text_loss_weight=0.0
            )
            k = int(rows.code_lengths.sum())
            ce, n = ce + mel_ce.item() * k, n + k
        out["val_gpt"] = ce / n
        total += out["val_gpt"]
    if tuning.trains("s2m"):
        losses = []
        for b in range(batches):
            crops = data.s2m_crops(data.valid, np.random.default_rng([tuning.cfg.seed, 50_000 + b]))
            losses.append(s2m_loss(parts, crops, torch.Generator().manual_seed(b)).item())
        out["val_s2m"] = float(np.mean(losses))
        total += out["val_s2m"]
    out["val"] = total
    return out
