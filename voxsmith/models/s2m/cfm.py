"""Conditional flow matching with an in-context prompt: S2M's sampler and training loss.

Path and target (σ = ``sigma_min``): ``x_t = (1 - (1 - σ)·t)·z + t·x1`` and
``u = x1 - (1 - σ)·z``, so the estimator learns the velocity from noise ``z`` to mel ``x1``.
The first ``P`` frames are the prompt: the estimator sees the real mel there through its
``prompt_x`` input while ``x_t`` is zero, and they carry no loss; at inference the prompt
region of ``x`` is zeroed before sampling and after every Euler step (so the result is zero
there too, as in the official ``solve_euler``).

Time grid: uniform, or with ``sway`` s < 0 the F5-TTS sway schedule
``t = u + s·(cos(π/2·u) − 1 + u)``, which spends more of the steps near t = 0 where the coarse
structure of the mel is decided.

Classifier-free guidance: ``v = (1 + r)·v(x, prompt, style, μ) − r·v(x, 0, 0, 0)``, both
evaluated in one batch-2 estimator call per step. Training drops the conditions the same
way (prompt, style and μ zeroed) for ``class_dropout_prob`` of the items.

Shapes: B batch, M mel bins, T frames (prompt + target), P prompt frames, C content width,
S style width.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.errors import ConfigError
from voxsmith.models.s2m.config import S2MConfig
from voxsmith.models.s2m.dit import DiT

SWAY_RANGE = (-1.0, 0.0)  # beyond -1 the grid stops rising monotonically; > 0 crowds t = 1


def sway_schedule(n_steps: int, sway: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """``n_steps + 1`` times from 0 to 1: uniform for ``sway = 0``, denser near 0 for ``sway < 0``."""
    if not SWAY_RANGE[0] <= sway <= SWAY_RANGE[1]:
        raise ConfigError(f"cfm: sway must lie in [{SWAY_RANGE[0]:g}, {SWAY_RANGE[1]:g}], got {sway}")
    u = torch.linspace(0, 1, n_steps + 1, device=device)
    if sway == 0.0:
        return u
    return u + sway * (torch.cos(torch.pi / 2 * u) - 1 + u)


class CFMTerms(NamedTuple):
    """The flow-matching loss of a batch and what the estimator implied about the clean mel."""

    loss: torch.Tensor  # scalar
    x1_hat: torch.Tensor  # (B, M, T) the clean mel the velocity points at, ``(y + a·v) / (a + t)``
    t: torch.Tensor  # (B,) the items' times
    kept: torch.Tensor  # (B,) 1 where the item kept its conditions, 0 where guidance training dropped them


class CFM(nn.Module):
    """Flow-matching wrapper around the DiT estimator."""

    def __init__(self, cfg: S2MConfig) -> None:
        super().__init__()
        self.estimator = DiT(cfg.dit, cfg.wavenet)
        self.in_channels = cfg.dit.in_channels
        self.sigma_min = cfg.sigma_min
        self.loss_type = cfg.loss
        self.class_dropout_prob = cfg.dit.class_dropout_prob

    @torch.inference_mode()
    def solve(
        self,
        noise: torch.Tensor,
        x_lens: torch.Tensor,
        prompt: torch.Tensor,
        mu: torch.Tensor,
        style: torch.Tensor,
        n_steps: int,
        cfg_rate: float,
        sway: float = 0.0,
    ) -> torch.Tensor:
        """Euler integration from ``noise`` at t=0 to t=1 on ``n_steps`` steps (uniform, or swayed).

        noise ``(B, M, T)``; x_lens ``(B,)`` or ``(1,)``; prompt ``(B, M, P)``; mu ``(B, T, C)``;
        style ``(B, S)``. Returns the mel ``(B, M, T)``, zero over the prompt frames (an inference
        tensor: sampling runs under ``torch.inference_mode``).
        """
        b, m, t_all = noise.shape
        p = prompt.shape[-1]
        if n_steps < 1:
            raise ConfigError(f"cfm: n_steps must be >= 1, got {n_steps}")
        if p > t_all or mu.shape[1] != t_all or prompt.shape[:2] != (b, m):
            raise ConfigError(
                f"cfm: prompt {tuple(prompt.shape)} / conditioning {tuple(mu.shape)} do not fit noise "
                f"{tuple(noise.shape)} (need prompt frames <= T and conditioning (B, T, C))"
            )
        est = self.estimator
        x = noise.clone()
        x[..., :p] = 0
        prompt_x = torch.zeros_like(x)
        prompt_x[..., :p] = prompt
        guided = cfg_rate > 0
        if guided:  # stacked [conditional; unconditional] conditions, x shared
            ctx = est.prepare(
                torch.cat((prompt_x, torch.zeros_like(prompt_x))),
                torch.cat((x_lens, x_lens)) if x_lens.shape[0] > 1 else x_lens,
                torch.cat((style, torch.zeros_like(style))),
                torch.cat((mu, torch.zeros_like(mu))),
                out_start=p,
            )
        else:
            ctx = est.prepare(prompt_x, x_lens, style, mu, out_start=p)
        s = ctx.out_start
        t_span = sway_schedule(n_steps, sway, noise.device)
        t = t_span[0]
        for step in range(1, n_steps + 1):
            dt = t_span[step] - t_span[step - 1]
            v = est.velocity(x, t.reshape(1).expand(ctx.batch), ctx)
            if guided:
                v_cond, v_uncond = v.chunk(2, dim=0)
                v = (1.0 + cfg_rate) * v_cond - cfg_rate * v_uncond
            x[..., s:] = x[..., s:] + dt * v
            t = t + dt  # accumulated like the official solver (not t_span[step])
            x[..., :p] = 0
        return x

    def inference(
        self,
        mu: torch.Tensor,
        x_lens: torch.Tensor,
        prompt: torch.Tensor,
        style: torch.Tensor,
        n_steps: int,
        *,
        cfg_rate: float = 0.7,
        temperature: float = 1.0,
        sway: float = 0.0,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample a mel ``(B, M, T)`` for conditioning ``mu (B, T, C)``; ``noise`` defaults to N(0, 1)·temperature."""
        b, t_all = mu.shape[:2]
        if noise is None:
            noise = torch.randn(
                (b, self.in_channels, t_all), generator=generator, device=mu.device, dtype=mu.dtype
            )
            noise = noise * temperature
        elif noise.shape != (b, self.in_channels, t_all):
            raise ConfigError(f"cfm: noise must be {(b, self.in_channels, t_all)}, got {tuple(noise.shape)}")
        return self.solve(noise, x_lens, prompt, mu, style, n_steps, cfg_rate, sway)

    def loss_terms(
        self,
        x1: torch.Tensor,
        x_lens: torch.Tensor,
        prompt_lens: torch.Tensor,
        mu: torch.Tensor,
        style: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> CFMTerms:
        """Flow-matching loss with the in-context prompt, and the clean-mel estimate it implies (a
        term judged on that, e.g. a speaker loss, backpropagates through the estimator).

        x1 ``(B, M, T)`` target mel; x_lens ``(B,)`` valid frames; prompt_lens ``(B,)`` prompt frames
        (``< x_lens``); mu ``(B, T, C)``; style ``(B, S)``. The loss: per item the L1 (or L2) error
        of the velocity over frames ``[prompt_len, x_len)``, averaged over items.
        """
        b, m, t_all = x1.shape
        if (prompt_lens >= x_lens).any():
            raise ConfigError(
                f"cfm: prompt_lens {prompt_lens.tolist()} must be below x_lens {x_lens.tolist()}"
            )
        dev, dt = x1.device, x1.dtype
        t = torch.rand((b, 1, 1), generator=generator, device=dev, dtype=dt)
        z = torch.randn(x1.shape, generator=generator, device=dev, dtype=dt)
        y = (1 - (1 - self.sigma_min) * t) * z + t * x1
        u = x1 - (1 - self.sigma_min) * z
        frames = torch.arange(t_all, device=dev)[None, None, :]
        in_prompt = frames < prompt_lens[:, None, None]  # (B, 1, T)
        prompt = x1 * in_prompt
        y = y.masked_fill(in_prompt, 0.0)
        # classifier-free guidance training: the same "no condition" the sampler uses
        keep = (torch.rand((b,), generator=generator, device=dev) >= self.class_dropout_prob).to(dt)
        prompt, style, mu = prompt * keep[:, None, None], style * keep[:, None], mu * keep[:, None, None]
        v = self.estimator(y, prompt, x_lens, t.flatten(), style, mu)
        region = (~in_prompt & (frames < x_lens[:, None, None])).to(dt)  # (B, 1, T)
        err = (
            F.l1_loss(v, u, reduction="none")
            if self.loss_type == "l1"
            else F.mse_loss(v, u, reduction="none")
        )
        per_item = (err * region).sum(dim=(1, 2)) / (region.sum(dim=(1, 2)) * m)
        a = (1 - (1 - self.sigma_min) * t) / (1 - self.sigma_min)  # y = a·(x1 - u) + t·x1
        x1_hat = (y + a * v) / (a + t)
        return CFMTerms(per_item.mean(), x1_hat, t.flatten(), keep)
