"""The Perceivers' internal scale: watched and bounded while training, repaired in a trained GPT.

The Perceiver resampler (official structure) normalises only at its end (RMSNorm), and its GEGLU
feed-forwards are quadratic in their input, so nothing in the loss sees the scale of the latents
before that norm and under Adam it can grow without bound. The first built-in GPT's speaker
Perceiver reached pre-norm latent norms of ~3e8 on every reference: its latent self-attention is
saturated, its gradients reach 1e11–1e24 on some batches, and the global gradient clip then
shrinks the whole GPT's update to almost nothing on those steps (4 in 10, some 850 steps into a
continuation on the larger corpus), or the norm overflows and the step is skipped.

- :class:`PerceiverScale` hooks a Perceiver's latents before its final norm, and each branch
  adding to them, while training; ``penalty(cap)`` sums per activation the mean over latents of
  ``relu(log(rms / cap))²``: zero while the scale stays under the cap, so a healthy Perceiver is
  left alone.
- :func:`refit_perceivers` fits an inflated Perceiver, with that penalty, to its own outputs
  (cosine) on reference clips: its scale comes down to the cap while the latents the GPT reads
  stay nearly the same.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from voxsmith.audio import SILENCE_LOG_MEL
from voxsmith.models.gpt import UnifiedVoice
from voxsmith.models.perceiver import PerceiverResampler
from voxsmith.train.data import pad

log = logging.getLogger(__name__)

# Perceiver → the conformer that feeds it, in UnifiedVoice
PERCEIVERS = {
    "perceiver_encoder": "conditioning_encoder",
    "emo_perceiver_encoder": "emo_conditioning_encoder",
}
DEFAULT_CAP = 8.0  # RMS per latent: the healthy emotion Perceiver of the built-in GPT stays at 1.4–7


def latent_rms(x: torch.Tensor) -> torch.Tensor:
    """RMS over the last dimension: ``(..., D)`` → ``(...)``."""
    return x.pow(2).mean(-1).clamp_min(1e-24).sqrt()


def scale_penalty(prenorm: torch.Tensor, cap: float) -> torch.Tensor:
    """``mean(relu(log(rms / cap))²)`` over the latents of ``prenorm (B, N, D)``: log-scaled so a
    norm of 1e8 pulls as steadily as one of 20, without a gradient of its own size."""
    return F.relu(torch.log(latent_rms(prenorm) / cap)).pow(2).mean()


class PerceiverScale:
    """Records a Perceiver's activations during forward passes with autograd on: the latents
    before its final norm (the scale the logs report) and the output of every branch that adds
    to them (the context projection, each attention and feed-forward). Bounding only the sum
    lets branches grow and cancel, a state one optimiser step breaks; bounding each keeps the
    whole module in range.

    ``clear()`` before a training forward, then ``penalty(cap)`` and ``max_rms()`` read what that
    forward produced; passes under ``torch.no_grad`` (validation) are not recorded.
    """

    def __init__(self, perceivers: dict[str, PerceiverResampler]):
        self.prenorm: dict[str, list[torch.Tensor]] = {name: [] for name in perceivers}
        self.branches: list[torch.Tensor] = []
        self._hooks = []
        for name, p in perceivers.items():
            self._hooks.append(p.norm.register_forward_pre_hook(self._record_prenorm(name)))
            parts = [p.proj_context] if isinstance(p.proj_context, torch.nn.Linear) else []
            parts += [m for layer in p.layers for m in layer]
            self._hooks += [m.register_forward_hook(self._record_branch) for m in parts]

    def _record_prenorm(self, name: str) -> Callable:
        def record(_module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            if torch.is_grad_enabled():
                self.prenorm[name].append(args[0])

        return record

    def _record_branch(self, _module: torch.nn.Module, _args: tuple, out: torch.Tensor) -> None:
        if torch.is_grad_enabled():
            self.branches.append(out)

    def clear(self) -> None:
        for v in self.prenorm.values():
            v.clear()
        self.branches.clear()

    def penalty(self, cap: float) -> torch.Tensor:
        terms = [scale_penalty(x, cap) for v in self.prenorm.values() for x in v]
        if not terms:
            raise RuntimeError("PerceiverScale: no Perceiver forward recorded since clear()")
        return torch.stack(terms + [scale_penalty(x, cap) for x in self.branches]).sum()

    def max_rms(self) -> dict[str, float]:
        """Largest pre-norm RMS per Perceiver recorded since ``clear()``."""
        return {
            name: max(float(latent_rms(x.detach()).max()) for x in v) for name, v in self.prenorm.items() if v
        }

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()


@dataclass
class RefitConfig:
    steps: int = 1500  # optimiser steps per inflated Perceiver
    lr: float = 3e-4
    cap: float = DEFAULT_CAP  # RMS per latent the refit brings the scale under
    batch: int = 16  # reference clips per step
    check_batches: int = 4  # fixed batches for the before/after figures
    seed: int = 0


RefSampler = Callable[[np.random.Generator, int], list[torch.Tensor]]


def _contexts(
    model: UnifiedVoice, encoder: str, mels: list[torch.Tensor], latents: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Conformer outputs and Perceiver key mask of reference mels ``[(T, 80)]``."""
    device = next(model.parameters()).device
    x = pad(mels, value=SILENCE_LOG_MEL).to(device)
    lengths = torch.tensor([len(m) for m in mels], device=device)
    with torch.no_grad():
        ctx, valid = getattr(model, encoder)(x, lengths)
    return ctx, model._latent_mask(valid, latents)


@torch.no_grad()
def _measure(
    student: PerceiverResampler, teacher: PerceiverResampler, batches: list[tuple[torch.Tensor, ...]]
) -> tuple[float, float]:
    """Mean cosine of student to teacher latents, and the student's largest pre-norm RMS."""
    student.eval()
    scale = PerceiverScale({"p": student})
    cos, top = [], 0.0
    with torch.enable_grad():  # the hook records only with autograd on; nothing is backpropagated
        for ctx, mask in batches:
            scale.clear()
            out = student(ctx, mask).detach()
            cos.append(float(F.cosine_similarity(out, teacher(ctx, mask), dim=-1).mean()))
            top = max(top, scale.max_rms()["p"])
    scale.remove()
    return float(np.mean(cos)), top


def refit_perceivers(
    model: UnifiedVoice, sample_refs: RefSampler, cfg: RefitConfig | None = None
) -> dict[str, dict[str, float]]:
    """Refit, in place, each Perceiver of ``model`` whose pre-norm RMS exceeds ``cfg.cap`` on
    reference clips from ``sample_refs(rng, n)`` (a list of ``(T, 80)`` log-mels).

    The conformer before it is frozen and the target is the Perceiver's own output before the
    refit, so the GPT downstream keeps its conditioning. Returns per refitted Perceiver the
    largest pre-norm RMS and the mean latent cosine to the old outputs, before and after.
    """
    cfg = cfg or RefitConfig()
    was_training = model.training
    model.eval()
    report: dict[str, dict[str, float]] = {}
    for name, encoder in PERCEIVERS.items():
        student: PerceiverResampler = getattr(model, name)
        latents = student.latents.shape[0]
        check = [
            _contexts(
                model, encoder, sample_refs(np.random.default_rng([cfg.seed, 1, b]), cfg.batch), latents
            )
            for b in range(cfg.check_batches)
        ]
        teacher = copy.deepcopy(student).eval().requires_grad_(False)
        _, rms0 = _measure(student, teacher, check)
        if rms0 <= cfg.cap:
            log.info("refit: %s healthy (pre-norm RMS %.3g <= cap %.3g), left alone", name, rms0, cfg.cap)
            continue
        log.info("refit: %s pre-norm RMS %.3g > cap %.3g: refitting %d steps", name, rms0, cfg.cap, cfg.steps)
        opt = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=0.0)
        scale = PerceiverScale({name: student})
        student.train()
        for step in tqdm(range(cfg.steps), desc=f"refit {name}", unit="step"):
            ctx, mask = _contexts(
                model, encoder, sample_refs(np.random.default_rng([cfg.seed, 0, step]), cfg.batch), latents
            )
            with torch.no_grad():
                target = teacher(ctx, mask)
            scale.clear()
            out = student(ctx, mask)
            loss = (1 - F.cosine_similarity(out, target, dim=-1)).mean() + scale.penalty(cfg.cap)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if torch.isfinite(torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)):
                opt.step()
        scale.remove()
        cos, rms1 = _measure(student, teacher, check)
        report[name] = {"rms_before": rms0, "rms_after": rms1, "cosine": cos}
        log.info("refit: %s pre-norm RMS %.3g -> %.3g, latent cosine to before %.4f", name, rms0, rms1, cos)
    model.train(was_training)
    return report
