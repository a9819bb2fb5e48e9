"""The optimiser step and learning-rate schedule every recipe shares.

The schedule is returned as a closure, not a callable object: ``LambdaLR`` saves the
``__dict__`` of callable objects in its state and would restore the old ``steps`` on resume,
while a resumed run must follow the ``--steps`` it is given now (that is how a run is
lengthened or annealed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

FLOOR = 0.05  # the learning rate never decays below this share of the peak


def warmup_decay(
    warmup: int, steps: int, shape: str = "linear", floor: float = FLOOR
) -> Callable[[int], float]:
    """LR multiplier at step ``s``: linear warm-up over ``warmup`` steps, then a ``linear`` or
    ``cosine`` decay reaching ``floor`` (and staying there) at ``steps``."""
    if shape not in ("linear", "cosine"):
        raise ValueError(f"unknown schedule shape {shape!r} (linear or cosine)")
    warmup = max(1, warmup)

    def multiplier(s: int) -> float:
        done = min(1.0, s / max(1, steps))
        decay = 1.0 - done if shape == "linear" else 0.5 * (1.0 + math.cos(math.pi * done))
        return min(1.0, (s + 1) / warmup) * max(floor, decay)

    return multiplier


def optimizer_step(
    loss: torch.Tensor,
    params: Iterable[torch.nn.Parameter],
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler | None,
    max_norm: float,
) -> None:
    """Backward, clip the gradient norm of ``params`` to ``max_norm``, step the optimiser and
    the schedule."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    opt.step()
    if sched is not None:
        sched.step()
